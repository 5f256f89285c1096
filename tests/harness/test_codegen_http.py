"""The harness reaches the topcp code generator over its HTTP protocol (parts by position)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from topcp_harness import codegen as cg


@pytest.fixture(scope="module")
def codegen_url():
    server = cg.EmbeddedCodegen()
    url = server.start()
    yield url
    server.stop()


def _query(reco: str | None) -> str:
    return json.dumps({"reco": reco, "parton": None, "particle": None, "max_events": -1,
                       "no_systematics": True, "no_filter": False})


def test_bundle_comes_back_in_four_positional_parts(codegen_url: str, reco_yaml: Path):
    bundle = cg.generate(codegen_url, _query(reco_yaml.read_text()))
    assert bundle.language == "python"
    assert bundle.command == "/generated/transform_single_file.py"
    assert bundle.image
    names = zipfile.ZipFile(io.BytesIO(bundle.zip_bytes)).namelist()
    assert {"transform_single_file.py", "reco.yaml", "run_manifest.json",
            "transformer_capabilities.json"} <= set(names)


def test_a_rejected_query_carries_the_generators_message(codegen_url: str):
    with pytest.raises(cg.CodegenRejected) as info:
        cg.generate(codegen_url, _query(None))
    assert info.value.message  # the codegen's own text, for the user
    assert "Message" not in info.value.message


def test_an_unreachable_generator_is_reported_as_such():
    with pytest.raises(cg.CodegenUnavailable, match="unreachable"):
        cg.generate("http://127.0.0.1:9", _query("CommonServices: {}\n"))


def test_the_default_image_is_read_from_the_generator(codegen_url: str):
    assert "topcp" in (cg.default_image(codegen_url) or "")
