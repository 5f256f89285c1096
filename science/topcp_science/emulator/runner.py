"""One emulated runTop_el.py job: configs + input list -> ``<name>.root``.

Reads the input once, chunk by chunk, feeding every requested level (reco, particle,
parton) from the same columns; accumulates CutBookkeepers and cutflows; writes the
metadata histograms and the ``topcp_emulator`` marker; renames the file into place last.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from . import __version__
from .blocks import classify
from .config import load_configs
from .errors import EmulatorError
from .filemeta import read_bookkeepers, read_file_meta
from .inputs import DEFAULT_STEP, open_physlite, read_input_list
from .kinematics import leading
from .reco import RecoLevel, reco_variations
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


def _cutbookkeeper_plan(cfgs, levels, is_mc, dsid, opts, gen_weights) -> tuple[bool, list[tuple[str, int]], int | None]:
    """(write them?, [(systematic, weight index)], runNumber option) from GeneratorLevelAnalysis."""
    for lv in levels:
        block = cfgs[lv].first("GeneratorLevelAnalysis", is_mc=is_mc, dsid=dsid)
        if block is None:
            continue
        if not is_mc or not block.get("saveCutBookkeepers", True):
            return False, [], None
        systematics = block.get("cutBookkeepersSystematics")
        enable = (not opts.no_systematics) if systematics is None else bool(systematics)
        rows = [(NOSYS, 0)] + (list(gen_weights.variations) if enable else [])
        run_option = block.get("runNumber")
        return True, rows, int(run_option) if run_option else None
    return False, [], None


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
    metas = [read_file_meta(src.metadata_tree()) for src in sources]
    meta0 = metas[0]
    if is_mc and meta0.dsid:
        dsid = meta0.dsid
    run_number = meta0.run_numbers[0] if meta0.run_numbers else facts["run"]
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
    block_notes: dict[str, dict[str, str]] = {}
    for lv in levels:
        a, s, notes = classify(cfgs[lv], is_mc=is_mc, dsid=dsid)
        approximated += a
        skipped += s
        block_notes.update(notes)
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
        kinematic = (reco_variations(cfgs[lv], is_mc=is_mc, dsid=dsid, run_number=run_number, warn=log.warn)
                     if lv == "reco" else [])
        has_gen = cfgs[lv].first("GeneratorLevelAnalysis", is_mc=is_mc, dsid=dsid) is not None
        plan = plan_systematics(common, enabled=is_mc and not opts.no_systematics, weights=gen_weights,
                                kinematic=kinematic, generator=has_gen)
        plans[lv] = plan
        if lv == "reco":
            analysis = RecoLevel(cfgs[lv], plan, is_mc=is_mc, dsid=dsid, warn=log.warn, run_number=run_number)
        else:
            cls = {"particle": ParticleLevel, "parton": PartonLevel}[lv]
            analysis = cls(cfgs[lv], plan, is_mc=is_mc, dsid=dsid, warn=log.warn)
        analyses.append((lv, analysis, common or {}))

    wanted = sorted({c for _, a, _ in analyses for c in a.columns()} | {
        ("EventInfo", "mcEventWeights"), ("EventInfo", "eventNumber")})
    target = opts.workdir / f"{opts.output_name}.root"
    write_cbk, cbk_rows, cbk_run = _cutbookkeeper_plan(cfgs, levels, is_mc, dsid, opts, gen_weights)
    if write_cbk:
        for src, m in zip(sources, metas, strict=True):
            if src.metadata_tree() is not None:
                m.bookkeepers = read_bookkeepers(src.metadata_tree(), sorted({i for _, i in cbk_rows}))
    from_metadata = all(m.bookkeepers is not None for m in metas)
    if write_cbk and not from_metadata:
        log.warn("the input's MetaData has no CutBookkeepers (AllExecutedEvents): the CutBookkeeper "
                 "histograms sum the weights of the processed events instead; the release stops here "
                 "('Could not find AllExecutedEvents CutBookkeeper information')")
    out = OutputFile(target)
    try:
        cbk_index = sorted({i for _, i in cbk_rows})
        processed = np.zeros((len(cbk_index), 3), dtype=np.float64)
        cutflows: dict[str, np.ndarray] = {}
        labels: dict[str, list[str]] = {}
        titles: dict[str, str] = {}
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
                if write_cbk and not from_metadata and w is not None and cbk_index:
                    padded = leading(w, max(cbk_index) + 1)[:, cbk_index].astype(np.float64)
                    processed[:, 0] += n
                    processed[:, 1] += padded.sum(axis=0)
                    processed[:, 2] += (padded * padded).sum(axis=0)
                for lv, analysis, _ in analyses:
                    res = analysis.process(raw)
                    out.write_chunk(analysis.spec.tree, res.branches, res.keep)
                    written[lv] += int(np.count_nonzero(res.keep))
                    for hname, counts in res.cutflows.items():
                        cutflows[hname] = cutflows.get(hname, 0) + counts
                        labels[hname] = res.cutflow_labels[hname]
                        titles[hname] = res.cutflow_titles.get(hname, "")
                    del res
                del raw, w  # keep a single chunk alive while the next one is read
            if remaining is not None:
                remaining -= stop
        # metadata objects
        for lv, _analysis, common in analyses:
            hname = common.get("systematicsHistogram")
            if hname:
                names_ = plans[lv].names
                out.write_labelled_hist(str(hname), names_, [0.0] * len(names_), title="systematics")
                if common.get("separateWeightSystematics"):
                    weights_only = [s for s in names_ if WEIGHT_SYSTEMATICS.match(s)]
                    if weights_only:
                        out.write_labelled_hist(f"{hname}OnlyWeights", weights_only, [0.0] * len(weights_only),
                                                title="systematics")
        if write_cbk:
            sums = _bookkeeper_sums(metas, cbk_index, processed, from_metadata, log)
            cbk_dsid = dsid
            for sysname, index in cbk_rows:
                if index not in sums:
                    log.warn(f"CutBookkeepers: no AllExecutedEvents bookkeeper for weight index {index} "
                             f"({sysname}) in the input's MetaData; histogram not written (the release "
                             "stops with std::out_of_range)")
                    continue
                out.write_labelled_hist(f"CutBookkeeper_{cbk_dsid}_{cbk_run or run_number}_{sysname}",
                                        ["Initial events", "Initial sum of weights",
                                         "Initial sum of weights squared"], sums[index],
                                        title="CutBookkeeper Information", low=0.5, high=3.5, entries=3)
        for hname in sorted(cutflows):
            out.write_labelled_hist(hname, labels[hname], cutflows[hname], title=titles.get(hname, ""),
                                    entries=float(np.sum(cutflows[hname])))
        out.write_labelled_hist("metadata", _metadata_labels(is_mc, meta0, facts, dsid, run_number, log),
                                [0, 0, 0, 0], kind="I", title=METADATA_TITLE, entries=0)
        marker = {
            "writer": f"topcp_science.emulator {__version__}",
            "statement": "Written by the servicex-topcp TopCPToolkit emulator (topcp-emulate), "
                         "not by TopCPToolkit/AnalysisBase: a preview and test double, not physics.",
            "levels": levels,
            "approximated": approximated,
            "skipped": skipped,
            "blocks": block_notes,
            "not_emulated": sorted({f"{b}: {note['not_emulated']}" for b, note in block_notes.items()
                                    if note.get("not_emulated")}),
            "warnings": sorted(log.warnings),
            "systematics": {lv: plans[lv].names for lv in levels},
            "systematics_note": SYSTEMATICS_NOTE,
            "cutbookkeepers": "from the input's MetaData (AllExecutedEvents)" if from_metadata
                              else "from the processed events (the input has no CutBookkeepers)",
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


#: CommonServices separateWeightSystematics: the weight-only list's regex (AsgAnalysisConfig).
WEIGHT_SYSTEMATICS = re.compile(
    r"^(GEN_|EL_EFF_|MUON_EFF_|PH_EFF_|TAUS_TRUEHADTAU_EFF_|FT_EFF_|extrapolation_pt_|JET_.*JvtEfficiency_|PRW_).*")
METADATA_TITLE = "Sample metadata:Look at the bin labels:Number of files in this sample"
SYSTEMATICS_NOTE = ("names as the release's CP tools register them for this configuration; the kinematic "
                    "shifts are emulated (fixed relative sizes, every nuisance parameter of a kind shares "
                    "one shift) and scale-factor/efficiency systematics are absent")


def _bookkeeper_sums(metas, cbk_index, processed, from_metadata, log) -> dict[int, np.ndarray]:
    if not from_metadata:
        return {i: processed[k] for k, i in enumerate(cbk_index)}
    sums: dict[int, np.ndarray] = {}
    for m in metas:
        for i, v in (m.bookkeepers or {}).items():
            sums[i] = sums.get(i, 0) + v
    return sums


def _metadata_labels(is_mc: bool, meta, facts: dict, dsid: int, run_number: int, log) -> list[str]:
    """runTop_el.py's metadata bins: data type, campaign (or data year), DSID, e-tag."""
    if not is_mc:
        return ["data", str(run_number), str(dsid), "unavailable"]
    fast = meta.fast_sim
    if fast is None:
        log.warn("metadata: no FileMetaData simFlavour in the input: the data type is written as fullsim")
    data_type = "fastsim" if fast else "fullsim"
    campaign = meta.campaign
    if campaign is None:
        campaign = CAMPAIGNS.get(run_number, "unknown")
        log.warn(f"metadata: no FileMetaData mcCampaign in the input: the campaign is guessed from the run "
                 f"number ({campaign})")
    etag = meta.e_tag
    if etag is None:
        etag = "unknown"
        log.warn("metadata: no FileMetaData amiTag in the input: the e-tag is written as unknown")
    return [data_type, campaign, str(dsid), etag]
