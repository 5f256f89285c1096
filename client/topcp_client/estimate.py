"""``topcp-sx estimate``: what a TopCP job will cost, from a short run on a real input file.

Output size grows with systematics (every affected variable gets one branch per variation) and
TopCP with systematics is CPU-bound (about an hour per 1 GB PHYSLITE file per core, issue #15),
yet users guess both. This runs the first N events twice, nominal only and with systematics,
with the same bundle as ``run``, and measures each output:

- **size model**: ``size(M) = fixed + M x payload + baskets(M) x per-basket overhead``. ``fixed``
  is everything but the trees' baskets (CutBookkeeper/cutflow/metadata histograms, streamers,
  tree headers); ``payload`` is the compressed basket data per *input* event (so the selection
  efficiency is included); each basket also costs its TKey header plus 20 bytes of branch
  bookkeeping (fBasketBytes/Entry/Seek). The emulator writes one basket per branch per chunk
  of input events (``topcp_science.emulator.inputs.DEFAULT_STEP``); for real output we assume
  ROOT's default 32000-byte baskets (stated in the report). The default sample is one emulator
  chunk (20,000 events): each chunk's baskets are compressed on their own, so a one-chunk sample
  has the job's basket structure and the payload per event scales linearly from it (a smaller
  sample compresses worse per event and over-estimates).
- **branches**: per tree, as written (no counters).
- **CPU**: only when the real ``runTop_el.py`` ran (no ``topcp_emulator`` marker): child CPU time
  of a run at N and at N/4 events gives the per-event cost without the start-up, then
  core-hours for a dataset of a given size. The emulator does not run the CP tools, so its time
  predicts nothing about the release and no CPU projection is made from it.
"""

from __future__ import annotations

import math
import resource
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import uproot

from . import ntuple
from .configs import UsageError

#: The emulator's chunk size: one basket per branch per chunk (fallback when not importable).
try:
    from topcp_science.emulator.inputs import DEFAULT_STEP as EMULATOR_CHUNK
except ImportError:  # pragma: no cover - the science package ships with the client
    EMULATOR_CHUNK = 20_000
#: ROOT's default TTree basket size (TTree::Branch bufsize 32000) for real outputs.
ROOT_BASKET_BYTES = 32_000
#: Per basket and branch, besides the TKey: fBasketBytes (4) + fBasketEntry (8) + fBasketSeek (8).
BRANCH_BOOKKEEPING = 20
PER_MILLION = 1_000_000


class EstimateError(RuntimeError):
    """The short run itself failed (the config or input is not runnable): fix it with ``run``."""


@dataclass
class TreeMeasure:
    name: str
    entries: int
    branches: int
    data_bytes: int = 0  # compressed basket payload, without keys
    key_bytes: int = 0
    baskets: int = 0
    uncompressed_bytes: int = 0


@dataclass
class RunMeasure:
    """One short run: what it processed and what it wrote."""

    systematics: bool
    events_in: int
    size: int
    trees: list[TreeMeasure]
    emulated: bool
    seconds: float
    cpu_seconds: float

    @property
    def tree_bytes(self) -> int:
        return sum(t.data_bytes + t.key_bytes + BRANCH_BOOKKEEPING * t.baskets for t in self.trees)

    @property
    def fixed_bytes(self) -> int:
        return max(self.size - self.tree_bytes, 0)

    @property
    def payload_per_event(self) -> float:
        return sum(t.data_bytes for t in self.trees) / max(self.events_in, 1)

    def baskets_for(self, events: int) -> int:
        """Baskets the full job writes for ``events`` input events (all trees, all branches)."""
        total = 0
        for t in self.trees:
            if self.emulated:
                per_branch = max(1, math.ceil(events / EMULATOR_CHUNK))
            else:
                per_event = t.uncompressed_bytes / max(self.events_in, 1) / max(t.branches, 1)
                per_branch = max(1, math.ceil(events * per_event / ROOT_BASKET_BYTES))
            total += per_branch * t.branches
        return total

    def per_basket_overhead(self) -> float:
        baskets = sum(t.baskets for t in self.trees)
        keys = sum(t.key_bytes for t in self.trees)
        return (keys / baskets if baskets else 80.0) + BRANCH_BOOKKEEPING

    def projected_size(self, events: int) -> float:
        """Output bytes for a job over ``events`` input events (the size model above)."""
        return (self.fixed_bytes + self.payload_per_event * events
                + self.baskets_for(events) * self.per_basket_overhead())

    def branch_counts(self) -> dict[str, int]:
        return {t.name: t.branches for t in self.trees}


@dataclass
class Estimate:
    """The two runs and what follows from them."""

    input: str
    input_events: int
    input_bytes: int
    requested_events: int
    nominal: RunMeasure
    systematics: RunMeasure
    cpu_per_event: float | None = None  # seconds, with systematics, start-up excluded
    startup_seconds: float | None = None
    dataset_events: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def emulated(self) -> bool:
        return self.nominal.emulated or self.systematics.emulated

    def core_hours(self, events: int, files: int = 1) -> float | None:
        if self.cpu_per_event is None:
            return None
        return (self.cpu_per_event * events + (self.startup_seconds or 0.0) * files) / 3600.0

    def to_dict(self) -> dict[str, object]:
        def run(m: RunMeasure) -> dict[str, object]:
            return {
                "events_in": m.events_in, "size": m.size, "fixed_bytes": m.fixed_bytes,
                "payload_bytes_per_event": m.payload_per_event,
                "per_basket_overhead": m.per_basket_overhead(),
                "projected_bytes_per_million": m.projected_size(PER_MILLION),
                "projected_bytes_dataset": (m.projected_size(self.dataset_events)
                                            if self.dataset_events else None),
                "branches": m.branch_counts(),
                "entries": {t.name: t.entries for t in m.trees},
                "wall_seconds": m.seconds, "cpu_seconds": m.cpu_seconds,
            }
        files = self.dataset_files()
        return {
            "input": self.input, "input_events": self.input_events,
            "input_bytes": self.input_bytes, "requested_events": self.requested_events,
            "emulated": self.emulated, "nominal": run(self.nominal),
            "systematics": run(self.systematics),
            "cpu_seconds_per_event": self.cpu_per_event, "startup_seconds": self.startup_seconds,
            "dataset_events": self.dataset_events, "dataset_files": files,
            "core_hours_dataset": (self.core_hours(self.dataset_events, files or 1)
                                   if self.dataset_events else None),
            "core_hours_per_million": self.core_hours(PER_MILLION),
            "notes": self.notes,
        }

    def dataset_files(self) -> int | None:
        if not self.dataset_events or not self.input_events:
            return None
        return max(1, math.ceil(self.dataset_events / self.input_events))


def measure_output(path: Path, events_in: int, *, systematics: bool, seconds: float,
                   cpu_seconds: float) -> RunMeasure:
    """Size, trees, branches and basket bytes of one output file."""
    f = ntuple.open_root(path)
    with f:
        emulated = ntuple.emulator_marker(f) is not None
        trees = []
        for info in ntuple.trees(f):
            t = TreeMeasure(info.name, info.entries, len(info.branches))
            obj = f[info.name]
            if isinstance(obj, uproot.TTree):
                for branch in obj.itervalues(recursive=True):
                    for i in range(branch.num_baskets):
                        key = branch.basket_key(i)
                        t.key_bytes += int(key.fKeylen)
                        t.data_bytes += int(key.fNbytes) - int(key.fKeylen)
                        t.uncompressed_bytes += int(key.fObjlen)
                        t.baskets += 1
            trees.append(t)
    return RunMeasure(systematics, events_in, path.stat().st_size, trees, emulated, seconds,
                      cpu_seconds)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _one_run(levels: Mapping[str, Path], input_file: str, workdir: Path, *, events: int,
             systematics: bool, no_filter: bool) -> RunMeasure:
    from .local_run import run_local

    before = _children_cpu()
    (result,) = run_local(levels, [input_file], workdir, systematics=systematics,
                          max_events=events, no_filter=no_filter)
    cpu = _children_cpu() - before
    if not result.ok:
        raise EstimateError(f"{input_file}: the short run failed ({result.error}); "
                            "fix that first with 'topcp-sx run'")
    processed = result.events_in if result.events_in is not None else events
    return measure_output(result.output, processed, systematics=systematics,
                          seconds=result.seconds, cpu_seconds=cpu)


def cpu_model(cpu_full: float, n_full: int, cpu_small: float, n_small: int
              ) -> tuple[float, float]:
    """(CPU seconds per event, start-up seconds) from two runs of one job at n_full > n_small
    events: the job costs start-up + per-event x N, and the start-up (configuration, CP tool
    initialisation, hadd) is the same for both."""
    if n_full <= n_small:
        raise ValueError("the first run must process more events than the second")
    per_event = max(cpu_full - cpu_small, 0.0) / (n_full - n_small)
    return per_event, max(cpu_full - per_event * n_full, 0.0)


def parse_size(text: str) -> int:
    """'2.5TB', '800 GB', '1.2e12' (bytes) -> bytes (decimal units, as rucio reports them)."""
    units = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15}
    s = text.strip().upper().replace(" ", "")
    num = s.rstrip("KMGTPB")
    unit = s[len(num):]
    try:
        value = float(num)
    except ValueError:
        raise UsageError(f"--dataset-size {text!r}: expected e.g. 800GB or 2.5TB") from None
    if unit not in units or value <= 0:
        raise UsageError(f"--dataset-size {text!r}: expected e.g. 800GB or 2.5TB")
    return int(value * units[unit])


def estimate(
    levels: Mapping[str, Path],
    input_file: str | Path,
    *,
    events: int = EMULATOR_CHUNK,
    no_filter: bool = False,
    dataset_events: int | None = None,
    dataset_bytes: int | None = None,
) -> Estimate:
    """Run ``events`` events with and without systematics and project size (and CPU)."""
    if events < 1:
        raise UsageError(f"--events must be at least 1, got {events}")
    path = Path(input_file)
    if not path.is_file():
        raise UsageError(f"{input_file}: no such input file")
    from .physlite_metadata import MetadataError, read_input_facts

    try:
        facts = read_input_facts(path)
    except MetadataError as exc:
        raise UsageError(str(exc)) from None
    n = min(events, facts.events)
    est_notes: list[str] = []
    if n < events:
        est_notes.append(f"the input has only {facts.events} events; all were run")
    if n < 1000:
        est_notes.append(f"only {n} events sampled: the payload per event is uncertain (small "
                         "baskets compress worse; sample more events for a firmer projection)")
    with tempfile.TemporaryDirectory(prefix="topcp-sx-estimate-") as tmp:
        work = Path(tmp)
        nominal = _one_run(levels, str(path), work / "nominal", events=n, systematics=False,
                           no_filter=no_filter)
        syst = _one_run(levels, str(path), work / "systematics", events=n, systematics=True,
                        no_filter=no_filter)
        cpu_per_event = startup = None
        if not (nominal.emulated or syst.emulated):
            small = max(1, n // 4)
            if small < n:
                quarter = _one_run(levels, str(path), work / "quarter", events=small,
                                   systematics=True, no_filter=no_filter)
                cpu_per_event, startup = cpu_model(syst.cpu_seconds, n, quarter.cpu_seconds,
                                                   small)
            else:
                est_notes.append("one event only: CPU per event includes the start-up")
                cpu_per_event = syst.cpu_seconds
    if dataset_events is None and dataset_bytes is not None and facts.events:
        bytes_per_event = path.stat().st_size / facts.events
        dataset_events = int(dataset_bytes / bytes_per_event)
        est_notes.append(f"dataset of {dataset_bytes / 1e9:.4g} GB = about {dataset_events:,} "
                         f"events at this file's {bytes_per_event / 1e3:.3g} kB/event")
    result = Estimate(str(path), facts.events, path.stat().st_size, events, nominal, syst,
                      cpu_per_event, startup, dataset_events, est_notes)
    if result.emulated:
        result.notes.append("emulated run (topcp-emulate): output size and branches follow the "
                            "emulator's layout, but CPU cannot be projected from it: it does not "
                            "run the CP tools (runTop_el.py with systematics takes about an hour "
                            "per 1 GB PHYSLITE file per core)")
    else:
        result.notes.append(f"real runTop_el.py: basket count assumes ROOT's default "
                            f"{ROOT_BASKET_BYTES}-byte baskets")
    return result
