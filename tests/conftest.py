"""Shared fixtures: where the real PHYSLITE test files and the example configs live.

The test data sits in ``../shared/testdata`` beside the checkout (CI and developer machines).
On a user's machine it may be absent: then tests that need it are skipped, except under CI,
where a missing folder is a broken setup and must fail loudly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO_ROOT / "examples"


def _testdata_dir() -> Path:
    env = os.environ.get("TOPCP_TESTDATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def testdata_dir() -> Path:
    d = _testdata_dir()
    if not d.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"test data folder {d} is missing (set TOPCP_TESTDATA)")
        pytest.skip(f"test data folder {d} not present")
    return d


@pytest.fixture(scope="session")
def physlite_ttree(testdata_dir: Path) -> Path:
    """Run-2 MC PHYSLITE as a TTree (DSID 700322, 100 events)."""
    return testdata_dir / "PHYSLITE_example.root"


@pytest.fixture(scope="session")
def physlite_rntuple(testdata_dir: Path) -> Path:
    """mc23 ttbar PHYSLITE as an RNTuple (DSID 601229, 100 events)."""
    return testdata_dir / "PHYSLITE_mc23_ttbar_rntuple.root"


@pytest.fixture(scope="session", params=["ttree", "rntuple"])
def physlite_file(request: pytest.FixtureRequest, testdata_dir: Path) -> Path:
    """Each real PHYSLITE test file in turn."""
    names = {"ttree": "PHYSLITE_example.root", "rntuple": "PHYSLITE_mc23_ttbar_rntuple.root"}
    return testdata_dir / names[request.param]


@pytest.fixture(scope="session")
def ttbar_configs() -> dict[str, Path]:
    """Our ttbar lepton+jets example configs (reco, particle, parton levels)."""
    d = EXAMPLES_DIR / "ttbar-ljets"
    return {level: d / f"{level}.yaml" for level in ("reco", "particle", "parton")}
