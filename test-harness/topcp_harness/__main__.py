"""``python -m topcp_harness``: run the harness as a standalone process."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .config import MAX_STATUS_HOLD_S, RUNNERS, default_state_dir
from .security import resolve_token
from .server import serve


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m topcp_harness",
        description="ServiceX in a box for TopCP: the unmodified servicex client's deliver() "
                    "talks to it like to a ServiceX deployment.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; any other needs --auth)")
    p.add_argument("--port", type=int, default=5001, help="API port (0 = any free port)")
    p.add_argument("--workers", type=int, default=None, help="parallel files (default: cores)")
    p.add_argument("--runner", choices=RUNNERS, default="process")
    p.add_argument("--state-dir", default=None, help=f"state folder (default {default_state_dir()})")
    p.add_argument("--image", default=None, help="science image for --runner docker")
    p.add_argument("--codegen-url", default=None,
                   help="external topcp code generator (default: run one embedded)")
    p.add_argument("--retries", type=int, default=2,
                   help="extra attempts for a file whose worker or container was lost")
    p.add_argument("--file-timeout", type=float, default=None, help="seconds per file attempt")
    p.add_argument("--status-hold", type=float, default=MAX_STATUS_HOLD_S,
                   help="seconds (at most 3) a status reply that would repeat the previous one "
                        "waits for the next change, so clients see finished files sooner "
                        "(0: answer at once)")
    p.add_argument("--auth", action="store_true",
                   help="require a token on every API call (kept in <state>/api-token and "
                        "printed in the servicex.yaml snippet)")
    p.add_argument("--token-file", type=Path, default=None,
                   help="require the token in this file (implies --auth)")
    p.add_argument("--insecure-bind", action="store_true",
                   default=_env_flag("TOPCP_HARNESS_INSECURE_BIND"),
                   help="allow a non-loopback --host without a token (only where that address "
                        "is private, e.g. a container whose port is published on 127.0.0.1)")
    p.add_argument("--data-dir", action="append", type=Path, default=None,
                   help="folder local inputs must lie in (repeatable; default: "
                        "$TOPCP_HARNESS_DATA_DIRS or the working directory)")
    p.add_argument("--allow-remote-inputs", action="store_true",
                   help="let transforms fetch root:// and https:// inputs")
    p.add_argument("--expire-days", type=float, default=30.0,
                   help="delete finished requests after this many days (0: never)")
    p.add_argument("--x509-proxy", default=None, help="grid proxy file for --runner docker")
    p.add_argument("--s3-endpoint", default=None,
                   help="use this S3 endpoint (host:port or URL) instead of starting SeaweedFS")
    p.add_argument("--s3-access-key", default=None)
    p.add_argument("--s3-secret-key", default=None)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def data_dirs_from_env() -> list[Path] | None:
    """``$TOPCP_HARNESS_DATA_DIRS`` (``:``-separated), for containers configured by env."""
    raw = os.environ.get("TOPCP_HARNESS_DATA_DIRS", "")
    return [Path(d) for d in raw.split(os.pathsep) if d.strip()] or None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s3 = None
    if args.s3_endpoint:
        s3 = {"endpoint": args.s3_endpoint, "access_key": args.s3_access_key,
              "secret_key": args.s3_secret_key}
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
    try:
        token = resolve_token(auth=args.auth, token_file=args.token_file, state_dir=state_dir)
        data_dirs = args.data_dir or data_dirs_from_env()
        extra = {"codegen_url": args.codegen_url, "retries": args.retries,
                 "file_timeout": args.file_timeout, "x509_proxy": args.x509_proxy,
                 "status_hold": args.status_hold, "token": token,
                 "insecure_bind": args.insecure_bind,
                 "data_dirs": tuple(data_dirs) if data_dirs else None,
                 "allow_remote": args.allow_remote_inputs, "expire_days": args.expire_days}
        serve(host=args.host, port=args.port, workers=args.workers, runner=args.runner,
              state_dir=state_dir, image=args.image, s3=s3, **extra)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
