"""End to end with the real emulator (`topcp-emulate`) instead of the stub, when installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sciencekit import make_bundle, run

EMULATOR = Path(sys.executable).parent / "topcp-emulate"


def _emulator_works() -> bool:
    if not EMULATOR.exists():
        return False
    proc = subprocess.run([str(EMULATOR), "--help"], capture_output=True, timeout=60)
    return proc.returncode == 0


@pytest.mark.slow
def test_example_config_through_the_emulator(tmp_path, env, physlite_ttree, ttbar_configs):
    if not _emulator_works():
        pytest.skip("topcp-emulate is not installed or not working yet")
    bundle = make_bundle(tmp_path / "b", yamls={"reco": ttbar_configs["reco"].read_text()})
    del env["RUNTOP_EL"]
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not shutil.which("runTop_el.py", path=p)
    )
    env["ATLAS_RELEASE_SETUP"] = str(tmp_path / "none.sh")
    output = tmp_path / "out" / "o"
    result = run(bundle, physlite_ttree, output, env)
    assert result.returncode == 0, result.stdout
    assert "runTop_el.py: EMULATED" in result.stdout
    assert "Total Events: 100," in result.lines[-1]
    from topcp_science.transform_single_file import read_root_keys

    assert "topcp_emulator" in {k.name for k in read_root_keys(str(output))}


@pytest.mark.slow
def test_code_generator_bundle_runs_end_to_end(tmp_path, physlite_ttree, ttbar_configs):
    """The bundle the real code generator builds, run by run_transform with the emulator."""
    if not _emulator_works():
        pytest.skip("topcp-emulate is not installed or not working yet")
    bundle_mod = pytest.importorskip("topcp_codegen.bundle")
    from topcp_science.local_runner import run_transform

    query = {
        "reco": ttbar_configs["reco"].read_text(),
        "particle": None,
        "parton": None,
        "max_events": 50,
        "no_systematics": True,
        "no_filter": False,
    }
    generated = bundle_mod.generate(query, default_image="img:tag", allowed_registries=None)
    bundle = bundle_mod.unpack_bundle(generated.zip_bytes, tmp_path / "generated")
    env = {"RUNTOP_EL": "", "TOPCP_EMULATOR": str(EMULATOR), "TOPCP_WORK_ROOT": str(tmp_path)}
    outcome = run_transform(bundle, physlite_ttree, tmp_path / "scratch" / "out", env=env)
    assert outcome.returncode == 0, outcome.log
    assert outcome.events == 50
    assert outcome.size == (tmp_path / "scratch" / "out").stat().st_size
    assert "-e 50 --no-systematics" in outcome.log
