"""`topcp-sx serve` starts the harness; `topcp-sx deliver` goes through it end to end."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
import uproot
from conftest import TOPCP_SX


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving(state_dir):
    """Run `topcp-sx serve` on a free port until it answers; stop it (by its PID) afterwards."""
    port = _free_port()
    proc = subprocess.Popen([str(TOPCP_SX), "serve", "--port", str(port), "--state-dir",
                             str(state_dir), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        info = None
        for _ in range(120):  # bounded: at most ~60 s
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/servicex", timeout=2) as r:
                    info = json.load(r)
                    break
            except OSError:
                time.sleep(0.5)
        assert info is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        yield port, info
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_serve_then_deliver_through_it(tmp_path, physlite_rntuple, ttbar_configs, testdata):
    with _serving(tmp_path / "state") as (port, info):
        assert "topcp" in info["code-gen-image"]
        cfg = tmp_path / "servicex.yaml"
        cfg.write_text(f"api_endpoints:\n  - endpoint: http://127.0.0.1:{port}\n    name: local\n"
                       f"cache_path: {tmp_path / 'cache'}\n")
        done = subprocess.run(
            [str(TOPCP_SX), "deliver", "--reco", str(ttbar_configs["reco"]), "-d",
             str(physlite_rntuple), "-c", str(cfg), "-b", "local", "--name", "ttbar"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ttbar: 1 file(s)" in done.stdout
    (delivered,) = [line.strip() for line in done.stdout.splitlines()
                    if line.startswith("  ") and str(tmp_path / "cache") in line]
    with uproot.open(delivered) as f:
        (nominal,) = [k for k in f.keys(cycle=False)
                      if k.startswith("CutBookkeeper_") and k.endswith("_NOSYS")]
        assert f[nominal].values()[0] == 100  # every event of the file was processed
        if testdata.rntuple_is_real:  # mc23 ttbar: events pass the lepton+jets selection
            assert f["reco"].num_entries > 0
        else:  # the RNTuple written from the Run-2 TTree sample: none of its events do
            assert "reco" in f


def test_serve_rejects_unknown_runner():
    from topcp_client.cli import app
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["serve", "--runner", "podman"])
    assert res.exit_code == 2 and "--runner" in res.stderr
