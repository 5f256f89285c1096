"""One emulated runTop_el.py job: configs + input list -> ``<name>.root``.

Reads the input once, chunk by chunk, feeding every requested level (reco, particle,
parton) from the same columns; accumulates CutBookkeepers and cutflows; writes the
metadata histograms and the ``topcp_emulator`` marker; renames the file into place last.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from . import __version__
from .blocks import classify
from .config import load_configs
from .errors import EmulatorError
from .inputs import DEFAULT_STEP, open_physlite, read_input_list
from .kinematics import leading
from .reco import RecoLevel
from .systematics import NOSYS, generator_weights, plan_systematics
from .truth import ParticleLevel, PartonLevel
from .writer import OutputFile

EVENTLOOP_PREFIX = "Package.EventLoop        INFO    "
EMULATOR_PREFIX = "Package.TopCPEmulator    "

#: runNumber of MC campaigns -> campaign name, for the metadata histogram.
CAMPAIGNS = {284500: "mc20a", 300000: "mc20d", 310000: "mc20e", 410000: "mc23a", 450000: "mc23d",
             470000: "mc23e"}


@dataclass
class Options:
    input_list: str
    output_name: str
    text_config: str
    max_events: int = -1
    no_systematics: bool = False
    no_filter: bool = False
    particle: bool = False
    parton: bool = False
    no_reco: bool = False
    strict: bool = False
    step: int = DEFAULT_STEP
    workdir: Path = field(default_factory=Path.cwd)


class Log:
    """Collects de-duplicated warnings and prints them once, in EventLoop-like format."""

    def __init__(self, out=None) -> None:
        self.out = out or sys.stdout
        self.warnings: list[str] = []
        self._seen: set[str] = set()

    def info(self, text: str) -> None:
        print(EMULATOR_PREFIX + "INFO    " + text, file=self.out, flush=True)

    def warn(self, text: str) -> None:
        if text in self._seen:
            return
        self._seen.add(text)
        self.warnings.append(text)
        print(EMULATOR_PREFIX + "WARNING " + text, file=self.out, flush=True)


def _peek(src) -> dict:
    """Sample facts from the first event: MC or data, DSID, run number, weight count."""
    wanted = [("EventInfo", v) for v in ("eventTypeBitmask", "mcChannelNumber", "runNumber", "mcEventWeights")]
    for chunk in src.iterate(wanted, step=1, entry_stop=1):
        bitmask = chunk.get(("EventInfo", "eventTypeBitmask"))
        weights = chunk.get(("EventInfo", "mcEventWeights"))
        is_mc = bool(int(bitmask[0]) & 1) if bitmask is not None else weights is not None
        return {
            "is_mc": is_mc,
            "dsid": int(chunk[("EventInfo", "mcChannelNumber")][0]) if is_mc and ("EventInfo", "mcChannelNumber") in chunk else 0,
            "run": int(chunk[("EventInfo", "runNumber")][0]),
            "n_weights": int(ak.num(weights)[0]) if weights is not None else 0,
        }
    return {"is_mc": True, "dsid": 0, "run": 0, "n_weights": 0}


def run(opts: Options, log: Log | None = None) -> Path:
    """Run the job; returns the output path. Raises EmulatorError for user mistakes."""
    log = log or Log()
    levels = ([] if opts.no_reco else ["reco"]) + (["particle"] if opts.particle else []) + (
        ["parton"] if opts.parton else [])
    if not levels:
        raise EmulatorError("nothing to do: --no-reco given without --particle or --parton")
    names = read_input_list(opts.input_list)
    cfgs = load_configs(opts.text_config, levels)
    for c in cfgs.values():
        for w in c.warnings:
            log.warn(w)
    sources = [open_physlite(n) for n in names]
    facts = _peek(sources[0])
    is_mc, dsid = facts["is_mc"], facts["dsid"]
    if not is_mc and ("particle" in levels or "parton" in levels):
        log.warn("input is data: particle and parton levels are skipped")
        levels = [lv for lv in levels if lv == "reco"]
        if not levels:
            raise EmulatorError("input is data and only particle/parton levels were requested")
    if opts.no_filter:
        log.warn("--no-filter: like runTop_el.py with -t, it is not propagated to the YAML; "
                 "set noFilter: True in EventSelection/EventCleaning instead")

    approximated: list[str] = []
    skipped: list[str] = []
    for lv in levels:
        a, s = classify(cfgs[lv], is_mc=is_mc, dsid=dsid)
        approximated += a
        skipped += s
    for s in skipped:
        log.warn(f"block {s} cannot be emulated and is skipped")
    if opts.strict and skipped:
        raise EmulatorError([f"--strict: block {s} cannot be emulated" for s in skipped])

    gen_weights = generator_weights(facts["n_weights"] if is_mc else 0,
                                    sources[0].weight_names(dsid) if is_mc else None)
    if is_mc and facts["n_weights"] > 1 and not gen_weights.from_metadata:
        log.warn("no generator weight names in the input's MetaData: GEN_ variations are numbered "
                 "GEN_w001... by their index in mcEventWeights")
    analyses = []
    plans = {}
    for lv in levels:
        common = cfgs[lv].first("CommonServices", is_mc=is_mc, dsid=dsid)
        plan = plan_systematics(common, enabled=is_mc and not opts.no_systematics, weights=gen_weights)
        if lv != "reco":
            plan.kinematic = []  # truth levels only carry weight variations
        plans[lv] = plan
        cls = {"reco": RecoLevel, "particle": ParticleLevel, "parton": PartonLevel}[lv]
        analyses.append((lv, cls(cfgs[lv], plan, is_mc=is_mc, dsid=dsid, warn=log.warn), common or {}))

    wanted = sorted({c for _, a, _ in analyses for c in a.columns()} | {
        ("EventInfo", "mcEventWeights"), ("EventInfo", "eventNumber")})
    target = opts.workdir / f"{opts.output_name}.root"
    out = OutputFile(target)
    try:
        # CutBookkeepers: nominal plus every generator-weight variation that is run
        plan_gen = set().union(*(set(p.generator) for p in plans.values()))
        gen_names = [g for g in gen_weights.names() if g in plan_gen] if is_mc else []
        index = dict(gen_weights.variations)
        cbk_columns = [gen_weights.nominal] + [index[g] for g in gen_names]
        cbk = np.zeros((len(cbk_columns), 3), dtype=np.float64)
        cutflows: dict[str, np.ndarray] = {}
        labels: dict[str, list[str]] = {}
        written = {lv: 0 for lv in levels}
        remaining = opts.max_events if opts.max_events >= 0 else None
        total = 0
        for src in sources:
            stop = src.num_entries if remaining is None else min(remaining, src.num_entries)
            print(f"{EVENTLOOP_PREFIX}Processing events 0-{stop} in file {src.name}", flush=True)
            for raw in src.iterate(wanted, step=opts.step, entry_stop=stop):
                n = len(raw[("EventInfo", "eventNumber")])
                total += n
                w = raw.get(("EventInfo", "mcEventWeights"))
                if is_mc and w is not None:
                    padded = leading(w, max(cbk_columns) + 1)[:, cbk_columns].astype(np.float64)
                    cbk[:, 0] += n
                    cbk[:, 1] += padded.sum(axis=0)
                    cbk[:, 2] += (padded * padded).sum(axis=0)
                for lv, analysis, _ in analyses:
                    res = analysis.process(raw)
                    out.write_chunk(analysis.spec.tree, res.branches, res.keep)
                    written[lv] += int(np.count_nonzero(res.keep))
                    for hname, counts in res.cutflows.items():
                        cutflows[hname] = cutflows.get(hname, 0) + counts
                        labels[hname] = res.cutflow_labels[hname]
                    del res
                del raw, w  # keep a single chunk alive while the next one is read
            if remaining is not None:
                remaining -= stop
        # metadata objects
        for lv, _analysis, common in analyses:
            hname = common.get("systematicsHistogram")
            if hname:
                names_ = plans[lv].names
                out.write_labelled_hist(str(hname), names_, [1.0] * len(names_))
        if is_mc and any(a.genlevel for _, a, _ in analyses):
            for i, sysname in enumerate([NOSYS] + gen_names):
                out.write_labelled_hist(f"CutBookkeeper_{dsid}_{facts['run']}_{sysname}",
                                        ["Initial events", "Initial sum of weights",
                                         "Initial sum of weights squared"], cbk[i])
        for hname in sorted(cutflows):
            out.write_labelled_hist(hname, labels[hname], cutflows[hname])
        campaign = CAMPAIGNS.get(facts["run"], "unknown") if is_mc else str(facts["run"])
        out.write_labelled_hist("metadata", ["mc" if is_mc else "data", campaign, str(dsid), "unknown"],
                                [len(sources)] * 4, integer=True)
        marker = {
            "writer": f"topcp_science.emulator {__version__}",
            "statement": "Written by the servicex-topcp TopCPToolkit emulator (topcp-emulate), "
                         "not by TopCPToolkit/AnalysisBase: a preview and test double, not physics.",
            "levels": levels,
            "approximated": approximated,
            "skipped": skipped,
            "warnings": sorted(log.warnings),
            "systematics": {lv: plans[lv].names for lv in levels},
            "events_processed": total,
            "events_written": written,
        }
        out.write_string("topcp_emulator", json.dumps(marker, sort_keys=True, indent=1))
        out.commit()
    except BaseException:
        out.abort()
        raise
    log.info(f"wrote {target.name}: {total} events processed, "
             + ", ".join(f"{analysis.spec.tree}: {written[lv]}" for lv, analysis, _ in analyses))
    return target
