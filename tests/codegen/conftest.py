"""Fixtures for the code generator: the app, real servicex 3.3.1 queries, and reply decoding.

Replies are decoded the way ServiceX's ``code_gen_adapter.py`` does it (requests_toolbelt
``MultipartDecoder``, parts by position), so a test passing here means ServiceX can read it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from requests_toolbelt.multipart.decoder import MultipartDecoder
from topcp_codegen import create_app

DEFAULT_IMAGE = "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
ALLOWED = '{"docker.io": {"allowedImagePrefixes": ["sslhep/servicex_science_image_topcp:"]}}'


@dataclass
class Reply:
    """A decoded 200 reply: the four parts, read by position, and the unpacked zip."""

    image: str
    language: str
    command: str
    zip_bytes: bytes
    part_headers: list[dict[bytes, bytes]]

    @property
    def zip(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(io.BytesIO(self.zip_bytes))

    def text(self, name: str) -> str:
        return self.zip.read(name).decode("utf-8")


def decode_reply(content_type: str, body: bytes) -> Reply:
    parts = MultipartDecoder(body, content_type).parts
    assert len(parts) == 4
    return Reply(
        image=parts[0].text,
        language=parts[1].text,
        command=parts[2].text,
        zip_bytes=parts[3].content,
        part_headers=[dict(p.headers) for p in parts],
    )


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"TRANSFORMER_SCIENCE_IMAGE": DEFAULT_IMAGE, "ALLOWED_DOCKER_REGISTRIES": ALLOWED}


@pytest.fixture
def client(app_config: dict[str, Any]):
    return create_app(app_config).test_client()


@pytest.fixture
def post_code(client) -> Callable[[str], Any]:
    """POST a query string as ServiceX's app does (``json={"code": ...}``)."""

    def post(code: str):
        return client.post("/servicex/generated-code", json={"code": code})

    return post


@pytest.fixture
def decode() -> Callable[[Any], Reply]:
    """Decode a Flask test response or a ``requests`` response."""

    def _decode(resp) -> Reply:
        body = resp.get_data() if hasattr(resp, "get_data") else resp.content
        assert resp.status_code == 200, body[:2000]
        assert resp.headers["Content-Type"].startswith("multipart/form-data; boundary=")
        return decode_reply(resp.headers["Content-Type"], body)

    return _decode


@pytest.fixture
def sx_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Build the selection string with the real servicex 3.3.1 ``TopCPQuery``.

    The client reads the YAML files relative to the working directory, so the files are
    written to a temporary folder that becomes the cwd. ``configs`` maps level -> YAML text.
    """
    from servicex.query import TopCP

    monkeypatch.chdir(tmp_path)

    def build(configs: dict[str, str], **options: Any) -> str:
        paths = {}
        for level, text in configs.items():
            (tmp_path / f"{level}.yaml").write_text(text)
            paths[level] = f"{level}.yaml"
        return TopCP(**paths, **options).generate_selection_string()

    return build


@pytest.fixture(scope="session")
def example_texts(ttbar_configs: dict[str, Path]) -> dict[str, str]:
    """The example configs' texts by level (reco, particle, parton)."""
    return {level: path.read_text() for level, path in ttbar_configs.items()}


@pytest.fixture(scope="session")
def acceptance_reco(example_texts: dict[str, str]) -> tuple[str, dict[str, tuple[int, str]]]:
    """The issue's acceptance config: the example reco.yaml with four mistakes the real reader
    rejects (a misspelled option, a JES model it refuses, an unknown block, a dangling selection).

    Returns the text and, per mistake, (line it is on, a word the report must contain).
    """
    text = example_texts["reco"]
    text = text.replace("runNNJvtUpdate:", "runNNJvtUpdat:", 1)  # misspelled option
    # (an int for a float option is no mistake: ConfigBlock.setOptionValue converts it)
    text = text.replace("systematicsModelJES: 'Category'", "systematicsModelJES: 'Categroy'", 1)
    text = text.replace("GeneratorLevelAnalysis: {}", "GeneratorLevelAnalysis: {}\n\nPhotonz: {}")
    text = text.replace("electrons: 'AnaElectrons.tight'", "electrons: 'AnaElectrons.tigth'", 1)
    lines = text.splitlines()

    def line_of(fragment: str, after: int = 0) -> int:
        return next(i for i, ln in enumerate(lines, 1) if i > after and fragment in ln)

    expected = {
        "misspelled option": (line_of("runNNJvtUpdat:"), "runNNJvtUpdate"),
        "JES model": (line_of("systematicsModelJES: 'Categroy'"), "Category"),
        "unknown block": (line_of("Photonz:"), "Photonz"),
        "dangling reference": (line_of("AnaElectrons.tigth"), "tight"),
    }
    return text, expected


def check_acceptance_reply(status: int, body: dict, expected: dict[str, tuple[int, str]]) -> None:
    """One 400 reply that lists every expected mistake with its line and a suggestion."""
    assert status == 400
    message_lines = body["Message"].splitlines()
    errors = [e for e in body["errors"] if e["severity"] == "error"]
    assert message_lines[0].startswith("TopCP config validation failed with")
    for what, (line, hint) in expected.items():
        hits = [e for e in errors if e["file"] == "reco.yaml" and e["line"] == line]
        assert hits, f"{what} (line {line}) not reported: {body['Message']}"
        described = " ".join(f"{e['message']} {e['suggestion'] or ''}" for e in hits)
        assert hint in described, f"{what}: {hint!r} not in {described!r}"
        assert any(ln.startswith(f"reco.yaml:{line}:") for ln in message_lines), what
    assert sum("did you mean" in (e["suggestion"] or "") for e in errors) >= 3


@pytest.fixture
def check_acceptance():
    return check_acceptance_reply
