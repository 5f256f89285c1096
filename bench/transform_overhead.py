"""How much time transform_single_file.py adds around runTop_el.py, per file.

Runs, interleaved in the same session, N times each:
  direct:  a stub runTop_el.py that parses the real CLI, prints the EventLoop line and copies a
           small prepared ROOT file to output.root (no uproot import, so it exits at once);
  wrapped: transform_single_file.py from a bundle around that same stub (RUNTOP_EL), which adds
           its own interpreter start, bundle/manifest reading, work dir, config folder, child
           process group, log streaming, ROOT key check, atomic move and clean-up.
Prints both medians and their difference. Target: the wrapper adds < 150 ms per file.

Usage: .venv/bin/python bench/transform_overhead.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import uproot

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "science" / "topcp_science" / "transform_single_file.py"
TARGET_MS = 150.0

STUB = """\
import argparse, shutil, sys
p = argparse.ArgumentParser(prog="runTop_el.py")
p.add_argument("-i", "--input-list", required=True)
p.add_argument("-o", "--output-name", required=True)
p.add_argument("-e", "--max-events", type=int, default=-1)
p.add_argument("-t", "--text-config")
for flag in ("--parton", "--particle", "--no-reco", "--no-systematics", "--no-filter"):
    p.add_argument(flag, action="store_true")
a = p.parse_args()
with open(a.input_list) as f:
    name = f.readline().strip()
print("Package.EventLoop        INFO    Processing events 0-100 in file " + name, flush=True)
shutil.copyfile(TEMPLATE, a.output_name + ".root")
"""


def prepare(root: Path, input_file: Path) -> tuple[list[str], Path, list[str], dict]:
    template = root / "template.root"
    with uproot.recreate(template) as f:
        f.mktree("reco", {"x": np.float32}).extend({"x": np.zeros(100, dtype=np.float32)})
        f["metadata"] = (np.array([1.0]), np.array([0.0, 1.0]))
    stub = root / "runTop_el.py"
    stub.write_text(f"TEMPLATE = {str(template)!r}\n" + STUB)

    bundle = root / "bundle"
    bundle.mkdir()
    (bundle / "reco.yaml").write_text("Jets: []\nOutput:\n  treeName: reco\n")
    manifest = {
        "manifest_version": 1,
        "levels": {"reco": "reco.yaml", "particle": None, "parton": None},
        "max_events": -1,
        "no_systematics": True,
        "no_filter": False,
        "no_filter_injected": [],
        "query_hash": "0" * 64,
    }
    (bundle / "run_manifest.json").write_text(json.dumps(manifest))
    shutil.copy(SCRIPT, bundle / "transform_single_file.py")

    direct_dir = root / "direct"
    (direct_dir / "config").mkdir(parents=True)
    shutil.copy(bundle / "reco.yaml", direct_dir / "config" / "reco.yaml")
    (direct_dir / "input.txt").write_text(f"{input_file}\n")
    direct = [sys.executable, str(stub), "-i", "input.txt", "-o", "output",
              "-t", str(direct_dir / "config"), "--no-systematics"]  # fmt: skip
    wrapped = [sys.executable, str(bundle / "transform_single_file.py"), str(input_file),
               str(root / "out" / "scratch" / "file"), "root-file"]  # fmt: skip
    env = dict(os.environ, RUNTOP_EL=str(stub))
    env.pop("TOPCP_TIMEOUT_S", None)
    return direct, direct_dir, wrapped, env


def timed(argv: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv[1]} failed ({proc.returncode}):\n{proc.stdout.decode()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument(
        "--input", type=Path, default=REPO.parent / "shared/testdata/PHYSLITE_example.root"
    )
    args = parser.parse_args()
    if not args.input.is_file():
        sys.exit(f"input {args.input} not found (use --input)")
    with tempfile.TemporaryDirectory(prefix="topcp-bench-") as tmp:
        root = Path(tmp)
        direct, direct_dir, wrapped, env = prepare(root, args.input)
        timed(direct, direct_dir, env)  # warm the page cache for both
        timed(wrapped, root, env)
        d_times, w_times = [], []
        for _ in range(args.repeat):
            d_times.append(timed(direct, direct_dir, env))
            w_times.append(timed(wrapped, root, env))
    d_med = statistics.median(d_times) * 1000
    w_med = statistics.median(w_times) * 1000
    extra = w_med - d_med
    print(f"repetitions:            {args.repeat}")
    print(f"stub runTop_el.py alone: median {d_med:7.1f} ms")
    print(f"through the wrapper:     median {w_med:7.1f} ms  (ratio {w_med / d_med:.2f}x)")
    print(f"wrapper overhead:        {extra:7.1f} ms per file (target < {TARGET_MS:.0f} ms: "
          f"{'met' if extra < TARGET_MS else 'MISSED'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
