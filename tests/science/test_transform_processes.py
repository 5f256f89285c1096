"""Concurrency and process control: parallel calls, SIGTERM, the timeout.

runTop_el.py writes fixed names under $TMPDIR; the stub does the same and exits 3 when
another job overwrote its file, so isolation is checked by the stub itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import uproot
from sciencekit import STUB, base_env, make_bundle, run, start


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for an absent reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_for(predicate, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_stub_detects_a_shared_tmpdir(tmp_path):
    """Control for the next test: two jobs in one TMPDIR do collide."""
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    (tmp_path / "in.txt").write_text("x.root\n")
    env = dict(os.environ, TMPDIR=str(shared), STUB_SLEEP="1", STUB_MODE="nothing")
    procs = []
    for i in range(2):
        d = tmp_path / f"job{i}"
        d.mkdir()
        procs.append(
            subprocess.Popen(
                [sys.executable, str(STUB), "-i", str(tmp_path / "in.txt"), "-o", "output"],
                cwd=d,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        time.sleep(0.3)
    codes = [p.wait(timeout=30) for p in procs]
    assert 3 in codes


def test_four_parallel_calls_share_nothing(tmp_path, physlite_ttree):
    bundle = make_bundle(tmp_path / "bundle", ("reco", "particle"))
    out_dir = tmp_path / "scratch"
    procs = []
    for i in range(4):
        env = base_env(
            tmp_path,
            STUB_SLEEP="1",
            STUB_EVENTS=str(10 + i),
            STUB_RECORD=str(tmp_path / f"record{i}.json"),
        )
        procs.append(start(bundle, str(physlite_ttree), out_dir / f"file{i}", "root-file", env))
    outputs = [p.communicate(timeout=120)[0] for p in procs]

    for i, (proc, out) in enumerate(zip(procs, outputs, strict=True)):
        assert proc.returncode == 0, out
        assert f"Total Events: {10 + i}," in out.splitlines()[-1]
        with uproot.open(out_dir / f"file{i}") as f:
            assert f["reco"].num_entries == 10 + i
    records = [json.loads((tmp_path / f"record{i}.json").read_text()) for i in range(4)]
    assert len({r["cwd"] for r in records}) == 4
    assert len({r["tmpdir"] for r in records}) == 4
    assert len({r["config_dir_abs"] for r in records}) == 4
    assert sorted(os.listdir(out_dir)) == [f"file{i}" for i in range(4)]
    assert os.listdir(tmp_path / "work") == []


def _start_hanging(tmp_path: Path, bundle: Path, physlite: Path, mode: str = "hang", **extra):
    env = base_env(tmp_path, STUB_MODE=mode, **extra)
    output = tmp_path / "scratch" / "o"
    proc = start(bundle, str(physlite), output, "root-file", env)
    record = tmp_path / "record.json"
    seen = []
    # The log is streamed: the stub's line arrives while it is still running.
    for line in proc.stdout:
        seen.append(line)
        if "stub runTop_el.py: hanging" in line:
            break
    wait_for(lambda: "grandchild" in record.read_text(), "the stub's record")
    rec = json.loads(record.read_text())
    assert alive(rec["pid"]) and alive(rec["grandchild"])
    return proc, output, rec, seen


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_kills_the_child_group_and_cleans_up(tmp_path, bundle, physlite_ttree, sig, code):
    proc, output, rec, _ = _start_hanging(tmp_path, bundle, physlite_ttree)
    proc.send_signal(sig)
    rest, _ = proc.communicate(timeout=60)

    assert proc.returncode == code, rest
    last = rest.splitlines()[-1]
    assert last.startswith("ERROR: terminated by " + signal.Signals(sig).name)
    assert sum("ERROR" in ln for ln in rest.splitlines()) == 1
    wait_for(lambda: not alive(rec["pid"]), "the stub to exit")
    wait_for(lambda: not alive(rec["grandchild"]), "the stub's child to exit")
    assert not output.exists()
    assert os.listdir(tmp_path / "work") == []


def test_timeout_kills_the_child_group(tmp_path, bundle, physlite_ttree):
    env = base_env(tmp_path, STUB_MODE="hang", TOPCP_TIMEOUT_S="1")
    output = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, output, env)
    assert result.returncode == 12, result.stdout
    assert "ran longer than TOPCP_TIMEOUT_S=1s" in result.lines[-1]
    rec = json.loads((tmp_path / "record.json").read_text())
    wait_for(lambda: not alive(rec["pid"]), "the stub to exit")
    wait_for(lambda: not alive(rec["grandchild"]), "the stub's child to exit")
    assert not output.exists()
    assert os.listdir(tmp_path / "work") == []


def test_child_ignoring_sigterm_is_killed_after_the_grace(tmp_path, bundle, physlite_ttree):
    env = base_env(tmp_path, STUB_MODE="ignore_term", TOPCP_TIMEOUT_S="1", TOPCP_KILL_GRACE_S="1")
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 12, result.stdout
    rec = json.loads((tmp_path / "record.json").read_text())
    wait_for(lambda: not alive(rec["pid"]), "the stub to be killed")
