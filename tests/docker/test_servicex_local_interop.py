"""Interop: servicex-local's DockerScienceImage runs our emulated science image on a bundle
from our code generator and gets the same ntuple as our harness's docker runner does.

Needs the compose stack (TOPCP_STACK_* from .ci/docker-e2e) and servicex-local in its own
virtualenv (TOPCP_SXLOCAL_PYTHON, default .venvs/servicex-local/bin/python).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import uproot
from docker_helpers import REPO_ROOT, image_name

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def sxlocal_python() -> Path:
    py = Path(os.environ.get("TOPCP_SXLOCAL_PYTHON",
                             REPO_ROOT / ".venvs" / "servicex-local" / "bin" / "python"))
    if not py.exists():
        pytest.skip(f"servicex-local's own venv not found at {py} (.ci/docker-e2e makes it)")
    return py


def _reco_arrays(path: Path) -> dict[str, np.ndarray]:
    with uproot.open(path) as f:
        tree = f["reco"]
        return {name: tree[name].array(library="np") for name in tree.keys()}


def test_servicex_local_and_our_harness_make_the_same_tree(stack, sxlocal_python, deliver_files,
                                                          ttbar_configs, tmp_path):
    data = Path(os.environ["TOPCP_DATA_DIR"]) / "PHYSLITE_mc23_ttbar_rntuple.root"
    reco = ttbar_configs["reco"]
    env = dict(os.environ, TMPDIR=str(tmp_path), TEMP=str(tmp_path))
    done = subprocess.run(
        [str(sxlocal_python), str(Path(__file__).with_name("sxlocal_driver.py")),
         "--codegen-url", stack["codegen"], "--image", image_name("emulated"),
         "--reco", str(reco), "--input", str(data), "--cache", str(tmp_path / "sxl-cache")],
        capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    local_files = json.loads(done.stdout.strip().splitlines()[-1])["files"]
    assert len(local_files) == 1

    ours = deliver_files("interop", [data], reco)
    assert len(ours) == 1
    a, b = _reco_arrays(Path(local_files[0])), _reco_arrays(Path(ours[0]))
    assert sorted(a) == sorted(b)
    assert len(a) > 10
    for name in a:
        assert len(a[name]) == len(b[name]), name
        for x, y in zip(a[name], b[name], strict=True):
            np.testing.assert_array_equal(x, y, err_msg=name)
