"""Fixtures for the harness tests: a SeaweedFS store, harnesses, and a servicex client setup.

The harness under test is real throughout: its own SeaweedFS, the embedded topcp code
generator over HTTP, and the process runner with the emulator (a second SeaweedFS per session
serves tests of the storage layer as an external S3 endpoint). The client is the unmodified
servicex 3.3.1 ``deliver()``, configured by a servicex.yaml written into the test's folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness_helpers import input_dirs
from topcp_harness.config import HarnessConfig, S3Settings
from topcp_harness.seaweed import SeaweedServer
from topcp_harness.server import Harness


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
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A shared in-process harness as users run it: 2 workers, process runner, its own
    SeaweedFS (so clients get per-request read-only keys)."""
    h = Harness(HarnessConfig(port=0, workers=2, state_dir=tmp_path_factory.mktemp("harness"),
                              data_dirs=input_dirs(tmp_path_factory)))
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
