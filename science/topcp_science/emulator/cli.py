"""``topcp-emulate``: runTop_el.py's command line (plus ``--strict``) on top of the emulator.

It is deliberately not installed as ``runTop_el.py``: the transform script would take it
for the real TopCPToolkit. The emulated science image links it under that name.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import EmulatorError
from .runner import Log, Options, run


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="topcp-emulate",
        description="Emulated TopCPToolkit runTop_el.py (uproot/awkward; a preview, not physics).",
    )
    p.add_argument("-i", "--input-list", required=True, help="text file listing the input PHYSLITE files")
    p.add_argument("-o", "--output-name", required=True, help="output name without .root")
    p.add_argument("-e", "--max-events", type=int, default=-1, help="events to process, -1 = all")
    p.add_argument("-t", "--text-config", required=True,
                   help="folder holding reco.yaml (and particle.yaml, parton.yaml)")
    p.add_argument("--particle", action="store_true", help="also run the particle level")
    p.add_argument("--parton", action="store_true", help="also run the parton level")
    p.add_argument("--no-reco", action="store_true", help="skip the detector level")
    p.add_argument("--no-systematics", action="store_true", help="nominal only")
    p.add_argument("--no-filter", action="store_true",
                   help="accepted for compatibility; as with -t in runTop_el.py it has no effect")
    p.add_argument("--strict", action="store_true",
                   help="fail instead of warning when a block cannot be emulated")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if "/" in args.output_name or args.output_name in ("", ".", ".."):
        print(f"ERROR: -o/--output-name {args.output_name!r} must be a plain name (written to the "
              "current directory, .root is appended)", file=sys.stderr)
        return 2
    opts = Options(
        input_list=args.input_list,
        output_name=args.output_name,
        text_config=args.text_config,
        max_events=args.max_events,
        no_systematics=args.no_systematics,
        no_filter=args.no_filter,
        particle=args.particle,
        parton=args.parton,
        no_reco=args.no_reco,
        strict=args.strict,
        workdir=Path.cwd(),
    )
    try:
        run(opts, Log())
    except EmulatorError as exc:
        for line in exc.lines:
            print(f"ERROR: {line}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
