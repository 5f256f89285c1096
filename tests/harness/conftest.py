"""Fixtures for the harness tests: a SeaweedFS store, harnesses, and a servicex client setup.

The harness under test is real throughout: a SeaweedFS server (one per session, reached as an
external S3 endpoint), the embedded topcp code generator over HTTP, and the process runner with
the emulator. The client is the unmodified servicex 3.3.1 ``deliver()``, configured by a
servicex.yaml written into the test's own folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from topcp_harness.config import HarnessConfig, S3Settings
from topcp_harness.seaweed import SeaweedServer
from topcp_harness.server import Harness

REPO_ROOT = Path(__file__).resolve().parents[2]


def input_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ...]:
    """The folders the tests' inputs live in: pytest's temporary root and the shared data."""
    shared = Path(os.environ.get("TOPCP_TESTDATA") or REPO_ROOT.parent / "shared" / "testdata")
    return (tmp_path_factory.getbasetemp(), shared)


@pytest.fixture(scope="session")
def seaweed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seaweed(seaweed_server: SeaweedServer) -> S3Settings:
    assert seaweed_server.settings is not None
    return seaweed_server.settings


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory, seaweed: S3Settings) -> Iterator[Harness]:
    """A shared in-process harness: 2 workers, process runner, the session's S3."""
    h = Harness(HarnessConfig(port=0, workers=2, state_dir=tmp_path_factory.mktemp("harness"),
                              s3=seaweed, data_dirs=input_dirs(tmp_path_factory)))
    h.start()
    yield h
    h.stop()


@pytest.fixture
def sx_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Harness], Path]:
    """Point the servicex client at a harness: servicex.yaml in tmp_path (the cwd)."""

    def configure(h: Harness) -> Path:
        cache = tmp_path / "sx-cache"
        (tmp_path / "servicex.yaml").write_text(
            "api_endpoints:\n"
            f"  - endpoint: {h.url}\n"
            "    name: harness\n"
            f"cache_path: {cache}\n"
        )
        monkeypatch.chdir(tmp_path)
        return cache

    return configure


@pytest.fixture
def reco_yaml(ttbar_configs: dict[str, Path]) -> Path:
    return ttbar_configs["reco"]
