"""Accuracy of ``topcp-sx estimate``'s size projection against a real (emulated) full run.

Builds a 100k-event PHYSLITE RNTuple by replicating the real mc23 test file's events
(physlite_samples.replicate; the containers a reco config reads), then, in the same run:

* ``estimate`` on that file with ``--events 20000`` (nominal and with systematics), and
* the full job on all 100k events with ``topcp-sx run`` (nominal and with systematics),

and prints projected / actual output size at 100k events with and without systematics (target,
issue #15: within 10 %), and the per-1M projection with its parts. ``--events 1000000`` checks
the 1M figure itself against a 1M-event run (about 2 GB of input, tens of minutes). Replicated
events compress far better than real ones, so the absolute sizes are small; the point is the
projection method (one-chunk sample, fixed part, payload per event, basket headers).
The emulator writes the output here; its CPU time is not a projection of the release's.

Run: ``.venv/bin/python bench/estimate_bench.py [--events 100000] [--sample 20000] [--keep DIR]``.
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import uproot
from physlite_samples import replicate

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "testdata" / "PHYSLITE_mc23_ttbar_rntuple.root"
RECO = REPO / "examples" / "ttbar-ljets" / "reco.yaml"
CONTAINERS = ("EventInfoAuxDyn", "AnalysisElectronsAuxDyn", "AnalysisMuonsAuxDyn",
              "AnalysisJetsAuxDyn", "BTagging_AntiKt4EMPFlowAuxDyn", "MET_Core_AnalysisMETAuxDyn")
TARGET = 0.10


def container_fields(source: Path) -> list[str]:
    """Top-level fields of CONTAINERS (field records: header and schema extension)."""
    with uproot.open(source) as f:
        records = f["EventData"].field_records
        return [r.field_name for i, r in enumerate(records) if r.parent_field_id == i
                and r.field_name.split(":")[0] in CONTAINERS]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000, help="events of the replicated file")
    ap.add_argument("--sample", type=int, default=20_000, help="events the estimate runs")
    ap.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    args = ap.parse_args()
    if not SOURCE.is_file():
        raise SystemExit(f"test file {SOURCE} not found")
    sys.path.insert(0, str(REPO / "client"))
    from topcp_client.estimate import PER_MILLION, estimate
    from topcp_client.local_run import run_local

    with tempfile.TemporaryDirectory(prefix="estimate_bench_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        big = work / f"physlite_{args.events}.root"
        t0 = time.perf_counter()
        replicate(SOURCE, big, args.events, tree="EventData", keys=container_fields(SOURCE))
        print(f"built {big.name} ({big.stat().st_size / 1e6:.1f} MB) in "
              f"{time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        est = estimate({"reco": RECO}, big, events=args.sample)
        print(f"estimate on {args.sample} events: {time.perf_counter() - t0:.0f} s")
        ok = True
        for label, systematics, measure in (("nominal", False, est.nominal),
                                            ("systematics", True, est.systematics)):
            t0 = time.perf_counter()
            (res,) = run_local({"reco": RECO}, [big], work / f"full_{label}",
                               systematics=systematics)
            if not res.ok:
                raise SystemExit(f"full run failed: {res.error}")
            actual = res.output.stat().st_size
            at_n = measure.projected_size(args.events)
            per_m = measure.projected_size(PER_MILLION)
            ratio = at_n / actual
            good = abs(ratio - 1) <= TARGET
            ok &= good
            print(f"{label:12s} full run {time.perf_counter() - t0:.0f} s: actual "
                  f"{actual / 1e6:.3f} MB for {args.events} events, projected from "
                  f"{measure.events_in} {at_n / 1e6:.3f} MB: ratio {ratio:.3f} "
                  f"{'PASS' if good else 'FAIL'} (target +-{TARGET:.0%}); branches "
                  f"{measure.branch_counts()}")
            print(f"{'':12s} per 1M events: projected {per_m / 1e6:.2f} MB (fixed part "
                  f"{measure.fixed_bytes / 1e6:.3f} MB + {measure.payload_per_event:.1f} B/event "
                  f"payload + basket headers); 10 x this output would be "
                  f"{10 * actual / 1e6:.2f} MB, which also multiplies the fixed part")
        for note in est.notes:
            print(f"note: {note}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
