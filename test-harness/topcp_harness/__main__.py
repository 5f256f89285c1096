"""``python -m topcp_harness``: run the harness as a standalone process."""

from __future__ import annotations

import argparse
import logging
import sys

from .config import RUNNERS, default_state_dir
from .server import serve


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m topcp_harness",
        description="ServiceX in a box for TopCP: the unmodified servicex client's deliver() "
                    "talks to it like to a ServiceX deployment.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5001, help="API port (0 = any free port)")
    p.add_argument("--workers", type=int, default=None, help="parallel files (default: cores)")
    p.add_argument("--runner", choices=RUNNERS, default="process")
    p.add_argument("--state-dir", default=None, help=f"state folder (default {default_state_dir()})")
    p.add_argument("--image", default=None, help="science image for --runner docker")
    p.add_argument("--codegen-url", default=None,
                   help="external topcp code generator (default: run one embedded)")
    p.add_argument("--retries", type=int, default=2, help="extra attempts per failed file")
    p.add_argument("--file-timeout", type=float, default=None, help="seconds per file attempt")
    p.add_argument("--status-hold", type=float, default=8.0,
                   help="seconds a status reply that would repeat the previous one waits for the "
                        "next change, so clients see finished files sooner (0: answer at once)")
    p.add_argument("--x509-proxy", default=None, help="grid proxy file for --runner docker")
    p.add_argument("--s3-endpoint", default=None,
                   help="use this S3 endpoint (host:port or URL) instead of starting SeaweedFS")
    p.add_argument("--s3-access-key", default=None)
    p.add_argument("--s3-secret-key", default=None)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s3 = None
    if args.s3_endpoint:
        s3 = {"endpoint": args.s3_endpoint, "access_key": args.s3_access_key,
              "secret_key": args.s3_secret_key}
    extra = {"codegen_url": args.codegen_url, "retries": args.retries,
             "file_timeout": args.file_timeout, "x509_proxy": args.x509_proxy,
             "status_hold": args.status_hold}
    try:
        serve(host=args.host, port=args.port, workers=args.workers, runner=args.runner,
              state_dir=args.state_dir, image=args.image, s3=s3, **extra)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
