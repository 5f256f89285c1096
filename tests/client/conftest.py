"""Client test fixtures: emulator ntuples made once per session by the real `run` path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[2]
TOPCP_SX = REPO / ".venv" / "bin" / "topcp-sx"


@pytest.fixture(scope="session")
def emulated_outputs(tmp_path_factory, physlite_ttree, physlite_rntuple, ttbar_configs) -> dict:
    """Both PHYSLITE test files run through run_local (systematics on, filter off)."""
    from topcp_client import run_local

    outdir = tmp_path_factory.mktemp("emulated")
    results = run_local({"reco": ttbar_configs["reco"]}, [physlite_ttree, physlite_rntuple],
                        outdir, systematics=True, no_filter=True, workers=2)
    assert all(r.ok for r in results), [r.error for r in results]
    return {"ttree": results[0].output, "rntuple": results[1].output}


@pytest.fixture(scope="session")
def fake_ntuple(tmp_path_factory) -> Path:
    """A hand-written ntuple with known content (see ntuple_factory)."""
    from ntuple_factory import write_ntuple

    path = tmp_path_factory.mktemp("fake") / "fake.root"
    write_ntuple(path)
    return path
