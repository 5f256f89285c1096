"""Successful transforms: the output, the stats line ServiceX parses, and the clean-up."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import uproot
from sciencekit import make_bundle, run


def test_success_writes_output_and_stats_line(bundle, env, physlite_ttree, tmp_path, record):
    out = tmp_path / "out" / "scratch" / "x"
    result = run(bundle, physlite_ttree, out, env)

    assert result.returncode == 0, result.stdout
    assert result.lines[-1] == (
        f"Transform stats: Total Events: 100, resulting file size {out.stat().st_size}"
    )
    assert result.error_lines == []
    with uproot.open(out) as f:
        assert f["reco"].num_entries == 100
    assert "EventLoop" in result.stdout  # the child's log is passed through
    assert os.listdir(tmp_path / "work") == []  # private work dir removed
    assert sorted(os.listdir(out.parent)) == ["x"]  # no temp file left beside the output
    assert "real" in result.own_lines[0] and "stub/runTop_el.py" in result.own_lines[0]


@pytest.mark.parametrize("fmt", ["root", "root_ttree", "ROOT-FILE"])
def test_every_root_spelling_is_accepted(bundle, env, physlite_ttree, tmp_path, fmt):
    out = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, out, env, fmt=fmt)
    assert result.returncode == 0, result.stdout
    assert out.read_bytes()[:4] == b"root"


def test_levels_are_not_counted_twice(tmp_path, env, physlite_ttree):
    """reco, particle and parton each run an EventLoop job over the same 100 events."""
    bundle = make_bundle(tmp_path / "b", ("reco", "particle", "parton"))
    out = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, out, env)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("Processing events 0-100 in file") == 3
    assert "Total Events: 100," in result.lines[-1]
    with uproot.open(out) as f:
        assert {"reco", "particleLevel", "truth"} <= {k.split(";")[0] for k in f.keys()}


def test_max_events_caps_the_count(tmp_path, env, physlite_ttree):
    bundle = make_bundle(tmp_path / "b", max_events=10)
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout
    assert "Total Events: 10," in result.lines[-1]


def test_events_from_output_without_eventloop_line(bundle, tmp_path, physlite_ttree, env):
    env.update(STUB_MODE="no_eventloop", STUB_EVENTS="37")
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout
    assert "Total Events: 37," in result.lines[-1]


def test_missing_tree_with_clean_merge_is_a_warning(bundle, tmp_path, physlite_ttree, env):
    """runTop_el.py deletes empty trees: a file where nothing passed keeps its histograms."""
    env["STUB_MODE"] = "no_trees"
    out = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, out, env)
    assert result.returncode == 0, result.stdout
    assert any("Warning: output has no tree reco" in ln for ln in result.own_lines)
    assert out.exists()


def test_stale_output_of_an_earlier_attempt_is_replaced(bundle, env, physlite_ttree, tmp_path):
    out = tmp_path / "o.root"
    out.write_bytes(b"old attempt")
    result = run(bundle, physlite_ttree, out, env)
    assert result.returncode == 0
    assert out.read_bytes()[:4] == b"root"


def test_keep_workdir_keeps_the_inputs_of_the_run(bundle, env, physlite_ttree, tmp_path):
    env["TOPCP_KEEP_WORKDIR"] = "1"
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0
    (kept,) = (tmp_path / "work").iterdir()
    assert (kept / "input.txt").read_text() == f"{physlite_ttree}\n"
    assert (kept / "servicex_topcp_config" / "reco.yaml").is_file()


def test_default_work_dir_sits_beside_the_output_folder(bundle, env, physlite_ttree, tmp_path):
    """Without TOPCP_WORK_ROOT the work dir goes in the output folder's parent, then away."""
    del env["TOPCP_WORK_ROOT"]
    out = tmp_path / "req" / "scratch" / "name"
    result = run(bundle, physlite_ttree, out, env)
    assert result.returncode == 0, result.stdout
    assert f"work dir {tmp_path / 'req'}/.topcp-work-" in result.stdout
    assert sorted(os.listdir(tmp_path / "req")) == ["scratch"]


def test_remote_url_is_passed_through_unchecked(bundle, env, tmp_path, record):
    url = "root://eospublic.cern.ch//eos/opendata/atlas/DAOD_PHYSLITE.pool.root.1"
    result = run(bundle, url, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout
    assert record()["input_lines"] == [url, ""]


def test_relative_input_is_made_absolute(bundle, env, physlite_ttree, tmp_path, record):
    local = tmp_path / "in.root"
    shutil.copy(physlite_ttree, local)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run(bundle, "in.root", tmp_path / "o.root", env)
    finally:
        os.chdir(cwd)
    assert result.returncode == 0, result.stdout
    assert record()["input_lines"] == [str(local), ""]


def test_our_lines_never_carry_the_word_error(tmp_path, env, physlite_ttree):
    """TopCPStats takes the first line matching ERROR: a path must not trigger it."""
    bundle = make_bundle(tmp_path / "ERROR_bundle")
    src = tmp_path / "ERROR_input.root"
    shutil.copy(physlite_ttree, src)
    result = run(bundle, src, tmp_path / "ERROR_out.root", env)
    assert result.returncode == 0, result.stdout
    assert not [ln for ln in result.own_lines if "ERROR" in ln]


def test_runs_from_the_source_checkout(tmp_path, env, physlite_ttree):
    """`python science/topcp_science/transform_single_file.py` with TOPCP_BUNDLE_DIR."""
    bundle = make_bundle(tmp_path / "b")
    checkout = Path(__file__).resolve().parents[2] / "science" / "topcp_science"
    env["TOPCP_BUNDLE_DIR"] = str(bundle)
    result = run(checkout, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout


def test_output_on_another_file_system_is_copied_then_renamed(
    bundle, env, physlite_ttree, tmp_path
):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system for the work dir")
    import tempfile

    with tempfile.TemporaryDirectory(dir=shm) as work_root:
        env["TOPCP_WORK_ROOT"] = work_root
        out = tmp_path / "o.root"
        result = run(bundle, physlite_ttree, out, env)
        assert result.returncode == 0, result.stdout
        assert os.listdir(work_root) == []
    assert out.stat().st_mode & 0o044 == 0o044  # readable by the sidecar, not mkstemp's 600
    assert sorted(os.listdir(tmp_path)) == sorted(["bundle", "work", "o.root", "record.json"])
