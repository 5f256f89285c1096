"""Every failure path: its documented exit code, one ERROR line naming the cause, no output.

Exit codes (docs/science.md): 2 bad arguments, 3 bad bundle, 4 unreadable input,
5 no runTop_el.py, 10 configuration rejected, 11 crash, 12 timeout, 13 no output,
14 corrupt output, 128+N terminated by signal N.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sciencekit import Run, make_bundle, run


def assert_failed(result: Run, code: int, cause: str, output: Path, tmp_path: Path) -> None:
    assert result.returncode == code, result.stdout
    own_errors = [ln for ln in result.own_lines if "ERROR" in ln]
    assert len(own_errors) == 1, result.stdout
    assert own_errors[0] == result.lines[-1]  # the cause is the last thing said
    assert own_errors[0].startswith("ERROR: ")
    assert cause in own_errors[0]
    assert f"[exit {code}: " in own_errors[0]
    assert not output.exists()
    assert not list(output.parent.glob(f".{output.name}.*"))  # no half-written temp file
    work = tmp_path / "work"
    assert not work.exists() or os.listdir(work) == []


@pytest.mark.parametrize(
    ("args", "cause"),
    [
        (["only-one"], "usage: transform_single_file.py"),
        (["in", "out", "root-file", "extra"], "got 4 arguments"),
        (["{input}", "{output}", "parquet"], "'parquet' is not supported"),
        (["{input}", "{output}", "csv"], "unknown output format 'csv'"),
        (["", "{output}", "root-file"], "input path is empty"),
    ],
)
def test_bad_arguments(bundle, env, tmp_path, physlite_ttree, args, cause):
    output = tmp_path / "o.root"
    argv = [a.format(input=physlite_ttree, output=output) for a in args]
    proc = subprocess.run(
        [sys.executable, str(bundle / "transform_single_file.py"), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_failed(Run(proc.returncode, proc.stdout), 2, cause, output, tmp_path)


def test_output_path_that_is_a_directory(bundle, env, tmp_path, physlite_ttree):
    result = run(bundle, physlite_ttree, tmp_path, env)
    assert result.returncode == 2
    assert "is a directory" in result.lines[-1]


def _break_manifest(bundle: Path, how: str) -> None:
    path = bundle / "run_manifest.json"
    if how == "missing":
        path.unlink()
        return
    if how == "not json":
        path.write_text("{not json")
        return
    data = json.loads(path.read_text())
    if how == "version":
        data["manifest_version"] = 2
    elif how == "yaml missing":
        (bundle / "reco.yaml").unlink()
    elif how == "path in name":
        data["levels"]["reco"] = "../reco.yaml"
    elif how == "no level":
        data["levels"] = {"reco": None, "particle": None, "parton": None}
    elif how == "max_events":
        data["max_events"] = "ten"
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("how", "cause"),
    [
        ("missing", "has no run_manifest.json"),
        ("not json", "cannot read"),
        ("version", "manifest_version 2 is not supported"),
        ("yaml missing", "names reco.yaml, which is not in the bundle"),
        ("path in name", "must be a file name in the bundle"),
        ("no level", "no level"),
        ("max_events", "max_events must be an integer"),
    ],
)
def test_bad_bundle(bundle, env, tmp_path, physlite_ttree, how, cause):
    _break_manifest(bundle, how)
    output = tmp_path / "o.root"
    assert_failed(run(bundle, physlite_ttree, output, env), 3, cause, output, tmp_path)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda d: d / "absent.root", "does not exist"),
        (lambda d: d, "is not a regular file"),
        (lambda d: _write(d / "empty.root", b""), "is empty"),
        (lambda d: _write(d / "t.root", b"hello"), "is not a ROOT file"),
    ],
    ids=["missing", "directory", "empty", "not-root"],
)
def test_unreadable_input(bundle, env, tmp_path, make, cause, record):
    d = tmp_path / "inputs"
    d.mkdir()
    output = tmp_path / "out" / "o.root"
    assert_failed(run(bundle, make(d), output, env), 4, cause, output, tmp_path)
    assert not (tmp_path / "record.json").exists()  # runTop_el.py never started


def test_input_with_a_comma_is_refused(bundle, env, tmp_path):
    output = tmp_path / "o.root"
    result = run(bundle, "root://host//a.root,b.root", output, env)
    assert_failed(result, 2, "contains a comma", output, tmp_path)


def test_missing_explicit_runtop_el(bundle, env, tmp_path, physlite_ttree):
    env["RUNTOP_EL"] = str(tmp_path / "nowhere" / "runTop_el.py")
    output = tmp_path / "o.root"
    assert_failed(run(bundle, physlite_ttree, output, env), 5, "does not exist", output, tmp_path)


@pytest.mark.parametrize(
    "message",
    [
        "Unkown block 'Jetz'",
        "There are options set that are not used for block Jets: ['minPtt']",
        "option minPt should be of type float",
        "option containerName is required",
        "PathResolver failed to locate customConfig/reco.yaml",
    ],
)
def test_config_rejected(bundle, env, tmp_path, physlite_ttree, message):
    env.update(STUB_MODE="config_error", STUB_CONFIG_MESSAGE=message)
    output = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, output, env)
    assert_failed(result, 10, message, output, tmp_path)
    assert "rejected the configuration" in result.lines[-1]


def test_crash(bundle, env, tmp_path, physlite_ttree):
    env["STUB_MODE"] = "crash"
    output = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, output, env)
    assert_failed(result, 11, "FileNotFoundError: The file", output, tmp_path)
    assert "failed with exit code 1" in result.lines[-1]


def test_no_output(bundle, env, tmp_path, physlite_ttree):
    env["STUB_MODE"] = "nothing"
    output = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, output, env)
    assert_failed(result, 13, "exited 0 but wrote no output.root", output, tmp_path)


@pytest.mark.parametrize(
    ("mode", "cause"),
    [("garbage", "no 'root' magic"), ("truncated", "file is truncated")],
)
def test_corrupt_output(bundle, env, tmp_path, physlite_ttree, mode, cause):
    env["STUB_MODE"] = mode
    output = tmp_path / "o.root"
    assert_failed(run(bundle, physlite_ttree, output, env), 14, cause, output, tmp_path)


def test_failed_merge_without_trees_is_corrupt(bundle, env, tmp_path, physlite_ttree):
    env.update(STUB_MODE="no_trees", STUB_HADD_STDERR="hadd: could not open output_reco.root")
    output = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, output, env)
    assert_failed(result, 14, "lacks tree(s) reco (reco level)", output, tmp_path)
    assert "hadd_stderr.txt: hadd: could not open output_reco.root" in result.lines


def test_failure_removes_stale_output(bundle, env, tmp_path, physlite_ttree):
    output = tmp_path / "o.root"
    output.write_bytes(b"root but from an earlier attempt")
    env["STUB_MODE"] = "crash"
    assert_failed(run(bundle, physlite_ttree, output, env), 11, "crash", output, tmp_path)


def test_bad_timeout_setting(bundle, env, tmp_path, physlite_ttree):
    env["TOPCP_TIMEOUT_S"] = "soon"
    output = tmp_path / "o.root"
    assert_failed(run(bundle, physlite_ttree, output, env), 2, "TOPCP_TIMEOUT_S", output, tmp_path)


def test_failure_with_other_bundle_layout(tmp_path, env, physlite_ttree):
    """A particle-only bundle fails the same way (no reco tree involved)."""
    bundle = make_bundle(tmp_path / "b", ("particle",))
    env["STUB_MODE"] = "nothing"
    output = tmp_path / "o.root"
    assert_failed(run(bundle, physlite_ttree, output, env), 13, "wrote no", output, tmp_path)


@pytest.mark.skipif(not os.path.isfile("/proc/version"), reason="needs Linux /proc")
def test_an_output_path_that_cannot_be_replaced(bundle, env, tmp_path, physlite_ttree):
    """A stale output we may not remove is an internal error with its ERROR line, no traceback."""
    result = run(bundle, physlite_ttree, Path("/proc/version"), env)
    assert result.returncode == 6, result.stdout
    assert result.lines[-1].startswith("ERROR: cannot remove the earlier output /proc/version")
    assert "Traceback" not in result.stdout
