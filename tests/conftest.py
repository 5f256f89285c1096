"""Shared fixtures: the real PHYSLITE test files and the example configs; CI's no-skip rule.

Test data comes from ``$TOPCP_TESTDATA`` or ``../shared/testdata`` beside the checkout (CI and
developer machines). Without either (a contributor's laptop, a fresh clone), the files are
obtained the way ``topcp-sx sample`` does and cached per user (``physlite_testdata``); only
where that download fails do the tests that need them skip. Under CI a missing folder is a
broken setup and fails loudly, and so does any skipped test (CI must run everything; set
``TOPCP_ALLOW_SKIPS=1`` to look at a partial run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from physlite_testdata import SHARED_NAMES, TestData, fetched_testdata, shared_testdata  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO_ROOT / "examples"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _shared_dir() -> tuple[Path, bool]:
    """(folder, whether the user named it with TOPCP_TESTDATA)."""
    env = os.environ.get("TOPCP_TESTDATA")
    return (Path(env), True) if env else (REPO_ROOT.parent / "shared" / "testdata", False)


@pytest.fixture(scope="session")
def testdata() -> TestData:
    """Both PHYSLITE files: the shared folder's, else fetched and converted (see above)."""
    folder, explicit = _shared_dir()
    if folder.is_dir():
        missing = [n for n in SHARED_NAMES.values() if not (folder / n).is_file()]
        if missing:
            pytest.fail(f"test data folder {folder} lacks {', '.join(missing)}")
        return shared_testdata(folder)
    if explicit or _in_ci():
        pytest.fail(f"test data folder {folder} is missing (set TOPCP_TESTDATA to the folder "
                    "with the two PHYSLITE files, or unset it to fetch them)")
    from topcp_client.sample import SampleError

    try:
        return fetched_testdata()
    except SampleError as exc:
        pytest.skip(f"no ../shared/testdata and the download failed: {exc}")


@pytest.fixture(scope="session")
def testdata_dir(testdata: TestData) -> Path:
    """The folder holding exactly the two PHYSLITE test files (``*.root``)."""
    return testdata.folder


@pytest.fixture(scope="session")
def physlite_ttree(testdata: TestData) -> Path:
    """Run-2 MC PHYSLITE as a TTree (DSID 700322, 100 events)."""
    return testdata.ttree


@pytest.fixture(scope="session")
def physlite_rntuple(testdata: TestData) -> Path:
    """PHYSLITE as an RNTuple: the mc23 ttbar file (DSID 601229, 100 events), or, without the
    shared folder, the TTree file's events written as an RNTuple (``testdata.rntuple_is_real``)."""
    return testdata.rntuple


@pytest.fixture(scope="session", params=["ttree", "rntuple"])
def physlite_file(request: pytest.FixtureRequest, testdata: TestData) -> Path:
    """Each real PHYSLITE test file in turn."""
    return testdata.ttree if request.param == "ttree" else testdata.rntuple


@pytest.fixture(scope="session")
def ttbar_configs() -> dict[str, Path]:
    """Our ttbar lepton+jets example configs (reco, particle, parton levels)."""
    d = EXAMPLES_DIR / "ttbar-ljets"
    return {level: d / f"{level}.yaml" for level in ("reco", "particle", "parton")}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under CI a skip is a failure: CI has every prerequisite, so a skip hides a broken one."""
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and not hasattr(report, "wasxfail") and _in_ci()
            and not os.environ.get("TOPCP_ALLOW_SKIPS")):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (f"skipped under CI, where nothing may skip: {reason} "
                           "(install what it needs in .ci/run)")
