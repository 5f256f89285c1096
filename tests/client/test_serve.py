"""`topcp-sx serve` starts the harness; `topcp-sx deliver` goes through it end to end.

One served harness per module (its start costs seconds): its banner, deliveries that succeed
(exit 0) and that lose a file (exit 1, the file named with its reason), and the one-line
errors of a second `serve` on the same port or state folder.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import uproot
from conftest import TOPCP_SX

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`topcp-sx serve` as a child process (stopped by its PID); its output is collected."""

    def __init__(self, state: Path, data: list[Path]) -> None:
        self.port = _free_port()
        self.state = state
        cmd = [str(TOPCP_SX), "serve", "--port", str(self.port), "--state-dir", str(state),
               "--workers", "2"]
        for d in data:
            cmd += ["--data-dir", str(d)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self) -> dict:
        for _ in range(240):  # bounded: at most ~120 s
            assert self.proc.poll() is None, self.output
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/servicex",
                                            timeout=2) as r:
                    info = json.load(r)
                if "cache_path:" in self.output:  # the banner is complete
                    return info
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"no answer from topcp-sx serve:\n{self.output}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory, testdata_dir):
    root = tmp_path_factory.mktemp("served")
    s = Served(root / "state", [testdata_dir, root])
    try:
        s.info = s.wait_ready()
        s.root = root
        yield s
    finally:
        s.stop()


def _servicex_yaml(served: Served, folder: Path) -> Path:
    cfg = folder / "servicex.yaml"
    cfg.write_text(f"api_endpoints:\n  - endpoint: http://127.0.0.1:{served.port}\n"
                   f"    name: local\ncache_path: {folder / 'cache'}\n")
    return cfg


def _deliver(served: Served, folder: Path, reco: Path, inputs: list[Path], name: str):
    args = [str(TOPCP_SX), "deliver", "--reco", str(reco), "-c",
            str(_servicex_yaml(served, folder)), "-b", "local", "--name", name,
            "--max-events", "20"]
    for f in inputs:
        args += ["-d", str(f)]
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=folder)


def test_serve_prints_what_it_serves(served):
    out = served.output
    assert f"topcp harness ready at http://127.0.0.1:{served.port}" in out
    assert "workers:      2 (process runner)" in out
    assert f"state folder: {served.state}" in out
    assert "data folders:" in out and str(served.root) in out
    assert f"  - endpoint: http://127.0.0.1:{served.port}" in out  # the servicex.yaml
    assert "topcp" in served.info["code-gen-image"]
    assert "Traceback" not in out


def test_deliver_through_serve_exits_0_with_every_file(served, physlite_rntuple,
                                                       ttbar_configs, testdata):
    folder = served.root / "good"
    folder.mkdir()
    done = _deliver(served, folder, ttbar_configs["reco"], [physlite_rntuple], "ttbar")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ttbar: 1 file(s)" in done.stdout
    (delivered,) = [line.strip() for line in done.stdout.splitlines()
                    if line.startswith("  ") and str(folder / "cache") in line]
    with uproot.open(delivered) as f:
        (nominal,) = [k for k in f.keys(cycle=False)
                      if k.startswith("CutBookkeeper_") and k.endswith("_NOSYS")]
        assert f[nominal].values()[0] == 100  # every event of the file was processed
        if testdata.rntuple_is_real:  # mc23 ttbar: events pass the lepton+jets selection
            assert f["reco"].num_entries > 0
        else:  # the RNTuple written from the Run-2 TTree sample: none of its events do
            assert "reco" in f


def test_deliver_names_each_failed_file_and_exits_1(served, physlite_ttree, ttbar_configs):
    folder = served.root / "mixed"
    folder.mkdir()
    truncated = served.root / "truncated_copy.root"
    truncated.write_bytes(physlite_ttree.read_bytes()[:300_000])
    done = _deliver(served, folder, ttbar_configs["reco"], [physlite_ttree, truncated],
                    "mixed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "mixed: 1 file(s)" in done.stdout  # the good file is still delivered and listed
    err = " ".join(done.stderr.split())  # rich may wrap long lines
    assert "error: mixed: 1 of 2 file(s) failed" in err
    assert f"{truncated}: ERROR: input file {truncated} is not a readable ROOT file" in err
    assert "[exit 4: unreadable input]" in err
    assert "servicex transforms logs" in err and "results?status=failure" in err


@pytest.mark.parametrize("clash", ["port", "state folder"])
def test_a_second_serve_on_a_used_port_or_state_folder_is_one_error_line(served, tmp_path,
                                                                         clash):
    port = served.port if clash == "port" else _free_port()
    state = tmp_path / "state" if clash == "port" else served.state
    done = subprocess.run([str(TOPCP_SX), "serve", "--port", str(port), "--state-dir",
                           str(state)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = [ln for ln in done.stderr.splitlines() if "error:" in ln]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    expected = "cannot listen on" if clash == "port" else "is in use by another harness"
    assert expected in lines[0]


def test_serve_refuses_a_public_address_without_a_token(tmp_path):
    done = subprocess.run([str(TOPCP_SX), "serve", "--host", "0.0.0.0", "--state-dir",
                           str(tmp_path / "state")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "refusing to listen on 0.0.0.0 without a token" in done.stderr


def test_serve_rejects_unknown_runner():
    from topcp_client.cli import app
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["serve", "--runner", "podman"])
    assert res.exit_code == 2 and "--runner" in res.stderr
