"""`topcp-sx summary` / `topcp_client.summarize`: sums over files equal an independent uproot sum.

The independent sums below use uproot alone (no project code): every ``CutBookkeeper_*`` and
``cflow_*`` histogram and every tree of every file, added up by name. The summary must give the
same numbers, on the outputs of both real test files and on a sample split into five files.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import uproot
from physlite_copies import few_systematics_config, split_events
from topcp_client import summarize
from topcp_client.cli import app
from topcp_client.summary import SUMMARY_NAME, load_summary
from typer.testing import CliRunner

runner = CliRunner()


def independent_sums(files: list[Path]) -> dict:
    """Sum bookkeeping by (DSID, histogram name) with plain uproot, file by file.

    A file's DSID is read from its own ``CutBookkeeper_<DSID>_<RUN>_<SYS>`` names: cutflows of
    different samples must not be added together.
    """
    cbk: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(3))
    flows: dict[tuple[int, str], np.ndarray] = {}
    trees: dict[tuple[int, str], int] = defaultdict(int)
    for path in files:
        with uproot.open(path) as f:
            names = f.classnames(recursive=False, cycle=False)
            (dsid,) = {int(n.split("_")[1]) for n in names if n.startswith("CutBookkeeper_")}
            for name, cls in names.items():
                if name.startswith("CutBookkeeper_"):
                    cbk[name] += f[name].values()
                elif name.startswith("cflow_"):
                    flows[dsid, name] = flows.get((dsid, name), 0) + f[name].values()
                elif cls == "TTree":
                    trees[dsid, name] += f[name].num_entries
    return {"cbk": dict(cbk), "flows": flows, "trees": dict(trees)}


def assert_summary_matches(summary, files: list[Path]) -> None:
    expected = independent_sums(files)
    got_cbk, got_flows, got_trees = {}, {}, {}
    for s in summary.samples:
        dsid = s["dsid"]
        for sys, v in s["sum_of_weights"].items():
            got_cbk[f"CutBookkeeper_{dsid}_{s['run']}_{sys}"] = [v["events"], v["sumw"],
                                                                 v["sumw2"]]
        for region, per_sys in s["cutflows"].items():
            for sys, flow in per_sys.items():
                got_flows[dsid, f"cflow_EventInfo__{region}_{sys}"] = flow["values"]
        for base, per_sys in s["object_cutflows"].items():
            for sys, flow in per_sys.items():
                got_flows[dsid, f"cflow_{base}_{sys}"] = flow["values"]
        for tree, n in s["events"].items():
            got_trees[dsid, tree] = n
    assert expected["cbk"], "the outputs carry no CutBookkeepers"
    assert set(got_cbk) == set(expected["cbk"])
    for name, values in expected["cbk"].items():
        np.testing.assert_allclose(got_cbk[name], values, rtol=1e-12, err_msg=name)
    assert expected["flows"], "the outputs carry no cutflows"
    assert set(got_flows) == set(expected["flows"])
    for key, values in expected["flows"].items():
        np.testing.assert_array_equal(got_flows[key], values, err_msg=str(key))
    assert got_trees == expected["trees"]


@pytest.fixture(scope="module")
def five_file_sample(tmp_path_factory, physlite_rntuple, ttbar_configs) -> list[Path]:
    """The mc23 file split into five 20-event inputs, each run through `run_local` with the
    example config restricted to a few systematics (generator weights and MET)."""
    from topcp_client import run_local

    work = tmp_path_factory.mktemp("five")
    reco = few_systematics_config(ttbar_configs["reco"], work / "reco.yaml")
    inputs = split_events(physlite_rntuple, [work / f"ttbar_part{i}.root" for i in range(5)])
    results = run_local({"reco": reco}, inputs, work / "out", systematics=True,
                        no_filter=True, workers=2)
    assert all(r.ok for r in results), [r.error for r in results]
    return [r.output for r in results]


def test_summary_equals_independent_sum_on_both_test_files(emulated_outputs):
    files = [emulated_outputs["ttree"], emulated_outputs["rntuple"]]
    summary = summarize(files)
    assert_summary_matches(summary, files)
    assert {s["dsid"] for s in summary.samples} == {700322, 601229}  # one sample per DSID
    assert summary.ok and summary.checks["files_counted"] == 2


def test_summary_equals_independent_sum_on_a_five_file_sample(five_file_sample):
    summary = summarize(five_file_sample)
    assert_summary_matches(summary, five_file_sample)
    (sample,) = summary.samples
    assert sample["dsid"] == 601229 and sample["n_files"] == 5
    assert sample["sum_of_weights"]["NOSYS"]["events"] == 100  # 5 x 20 input events
    assert len(sample["sum_of_weights"]) > 1  # generator-weight systematics too
    assert summary.checks["duplicates"] == [] and summary.ok


def test_a_file_listed_twice_is_reported_and_counted_once(five_file_sample):
    twice = [*five_file_sample, five_file_sample[2]]
    summary = summarize(twice)
    (dup,) = summary.checks["duplicates"]
    assert dup["files"] == [str(five_file_sample[2])] * 2 and "more than once" in dup["reason"]
    assert not summary.ok and summary.checks["files_counted"] == 5
    assert_summary_matches(summary, five_file_sample)  # the sums count it once


def test_the_same_input_processed_twice_is_reported(five_file_sample, tmp_path):
    rerun = tmp_path / "rerun" / five_file_sample[0].name  # the same input, a second output
    rerun.parent.mkdir()
    shutil.copyfile(five_file_sample[0], rerun)
    summary = summarize([*five_file_sample, rerun])
    (dup,) = summary.checks["duplicates"]
    assert set(dup["files"]) == {str(five_file_sample[0]), str(rerun)}
    assert "same input" in dup["reason"] and "(run, event) numbers appear in both" in dup["reason"]


def test_missing_inputs_are_named(five_file_sample):
    inputs = [f"/data/{p.name}" for p in five_file_sample] + ["/data/ttbar_part5.root"]
    summary = summarize(five_file_sample[:4], expected_inputs=inputs)
    assert summary.checks["missing"] == ["/data/ttbar_part4.root", "/data/ttbar_part5.root"]
    assert not summary.ok
    complete = summarize(five_file_sample, expected_inputs=inputs[:5], expected_events=100)
    assert complete.ok, complete.checks
    short = summarize(five_file_sample[:4], expected_events=100)
    assert any("files are missing" in p for p in short.checks["problems"])


def test_cli_writes_the_json_atomically_next_to_the_outputs(five_file_sample):
    outdir = five_file_sample[0].parent
    res = runner.invoke(app, ["summary", str(outdir)])
    assert res.exit_code == 0, res.output
    written = outdir / SUMMARY_NAME
    assert f"wrote {written}" in res.stdout and "each input counted once" in res.stdout
    data = load_summary(written)
    assert data["samples"][0]["n_files"] == 5
    assert sorted(p.name for p in outdir.iterdir() if p.name.startswith(".")) == []
    again = runner.invoke(app, ["summary", *map(str, five_file_sample), str(five_file_sample[1]),
                                "--no-write", "--json"])
    assert again.exit_code == 1
    assert json.loads(again.stdout)["checks"]["duplicates"][0]["files"][0] == str(
        five_file_sample[1])


def test_inspect_shows_the_sample_of_a_file(five_file_sample):
    runner.invoke(app, ["summary", str(five_file_sample[0].parent)])
    res = runner.invoke(app, ["inspect", str(five_file_sample[3])])
    assert res.exit_code == 0, res.output
    assert "this file is 1 of 5 in DSID 601229" in res.stdout


def test_usage_errors(tmp_path):
    res = runner.invoke(app, ["summary", str(tmp_path)])
    assert res.exit_code == 2 and "no .root files" in res.stderr
    junk = tmp_path / "junk.root"
    junk.write_bytes(b"not ROOT")
    res = runner.invoke(app, ["summary", str(junk)])
    assert res.exit_code == 1 and "not a readable ROOT file" in res.stderr


def independent_normalised_sum(files: list[Path], sys: str, xsec_pb: float, lumi_pb: float):
    """sigma x L / sum of weights x sum over events of the event weight, with plain uproot."""
    sumw, total = 0.0, 0.0
    for path in files:
        with uproot.open(path) as f:
            names = f.classnames(recursive=False, cycle=False)
            (cbk,) = [n for n in names if n.startswith("CutBookkeeper_") and n.endswith(
                "_" + sys)]
            sumw += f[cbk].values()[1]
            tree = f["reco"]
            weights = [k for k in tree.keys() if k.startswith("weight_") and k.endswith("_NOSYS")]
            weights = [f"weight_mc_{sys}" if k == "weight_mc_NOSYS" else k for k in weights]
            arrays = tree.arrays(weights, library="np")
            w = np.ones(tree.num_entries)
            for k in weights:
                w = w * arrays[k].astype(float)
            total += w.sum()
    return total * xsec_pb * lumi_pb / sumw


def test_plot_normalises_with_the_summed_sum_of_weights(five_file_sample, tmp_path):
    from topcp_client import plot_branch, summarize

    sample = summarize(five_file_sample).samples[0]
    gen = next(s for s in sample["sum_of_weights"] if s.startswith("GEN_"))  # own sum of weights
    res = plot_branch(five_file_sample, "met_met_NOSYS", tmp_path / "met.png", syst=gen,
                      xmin=0.0, xmax=1e7, bins=1, xsec=500.0, lumi="140/fb")
    for sys in ("NOSYS", gen):
        expected = independent_normalised_sum(five_file_sample, sys, 500.0, 140_000.0)
        assert res.curves[sys]["sum"] == pytest.approx(expected, rel=1e-6)
    assert res.normalisation["lumi_pb"] == 140_000.0
    same = plot_branch(five_file_sample, "met_met_NOSYS", tmp_path / "met2.png", xmin=0.0,
                       xmax=1e7, bins=1, xsec=500.0, lumi="140000/pb")
    assert same.curves["NOSYS"]["sum"] == pytest.approx(res.curves["NOSYS"]["sum"])
    from topcp_client.ntuple import NtupleError

    with pytest.raises(NtupleError, match="counted twice"):
        plot_branch([*five_file_sample, five_file_sample[0]], "met_met_NOSYS",
                    tmp_path / "x.png", xsec=500.0, lumi=140)
    with pytest.raises(NtupleError, match="both --xsec"):
        plot_branch(five_file_sample, "met_met_NOSYS", tmp_path / "x.png", xsec=500.0)


def test_plot_with_the_sample_summary_of_a_subset(five_file_sample, tmp_path):
    from topcp_client import plot_branch, summarize, write_summary

    summary = write_summary(summarize(five_file_sample), tmp_path / "s.json")
    one = plot_branch(five_file_sample[1], "met_met_NOSYS", tmp_path / "one.png", xmin=0.0,
                      xmax=1e7, bins=1, xsec=500.0, lumi=140, summary=summary)
    total_sumw = summarize(five_file_sample).samples[0]["sum_of_weights"]["NOSYS"]["sumw"]
    assert one.normalisation["sumw_nosys"] == pytest.approx(total_sumw)
    assert any("1 of the sample's 5 files" in n for n in one.normalisation["notes"])


def test_luminosity_units():
    from topcp_client.normalisation import parse_lumi
    from topcp_client.summary import SummaryError

    for text in ("140", "140/fb", "140fb-1", "140 fb^-1", "140000/pb", "140000 pb-1", 140):
        assert parse_lumi(text) == pytest.approx(140_000.0), text
    for bad in ("lots", "-3", "140 nb"):
        with pytest.raises(SummaryError):
            parse_lumi(bad)
