"""``topcp-x509-proxy``: parse options, set up logging, run the service, return its exit code."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from .errors import ExitCode, ProxyError
from .health import probe
from .producers import make_producer
from .service import Service
from .settings import parse_settings

log = logging.getLogger("topcp_x509_proxy")


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s topcp-x509-proxy: %(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    root = logging.getLogger("topcp_x509_proxy")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; every failure becomes a message on stderr and a documented exit code."""
    try:
        settings = parse_settings(argv)
    except ProxyError as exc:
        print(f"topcp-x509-proxy: error: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    _setup_logging(settings.log_level)
    if settings.healthcheck:
        if not settings.health_port:
            print("topcp-x509-proxy: error: --healthcheck needs a --health-port", file=sys.stderr)
            return int(ExitCode.USAGE)
        ok, body = probe(settings.health_host, settings.health_port)
        print(body)
        return 0 if ok else 1
    try:
        producer = make_producer(settings)
    except ProxyError as exc:
        log.error("%s", exc.message)
        return int(exc.exit_code)
    try:
        return Service(settings, producer).run()
    except Exception:  # a bug: say so clearly, with the traceback, and a distinct code
        log.exception("internal error; please report it with this traceback")
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
