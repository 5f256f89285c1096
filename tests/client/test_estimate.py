"""`topcp-sx estimate`: a short run projects the full job's output size (within 10 %).

Small-scale version of bench/estimate_bench.py (which checks a replicated 100k-event file):
2000 events made from the real mc23 file with 1 % noise on every float (identical repeated
blocks would compress unrealistically well), an estimate from 1000 of them, and the real
(emulated) full run to compare with.
"""

from __future__ import annotations

import pytest
import uproot
from physlite_copies import few_systematics_config, replicate_jittered
from topcp_client.cli import app
from topcp_client.estimate import cpu_model, estimate, parse_size
from topcp_client.local_run import run_local
from typer.testing import CliRunner

runner = CliRunner()
FULL, SAMPLE = 2000, 1000


@pytest.fixture(scope="module")
def big_input(tmp_path_factory, physlite_rntuple):
    return replicate_jittered(physlite_rntuple, tmp_path_factory.mktemp("est") / "ttbar2k.root",
                              FULL // 100)


@pytest.fixture(scope="module")
def reco(tmp_path_factory, ttbar_configs):
    """The example config with a few systematics (cheap runs that still carry variations)."""
    return few_systematics_config(ttbar_configs["reco"],
                                  tmp_path_factory.mktemp("cfg") / "reco.yaml")


@pytest.fixture(scope="module")
def sampled(big_input, reco):
    return estimate({"reco": reco}, big_input, events=SAMPLE, dataset_bytes=10**9)


def visible_branches(path) -> dict[str, int]:
    """Branches per tree, without uproot's jagged counters (independent of the project)."""
    with uproot.open(path) as f:
        out = {}
        for name, cls in f.classnames(recursive=False, cycle=False).items():
            if cls == "TTree":
                t = f[name]
                counters = {t[k].count_branch.name for k in t.keys()
                            if t[k].count_branch is not None}
                out[name] = len([k for k in t.keys() if k not in counters])
        return out


def test_projection_within_ten_percent_of_the_full_run(sampled, big_input, reco, tmp_path):
    (full,) = run_local({"reco": reco}, [big_input], tmp_path, systematics=True)
    assert full.ok, full.error
    actual = full.output.stat().st_size
    projected = sampled.systematics.projected_size(FULL)
    assert abs(projected / actual - 1) < 0.10, (projected, actual)
    assert sampled.systematics.branch_counts() == visible_branches(full.output)


def test_size_model_reproduces_the_sampled_output(sampled):
    for run in (sampled.nominal, sampled.systematics):
        assert run.events_in == SAMPLE
        assert abs(run.projected_size(SAMPLE) / run.size - 1) < 0.01
        assert 0 < run.fixed_bytes < run.size and run.payload_per_event > 0
    # systematics: more branches, more bytes per event
    assert sampled.systematics.branch_counts()["reco"] > sampled.nominal.branch_counts()["reco"]
    assert sampled.systematics.payload_per_event > sampled.nominal.payload_per_event


def test_the_emulator_makes_no_cpu_projection(sampled):
    assert sampled.emulated and sampled.cpu_per_event is None
    assert any("CPU cannot be projected" in n for n in sampled.notes)
    data = sampled.to_dict()
    assert data["core_hours_per_million"] is None and data["core_hours_dataset"] is None
    per_event = sampled.input_bytes / sampled.input_events
    assert sampled.dataset_events == int(10**9 / per_event)  # 1 GB of this file's events
    assert data["systematics"]["projected_bytes_dataset"] == pytest.approx(
        sampled.systematics.projected_size(sampled.dataset_events))
    assert data["systematics"]["projected_bytes_per_million"] > data["nominal"][
        "projected_bytes_per_million"]


def test_cpu_model_separates_start_up_from_per_event_cost():
    # a job costing 90 s to start plus 0.25 s per event, seen at 4000 and 1000 events
    per_event, startup = cpu_model(90 + 0.25 * 4000, 4000, 90 + 0.25 * 1000, 1000)
    assert per_event == pytest.approx(0.25) and startup == pytest.approx(90)
    with pytest.raises(ValueError):
        cpu_model(1.0, 10, 1.0, 10)


def test_dataset_sizes():
    assert parse_size("2.5TB") == 2_500_000_000_000 and parse_size("800 GB") == 8 * 10**11
    assert parse_size("1e6") == 1_000_000


def test_report_table(sampled):
    from rich.console import Console
    from topcp_client.cli import _estimate_table

    console = Console(record=True, width=200)
    console.print(_estimate_table(sampled))
    text = console.export_text()
    assert "output size per 1M input events" in text and "EMULATED" in text
    assert "not projectable from the emulator" in text
    assert f"reco {sampled.systematics.branch_counts()['reco']}" in text


def test_cli_mistakes(big_input, ttbar_configs, tmp_path):
    reco = str(ttbar_configs["reco"])
    missing = runner.invoke(app, ["estimate", "--reco", reco, str(tmp_path / "nope.root")])
    assert missing.exit_code == 2 and "no such input file" in missing.stderr
    both = runner.invoke(app, ["estimate", "--reco", reco, str(big_input), "--dataset-events",
                               "5", "--dataset-size", "1GB"])
    assert both.exit_code == 2
    size = runner.invoke(app, ["estimate", "--reco", reco, str(big_input), "--dataset-size",
                               "lots"])
    assert size.exit_code == 2 and "expected e.g. 800GB" in size.stderr
    bad = tmp_path / "reco.yaml"
    bad.write_text("Jetz: {}\n")
    rejected = runner.invoke(app, ["estimate", "--reco", str(bad), str(big_input), "--json"])
    assert rejected.exit_code == 1 and "unknown block" in rejected.stderr
    assert rejected.stdout.strip() == ""
