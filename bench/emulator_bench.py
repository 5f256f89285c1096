"""Benchmark of the emulated runTop_el.py (topcp-emulate) against the I/O bound and against
the emulator before the fidelity work (commit a7b80bb), all measured in the same run.

Builds PHYSLITE RNTuple files of 20k and >= 200k events by replicating the 100 events of
the real mc23 test file (only the branches the example reco.yaml needs), then measures, each
command in its own subprocess (peak RSS via resource.getrusage(RUSAGE_CHILDREN)):

* ``topcp-emulate --no-systematics`` on the large file against uproot merely reading the
  same columns chunk by chunk with ``iterate`` (the reference of the original benchmark);
  target: ratio >= 0.5. Two more read-only figures are printed for context: plain uproot
  ``arrays`` on the cluster-aligned chunks the emulator reads, and the emulator's own input
  reader alone (which avoids uproot's extra-cluster read at chunk ends, see
  ``inputs.exact_rntuple_arrays``), i.e. the emulator's real I/O floor;
* ``topcp-emulate`` with the default systematics on the small file, against the baseline
  emulator (the package as of ``--baseline``, extracted with ``git archive``) on the same
  file; target: >= 2x the baseline's events/s;
* the emulator's peak RSS at both sizes; target: growth < 20 %.

Run: ``.venv/bin/python bench/emulator_bench.py [--events 200000] [--repeat 2] [--keep DIR]``.
Prints the figures and PASS/FAIL per target; exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from physlite_samples import replicate

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "testdata" / "PHYSLITE_mc23_ttbar_rntuple.root"
CONFIG = REPO / "examples" / "ttbar-ljets"
EMULATE = Path(sys.executable).with_name("topcp-emulate")
BASELINE = "a7b80bb"

_WRAPPER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
dt = time.perf_counter() - t0
if rc.returncode:
    sys.stderr.write(rc.stderr)
print(json.dumps({"rc": rc.returncode, "seconds": dt,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

_READ_ONLY = """
import sys, uproot
keys = sys.argv[2].split("\\n")
n = 0
for chunk in uproot.open(sys.argv[1])["EventData"].iterate(keys, step_size=int(sys.argv[3]), library="ak"):
    n += len(chunk)
print(n)
"""

_READ_CLUSTERS = """
import sys, uproot
keys = sys.argv[2].split("\\n")
t = uproot.open(sys.argv[1], array_cache=None)["EventData"]
edges, e = [], 0
for c in t.cluster_summaries:
    e += int(c.num_entries)
    edges.append(e)
start = n = 0
while start < t.num_entries:
    end = next(x for x in edges if x >= min(start + int(sys.argv[3]), t.num_entries))
    n += len(t.arrays(keys, entry_start=start, entry_stop=end, library="ak"))
    start = end
print(n)
"""

_READ_EMULATOR = """
import json, sys
sys.path.insert(0, sys.argv.pop(1))
from topcp_science.emulator.inputs import open_physlite
src = open_physlite(sys.argv[1])
wanted = [tuple(w) for w in json.loads(sys.argv[2])]
n = 0
for chunk in src.iterate(wanted):
    n += len(next(iter(chunk.values())))
print(n)
"""

_BASELINE_MAIN = "import sys; sys.path.insert(0, sys.argv.pop(1)); from topcp_science.emulator.cli import main; sys.exit(main())"


def needed_keys() -> list[str]:
    """The input branches the emulator reads for the example reco.yaml."""
    sys.path.insert(0, str(REPO / "science"))
    from topcp_science.emulator.config import load_configs
    from topcp_science.emulator.inputs import open_physlite
    from topcp_science.emulator.reco import RecoLevel
    from topcp_science.emulator.systematics import generator_weights, plan_systematics

    cfg = load_configs(CONFIG, ["reco"])["reco"]
    level = RecoLevel(cfg, plan_systematics({}, enabled=False, weights=generator_weights(0, None)), is_mc=True, dsid=None,
                      warn=lambda _msg: None)
    src = open_physlite(str(SOURCE))
    cols = set(level.columns()) | {("EventInfo", "mcEventWeights"), ("EventInfo", "eventNumber")}
    return sorted({src.columns[c].key for c in cols if c in src.columns})


def needed_columns() -> list[tuple[str, str]]:
    """The emulator's (container, variable) columns for the example reco.yaml."""
    sys.path.insert(0, str(REPO / "science"))
    from topcp_science.emulator.config import load_configs
    from topcp_science.emulator.reco import RecoLevel
    from topcp_science.emulator.systematics import generator_weights, plan_systematics

    cfg = load_configs(CONFIG, ["reco"])["reco"]
    level = RecoLevel(cfg, plan_systematics({}, enabled=False, weights=generator_weights(0, None)), is_mc=True, dsid=None,
                      warn=lambda _msg: None)
    return sorted(set(level.columns()) | {("EventInfo", "mcEventWeights"), ("EventInfo", "eventNumber")})


def extract_baseline(commit: str, dest: Path) -> Path:
    """The science package as of ``commit`` (git archive), for the in-run baseline."""
    blob = subprocess.run(["git", "-C", str(REPO), "archive", commit, "science/topcp_science"],
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "science"


def _reusable(path: Path, events: int, keys: list[str]) -> bool:
    """A file kept by an earlier run (--keep) with the same events and branches."""
    if not path.is_file():
        return False
    try:
        import uproot

        with uproot.open(path) as f:
            t = f["EventData"]
            return t.num_entries == events and sorted(t.keys()) == sorted(keys)
    except Exception:  # noqa: BLE001 - any unreadable file is simply rebuilt
        return False


def measure(cmd: list[str], cwd: Path | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, check=True,
                         cwd=cwd)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"]:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{out.stderr}")
    return result


def emulate(workdir: Path, infile: Path, *, systematics: bool = False, baseline: Path | None = None,
            config: Path = CONFIG, tag: str | None = None) -> dict:
    listing = workdir / f"{infile.stem}.txt"
    listing.write_text(f"{infile}\n")
    extra = [] if systematics else ["--no-systematics"]
    tag = tag or ("base" if baseline else "new")
    program = [sys.executable, "-c", _BASELINE_MAIN, str(baseline)] if baseline else [str(EMULATE)]
    output = f"out_{tag}_{infile.stem}"  # runTop_el.py's -o: a plain name in the working folder
    result = measure([*program, "-i", str(listing), "-o", output, "-t", str(config), *extra], cwd=workdir)
    result["output"] = str(workdir / f"{output}.root")
    return result


def kinematic_variations(output: str) -> list[str]:
    """The non-generator variations of an output's listOfSystematics (NOSYS excluded)."""
    import uproot

    with uproot.open(output) as f:
        labels = f["listOfSystematics"].axis().labels()
    return [name for name in labels if name != "NOSYS" and not name.startswith("GEN_")]


def config_with_variations(dest: Path, names: list[str]) -> Path:
    """A copy of the example configs whose CommonServices.filterSystematics keeps NOSYS, every
    GEN_ weight and exactly ``names``: the same number of variations as the baseline, so the
    two emulators do the same amount of work (the release names come in larger numbers)."""
    import re
    import shutil

    shutil.copytree(CONFIG, dest, dirs_exist_ok=True)
    reco = dest / "reco.yaml"
    text = reco.read_text()
    regex = "^(NOSYS|GEN_.*|" + "|".join(re.escape(n) for n in names) + ")$"
    marker = "CommonServices:\n"
    if marker not in text:
        raise SystemExit(f"{reco}: no CommonServices block to add filterSystematics to")
    reco.write_text(text.replace(marker, f"{marker}  filterSystematics: '{regex}'\n", 1))
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--small", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=1, help="measure each command this many times, keep the best")
    ap.add_argument("--baseline", default=BASELINE, help="git commit of the baseline emulator")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep the generated files in this folder (and reuse them when they match)")
    args = ap.parse_args()
    if not SOURCE.is_file():
        raise SystemExit(f"test file {SOURCE} not found")
    keys = needed_keys()
    with tempfile.TemporaryDirectory(prefix="emulator_bench_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        small, large = work / "physlite_small.root", work / "physlite_large.root"
        t0 = time.perf_counter()
        # The mc23 ttbar RNTuple source: its events pass the example selection, so the writer is
        # exercised too (uproot cannot write the MET term names, vector<string>, into a TTree).
        for path, events in ((small, args.small), (large, args.events)):
            if not _reusable(path, events, keys):
                replicate(SOURCE, path, events, tree="EventData", keys=keys)
        print(f"inputs of {args.small} and {args.events} events ({len(keys)} branches) ready "
              f"in {time.perf_counter() - t0:.1f} s")
        base_pkg = extract_baseline(args.baseline, Path(tmp) / "baseline")

        def best(fn):
            runs = [fn() for _ in range(max(1, args.repeat))]
            return min(runs, key=lambda r: r["seconds"])

        read = best(lambda: measure([sys.executable, "-c", _READ_ONLY, str(large), "\n".join(keys), "20000"]))
        read_clusters = best(lambda: measure([sys.executable, "-c", _READ_CLUSTERS, str(large), "\n".join(keys),
                                              "20000"]))
        read_own = best(lambda: measure([sys.executable, "-c", _READ_EMULATOR, str(REPO / "science"), str(large),
                                         json.dumps(needed_columns())]))
        emu_large = best(lambda: emulate(work, large))
        emu_small = best(lambda: emulate(work, small))
        emu_sys = best(lambda: emulate(work, small, systematics=True))
        base_sys = best(lambda: emulate(work, small, systematics=True, baseline=base_pkg))
        new_names = kinematic_variations(emu_sys["output"])
        base_names = kinematic_variations(base_sys["output"])
        same_cfg = config_with_variations(Path(tmp) / "same_work", new_names[: len(base_names)])
        emu_same = best(lambda: emulate(work, small, systematics=True, config=same_cfg, tag="same"))

    read_rate = args.events / read["seconds"]
    emu_rate = args.events / emu_large["seconds"]
    ratio = emu_rate / read_rate
    clusters_rate = args.events / read_clusters["seconds"]
    own_rate = args.events / read_own["seconds"]
    sys_rate = args.small / emu_sys["seconds"]
    base_rate = args.small / base_sys["seconds"]
    speedup = sys_rate / base_rate
    growth = emu_large["maxrss_kb"] / emu_small["maxrss_kb"] - 1.0
    print(f"uproot read-only ({len(keys)} branches): {read_rate:,.0f} events/s "
          f"({read['seconds']:.1f} s for {args.events})")
    print(f"topcp-emulate --no-systematics:        {emu_rate:,.0f} events/s "
          f"({emu_large['seconds']:.1f} s for {args.events})")
    print(f"ratio emulator / read-only: {ratio:.2f}  (target >= 0.50)  {'PASS' if ratio >= 0.5 else 'FAIL'}")
    print(f"  context: uproot arrays() on cluster-aligned chunks {clusters_rate:,.0f} events/s "
          f"(ratio {emu_rate / clusters_rate:.2f}); the emulator's input reader alone {own_rate:,.0f} events/s "
          f"(ratio {emu_rate / own_rate:.2f})")
    print(f"topcp-emulate with systematics:        {sys_rate:,.0f} events/s on {args.small} events "
          f"({emu_sys['seconds']:.1f} s), peak RSS {emu_sys['maxrss_kb'] / 1024:.0f} MiB")
    print(f"baseline {args.baseline} with systematics: {base_rate:,.0f} events/s on {args.small} events "
          f"({base_sys['seconds']:.1f} s), peak RSS {base_sys['maxrss_kb'] / 1024:.0f} MiB")
    print(f"speed-up with systematics: {speedup:.2f}x  (target >= 2.00)  {'PASS' if speedup >= 2.0 else 'FAIL'}")
    same_rate = args.small / emu_same["seconds"]
    print(f"  context: kinematic variations written: {len(new_names)} (the release's names for this "
          f"config) against the baseline's {len(base_names)}; with filterSystematics keeping "
          f"{len(base_names)} of them (same work): {same_rate:,.0f} events/s, "
          f"{same_rate / base_rate:.2f}x the baseline")
    print(f"peak RSS: {emu_small['maxrss_kb'] / 1024:.0f} MiB at {args.small} events, "
          f"{emu_large['maxrss_kb'] / 1024:.0f} MiB at {args.events} events: growth {growth * 100:+.1f} % "
          f"(target < 20 %)  {'PASS' if growth < 0.2 else 'FAIL'}")
    return 0 if ratio >= 0.5 and speedup >= 2.0 and growth < 0.2 else 1


if __name__ == "__main__":
    sys.exit(main())
