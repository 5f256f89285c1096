"""What a real ServiceX sidecar makes of a transform: its output names and its log parsers.

The sidecar names each output after the input path (``hash_path``: up to exactly 255
characters) and reads the tee'd log with the stats parser our capabilities name, for every
sidecar generation that can run us (tests/upstream_sidecar.py: the upstream code, cited).
The docker suite (tests/docker/test_pod_conditions.py) does the same inside a pod; these run
the bundle's script directly with the stub runTop_el.py, which, like the real one, prints one
EventLoop line per level.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sciencekit import REPO_ROOT, base_env, make_bundle, run
from upstream_sidecar import SIDECAR_PARSERS, TopCPStats, hash_path

CAPABILITIES = REPO_ROOT / "codegen" / "topcp_codegen" / "transformer_capabilities.json"
LEVEL_SETS = {"reco": ("reco",), "multi-level": ("reco", "particle", "parton")}


def _path_of_length(root: Path, length: int, name: str = "DAOD_PHYSLITE.pool.root.1") -> Path:
    """A file path of exactly ``length`` characters below ``root`` (folders of <= 100)."""
    remaining = length - len(str(root)) - 1 - len(name)
    parts = []
    while remaining > 0:
        seg = min(100, remaining - 1) if remaining > 1 else 0
        if seg <= 0:
            parts[-1] += "x"
            break
        parts.append("rucio.mc23_13p6TeV." * 6)
        parts[-1] = parts[-1][:seg]
        remaining -= seg + 1
    path = root.joinpath(*parts, name)
    assert len(str(path)) == length
    return path


def _sidecar_read(log: str, tmp_path: Path) -> dict[str, object]:
    """Each sidecar generation's stats for this log, as its fill_stats_parser builds them."""
    abc = tmp_path / "abc.log"
    abc.write_text(log)
    name = json.loads(CAPABILITIES.read_text())["stats-parser"]
    return {gen: parsers[name](abc) for gen, parsers in SIDECAR_PARSERS.items()}


def test_our_parser_exists_in_every_sidecar_we_support():
    """globals()[name] in transformer.py: an unknown name fails every file (KeyError)."""
    name = json.loads(CAPABILITIES.read_text())["stats-parser"]
    assert all(name in parsers for parsers in SIDECAR_PARSERS.values())


def test_a_300_character_input_path_gives_a_255_character_output(tmp_path, physlite_ttree):
    source = _path_of_length(tmp_path / "in", 300)
    source.parent.mkdir(parents=True)
    source.write_bytes(physlite_ttree.read_bytes())
    name = hash_path(str(source).replace("/", ":"))
    assert len(name) == 255
    scratch = tmp_path / "output" / "req" / "scratch"
    scratch.mkdir(parents=True)
    env = base_env(tmp_path)
    del env["TOPCP_WORK_ROOT"]  # as in a pod: the work dir goes beside scratch/, in <req>/
    result = run(make_bundle(tmp_path / "bundle"), source, scratch / name, env)
    assert result.returncode == 0, result.stdout
    assert os.listdir(scratch) == [name]  # no temporary file left beside it
    assert os.listdir(scratch.parent) == ["scratch"]  # the work dir is gone too
    assert (scratch / name).read_bytes()[:4] == b"root"


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_the_sidecar_can_read_the_output_whatever_mode_the_writer_left(tmp_path, env,
                                                                        physlite_ttree, umask):
    """The sidecar is uid 1001 and we are root: the output needs the umask's read bits."""
    env["STUB_OUTPUT_MODE"] = "600"
    out = tmp_path / "o"
    old = os.umask(umask)  # inherited by the transform script
    try:
        result = run(make_bundle(tmp_path / "b"), physlite_ttree, out, env)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stdout
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("levels", list(LEVEL_SETS))
@pytest.mark.parametrize("max_events", [-1, 7])
def test_the_sidecar_records_the_events_processed(tmp_path, env, physlite_ttree, levels,
                                                  max_events):
    bundle = make_bundle(tmp_path / "b", LEVEL_SETS[levels], max_events=max_events)
    out = tmp_path / "o"
    result = run(bundle, physlite_ttree, out, env)
    assert result.returncode == 0, result.stdout
    processed = 100 if max_events < 0 else max_events  # the stub's input holds 100 events
    for generation, stats in _sidecar_read(result.stdout, tmp_path).items():
        assert stats.total_events == processed, generation
        assert stats.file_size == out.stat().st_size, generation  # 2024-10's total_bytes


def test_topcp_stats_would_count_no_event_for_a_multi_level_request(tmp_path, env,
                                                                    physlite_ttree):
    """Why we do not name TopCPStats: runTop_el.py runs one EventLoop job per level, and
    TopCPStats only counts when exactly one ``Processing events`` line is in the log."""
    bundle = make_bundle(tmp_path / "b", LEVEL_SETS["multi-level"])
    result = run(bundle, physlite_ttree, tmp_path / "o", env)
    assert result.stdout.count("Package.EventLoop        INFO    Processing events 0-100") == 3
    abc = tmp_path / "abc.log"
    abc.write_text(result.stdout)
    assert TopCPStats(abc).total_events == 0


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("config_error", "rejected the configuration: ConfigText ERROR Unkown block 'Jetz'"),
        ("crash", "was not successfully created"),
        ("nothing", "exited 0 but wrote no output.root"),
    ],
)
def test_the_sidecar_shows_our_cause_of_a_failure(tmp_path, env, physlite_ttree, mode, cause):
    env["STUB_MODE"] = mode
    result = run(make_bundle(tmp_path / "b"), physlite_ttree, tmp_path / "o", env)
    assert result.returncode != 0
    ours = result.lines[-1]
    assert ours.startswith("ERROR: ")
    for generation, stats in _sidecar_read(result.stdout, tmp_path).items():
        assert stats.error_info == "TopCPTransformException: " + ours[len("ERROR: "):], generation
        assert cause in stats.error_info, generation


def test_a_failure_before_runtop_el_still_names_its_cause(tmp_path, env):
    missing = tmp_path / "no" / "such.root"
    result = run(make_bundle(tmp_path / "b"), missing, tmp_path / "o", env)
    assert result.returncode == 4
    for generation, stats in _sidecar_read(result.stdout, tmp_path).items():
        assert f"input file {missing} does not exist" in stats.error_info, generation
