"""A tiny HTTP endpoint: ``/healthz`` (200 or 503) and ``/status`` (JSON).

Why: container healthchecks and the harness can ask "is a valid proxy published?" without
parsing files. It binds 127.0.0.1 by default and serves nothing secret.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .errors import HealthPortError
from .status import ServiceState

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server_version = "topcp-x509-proxy"
    state: ServiceState  # set on the subclass made per server

    def _send(self, code: int, body: dict, *, head: bool = False) -> None:
        payload = (json.dumps(body, sort_keys=True) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(payload)

    def _route(self, head: bool) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/healthz":
            ok, reason = self.state.healthy()
            doc = self.state.snapshot()
            body = {
                "status": "ok" if ok else "unavailable",
                "reason": None if ok else reason,
                "expiry": doc["expiry"],
                "time_left_seconds": doc["time_left_seconds"],
            }
            self._send(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, body, head=head)
        elif path == "/status":
            self._send(HTTPStatus.OK, self.state.snapshot(), head=head)
        else:
            self._send(
                HTTPStatus.NOT_FOUND,
                {"error": f"no such path {path}; try /healthz or /status"},
                head=head,
            )

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._route(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._route(head=True)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        log.debug("health: " + format, *args)


class HealthServer:
    """Runs the endpoint in a daemon thread; ``close()`` stops it and frees the port."""

    def __init__(self, state: ServiceState, host: str, port: int) -> None:
        handler = type("Handler", (_Handler,), {"state": state})
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise HealthPortError(
                f"cannot serve the health endpoint on {host}:{port}: {exc.strerror or exc}; "
                "choose another --health-port or 0 to turn it off"
            ) from None
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def probe(host: str, port: int, *, timeout: float = 5.0) -> tuple[bool, str]:
    """Ask a running instance's /healthz (``--healthcheck``)."""
    url = f"http://{host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (fixed local URL)
            return resp.status == 200, resp.read().decode(errors="replace").strip()
    except urllib.error.HTTPError as exc:
        return False, exc.read().decode(errors="replace").strip()
    except OSError as exc:
        return False, f"{url}: {exc}"
