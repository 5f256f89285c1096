"""Calling the ``topcp`` code generator over HTTP, exactly as ServiceX's app does.

``POST <url>/servicex/generated-code`` with ``{"code": <selection>}``; the 200 reply is
multipart with four parts read **by position** (image, language, command, zip). The embedded
default runs ``topcp_codegen.create_app()`` in this process on its own 127.0.0.1 port, so the
harness exercises the same wire protocol as with an external code generator (e.g. the
container), which is selected by giving its URL.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import requests
from requests_toolbelt.multipart.decoder import MultipartDecoder
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger(__name__)

GENERATE_PATH = "/servicex/generated-code"
TIMEOUT_S = (5, 120)


class CodegenRejected(Exception):
    """The code generator refused the query: ``message`` is its ``Message``, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CodegenUnavailable(Exception):
    """The code generator could not be reached or answered something unusable."""


@dataclass(frozen=True)
class GeneratedBundle:
    image: str
    language: str
    command: str
    zip_bytes: bytes


def _message(resp: requests.Response) -> str:
    """The reply's ``Message`` as ServiceX's app reads it (``str(json)`` when there is none)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip() or f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        for key in ("Message", "message"):
            if isinstance(body.get(key), str):
                return body[key]
    return str(body)


def generate(url: str, selection: str) -> GeneratedBundle:
    """Ask the code generator at ``url`` for the bundle of ``selection``.

    Any reply other than 200 is a rejection, as in ServiceX's app (``code_gen_adapter.py``
    ``generate_code_for_selection``, ssl-hep/ServiceX 2024-10: ``status_code != 200`` ->
    ``ValueError(f"Failed to generate translation code: {json['Message']}")``); upstream code
    generators (servicex-code-gen-lib) answer every user mistake with 500.
    """
    try:
        resp = requests.post(url.rstrip("/") + GENERATE_PATH, json={"code": selection},
                             timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise CodegenUnavailable(f"code generator at {url} unreachable: {exc}") from exc
    if resp.status_code != 200:
        raise CodegenRejected(_message(resp))
    try:
        parts = MultipartDecoder.from_response(resp).parts
    except Exception as exc:  # the decoder raises several unrelated types
        raise CodegenUnavailable(f"code generator at {url} sent no multipart reply: {exc}") from exc
    if len(parts) < 4:
        raise CodegenUnavailable(
            f"code generator at {url} sent {len(parts)} parts; ServiceX expects 4 "
            "(transformer_image, language, command, zip_data)"
        )
    return GeneratedBundle(
        image=parts[0].text, language=parts[1].text, command=parts[2].text,
        zip_bytes=parts[3].content,
    )


def default_image(url: str) -> str | None:
    """The science image the code generator uses by default (our codegen's /servicex/info)."""
    try:
        resp = requests.get(url.rstrip("/") + "/servicex/info", timeout=(2, 10))
        if resp.ok:
            image = resp.json().get("default_image")
            return image if isinstance(image, str) else None
    except (requests.RequestException, ValueError):
        return None
    return None


class EmbeddedCodegen:
    """``topcp_codegen.create_app()`` served on 127.0.0.1 by werkzeug in a thread."""

    def __init__(self, test_config: dict | None = None) -> None:
        from topcp_codegen import create_app

        self._app = create_app(test_config)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, name="codegen",
                                        daemon=True)
        self._thread.start()
        url = f"http://127.0.0.1:{self._server.server_port}"
        log.info("embedded topcp code generator at %s", url)
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
