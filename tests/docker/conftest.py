"""Fixtures for the image tests: a Docker engine, the images, a real bundle, free ports.

These tests run the images this repository builds (docker/build-images.sh; tags from .env).
They are skipped when no engine answers or an image is missing: .ci/docker-e2e builds every
image first and then runs them. Containers get network mode ``none`` unless they serve a port
(then host networking on 127.0.0.1 with a free port), and each is removed by its ID.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_helpers import IMAGE_VARS, engine_up, image_name, remove, require_images


@pytest.fixture(scope="session")
def engine() -> None:
    if not engine_up():
        pytest.skip("no Docker engine answers (start one with ../shared/tools/docker-up.sh)")


@pytest.fixture(scope="session")
def images(engine: None) -> dict[str, str]:
    """Every image name; skips when one is missing (build with docker/build-images.sh)."""
    return require_images(IMAGE_VARS)


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory, ttbar_configs: dict[str, Path]) -> Path:
    """A real bundle from our code generator (reco level of the ttbar example), readable by
    the images' non-root user."""
    from topcp_codegen.bundle import generate, unpack_bundle

    query = {"reco": ttbar_configs["reco"].read_text(), "particle": None, "parton": None,
             "max_events": -1, "no_systematics": True, "no_filter": False}
    generated = generate(json.dumps(query), default_image=image_name("emulated"),
                         allowed_registries={})
    dest = tmp_path_factory.mktemp("bundle") / "generated"
    unpack_bundle(generated.zip_bytes, dest)
    dest.chmod(0o755)
    for f in dest.iterdir():
        f.chmod(0o755 if f.suffix in (".py", ".sh") else 0o644)
    return dest


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    """An output folder the containers' uid 1000 (or any uid) can write, like an emptyDir."""
    d = tmp_path / f"out-{uuid.uuid4().hex[:6]}"
    d.mkdir()
    d.chmod(0o777)
    return d


@pytest.fixture
def container_ids() -> Iterator[list[str]]:
    """Containers a test started; removed (by ID) afterwards, with their anonymous volumes."""
    ids: list[str] = []
    yield ids
    for cid in ids:
        remove(cid)


@pytest.fixture
def stack(images: dict[str, str]) -> dict[str, str]:
    """The running compose stack (.ci/docker-e2e exports its URLs), else skip."""
    harness = os.environ.get("TOPCP_STACK_HARNESS_URL")
    codegen = os.environ.get("TOPCP_STACK_CODEGEN_URL")
    if not harness or not codegen or not os.environ.get("TOPCP_DATA_DIR"):
        pytest.skip("no compose stack (run .ci/docker-e2e, which starts one)")
    return {"harness": harness, "codegen": codegen}


@pytest.fixture
def deliver_files(stack: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The unmodified servicex client's deliver() against the stack's harness."""
    from servicex import dataset, deliver, query

    (tmp_path / "servicex.yaml").write_text(
        f"api_endpoints:\n  - endpoint: {stack['harness']}\n    name: stack\n"
        f"cache_path: {tmp_path / 'sx-cache'}\n")
    monkeypatch.chdir(tmp_path)

    def run(name: str, files: list[Path], reco: Path, **kwargs) -> list[str]:
        spec = {"Sample": [{"Name": name, "Dataset": dataset.FileList([str(f) for f in files]),
                            "Query": query.TopCP(reco=str(reco))}]}
        return list(deliver(spec, progress_bar="none", **kwargs)[name])

    return run
