"""``topcp-sx check``: does the config fit the inputs? Metadata against config, before any pod runs.

The expensive TopCP mistakes are not YAML typos (the validator finds those) but a valid config
that does not fit the input: PHYS given where PHYSLITE is expected, MC read as data because the
metadata is missing, AF3 without the fast-sim workaround, trigger chains of another year, PRW
files of another campaign. The release finds them only after the job started, and some it
never reports (a trigger list of the wrong year silently selects nothing). Each check below
follows what the real code does with the input's metadata, cited beside it, and reports the
input file, the metadata value and the config line (``file:line:col``) it conflicts with.

Severity: ``error`` where the release is known to fail or to produce a wrong sample (``run`` and
``deliver`` stop unless ``--skip-check``); ``warning`` where it depends on the release or is
only suspicious (printed, never blocking).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topcp_codegen.validation.loader import LoadedYaml, load_with_positions
from topcp_codegen.validation.paths import format_path

from .configs import UsageError, read_configs
from .physlite_metadata import InputFacts, MetadataError, read_input_facts

#: Every kind of mismatch this module reports (stable ids, shown as ``error[<kind>]``).
KINDS = {
    "not-physlite": "the input is DAOD_PHYS, the service expects PHYSLITE",
    "unsupported-derivation": "the input is neither PHYS nor PHYSLITE",
    "metadata-missing": "no FileMetaData: the release cannot autoconfigure",
    "data-mc": "metadata and events disagree on data vs MC",
    "dsid-mismatch": "FileMetaData mcProcID and EventInfo mcChannelNumber differ",
    "af3-settings": "fast-simulation input without the fast-sim workaround",
    "trigger-year": "no trigger chains for the input's data-taking year",
    "prw-campaign": "PRW/lumicalc files do not cover the input's campaign",
    "campaign-mismatch": "a campaign or run number in the config differs from the input",
    "mc-only-on-data": "MC-only blocks or levels on a data input",
    "dsid-filter": "onlyForDSIDs excludes the input's DSID",
    "unreadable": "the input's metadata could not be read",
}

_OBJECT_BLOCKS = ("Jets", "Electrons", "Muons", "Photons", "TauJets")
_CAMPAIGN_TOKEN = re.compile(r"mc\d\d[a-z]?", re.IGNORECASE)
#: Years for which athena TriggerAnalysisSFConfig.makeTriggerGlobalEffCorrAlg raises when the
#: chain list is empty (stored copy 70420450342); for 2024/2025 it does not check.
_TRIGGER_YEARS_CHECKED = {2015, 2016, 2017, 2018, 2022, 2023}


@dataclass(frozen=True)
class Mismatch:
    """One input-versus-config problem, located in the config like a compiler diagnostic."""

    kind: str
    severity: str  # "error" or "warning"
    input: str
    metadata: str  # the metadata value(s) it rests on, e.g. "FileMetaData mcCampaign 'mc23c'"
    message: str
    config_file: str = ""
    line: int = 0
    column: int = 0
    path: str = ""
    suggestion: str | None = None
    excerpt: str = ""  # the config line itself

    def __str__(self) -> str:
        where = f"{self.config_file}:{self.line}:{self.column}" if self.config_file else self.input
        head = f"{where}: {self.severity}[{self.kind}]: "
        head += f"{self.path}: {self.message}" if self.path else self.message
        head += f" [input {self.input}: {self.metadata}]"
        if self.suggestion:
            head += f" (fix: {self.suggestion})"
        return head

    def render(self) -> str:
        """rustc-style multi-line form: location, the config line with a caret, input, fix."""
        lines = [f"{self.severity}[{self.kind}]: {self.message}"]
        if self.config_file:
            lines.append(f"  --> {self.config_file}:{self.line}:{self.column}"
                         + (f" ({self.path})" if self.path else ""))
            if self.excerpt:
                lines.append(f"   | {self.excerpt}")
                lines.append("   | " + " " * max(self.column - 1, 0) + "^")
        lines.append(f"  = input: {self.input}: {self.metadata}")
        if self.suggestion:
            lines.append(f"  = fix: {self.suggestion}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in (
            "kind", "severity", "input", "metadata", "message", "config_file", "line", "column",
            "path", "suggestion")}


@dataclass
class PreflightReport:
    """Findings for a set of inputs, plus what was read from each input."""

    findings: list[Mismatch] = field(default_factory=list)
    facts: list[InputFacts] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # remote inputs, not read

    @property
    def errors(self) -> list[Mismatch]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Mismatch]:
        return [f for f in self.findings if f.severity == "warning"]

    def to_dict(self) -> dict[str, object]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "inputs": [{"path": x.path, "summary": x.describe(), "years": x.years,
                        "campaign_source": x.campaign_source,
                        "derivation_source": x.derivation_source,
                        "file_metadata": {k: v for k, v in x.file_metadata.items()
                                          if k != "lumiBlocks"}} for x in self.facts],
            "skipped": self.skipped,
        }


class _Config:
    """One level's YAML with positions, and helpers to walk its blocks."""

    def __init__(self, level: str, display: str, loaded: LoadedYaml) -> None:
        self.level = level
        self.display = display
        self.loaded = loaded
        self.data = loaded.data if isinstance(loaded.data, dict) else {}

    def instances(self, block: str) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
        """(path, options) of each instance of ``block`` (a dict or a list of dicts)."""
        value = self.data.get(block)
        if isinstance(value, dict):
            yield (block,), value
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield (block, i), item

    def locate(self, path: tuple[Any, ...]) -> tuple[int, int, str]:
        line, col = self.loaded.position(path, key=True)
        lines = self.loaded.lines
        excerpt = lines[line - 1].rstrip() if 0 < line <= len(lines) else ""
        return line, col, excerpt


class _Checker:
    def __init__(self, configs: list[_Config], facts: InputFacts) -> None:
        self.configs = configs
        self.reco = next((c for c in configs if c.level == "reco"), configs[0] if configs else None)
        self.facts = facts
        self.out: list[Mismatch] = []

    def add(self, kind: str, severity: str, metadata: str, message: str, *,
            config: _Config | None = None, path: tuple[Any, ...] = (),
            suggestion: str | None = None) -> None:
        config = config or self.reco
        if config is None:
            self.out.append(Mismatch(kind, severity, self.facts.path, metadata, message,
                                     suggestion=suggestion))
            return
        line, col, excerpt = config.locate(path)
        self.out.append(Mismatch(kind, severity, self.facts.path, metadata, message,
                                 config.display, line, col, format_path(path), suggestion,
                                 excerpt))

    def first_path(self, *blocks: str) -> tuple[Any, ...]:
        """Path of the first of ``blocks`` present in the reco config (else the file start)."""
        if self.reco is None:
            return ()
        for block in blocks:
            for path, _ in self.reco.instances(block):
                return path
        return ()

    # -- the checks ---------------------------------------------------------------------
    def run(self) -> list[Mismatch]:
        for check in (self.format, self.metadata, self.data_mc, self.fast_sim, self.trigger,
                      self.pileup, self.generator, self.data_only, self.dsid_filter):
            check()
        return self.out

    def format(self) -> None:
        f = self.facts
        if f.derivation == "PHYS":
            self.add("not-physlite", "error", f"{f.derivation_source} (DAOD_PHYS)",
                     "the input is DAOD_PHYS, but this service runs TopCPToolkit on PHYSLITE "
                     "(the science image and emulator read the Analysis* containers; on PHYS "
                     "runTop_el.py would run the full calibrations instead)",
                     path=self.first_path(*_OBJECT_BLOCKS),
                     suggestion="deliver the DAOD_PHYSLITE dataset of this sample (same DSID "
                     "and e/s/r tags)")
        elif f.derivation not in (None, "PHYSLITE"):
            self.add("unsupported-derivation", "error", f.derivation_source,
                     f"the input is DAOD_{f.derivation}: TopCPToolkit supports only PHYS and "
                     "PHYSLITE (docs/faq: 'Which derivation formats are currently supported?'); "
                     "PHYS-oriented blocks fail on other derivations (e.g. SG::ExcBadAuxVar "
                     "DFCommonJets_eventClean_LooseBad in EventCleaning)",
                     path=self.first_path("EventCleaning", *_OBJECT_BLOCKS),
                     suggestion="use the PHYSLITE (or PHYS) derivation of this sample")

    def metadata(self) -> None:
        f = self.facts
        if f.has_metadata:
            return
        guess = f"campaign {f.campaign} {f.campaign_source}" if f.campaign else "no campaign"
        self.add("metadata-missing", "warning", f"no MetaData tree with FileMetaData; {guess}",
                 "runTop_el.py configures itself from FileMetaData (TopCPToolkit "
                 "metaConfig.populate_config_flags: data type, campaign, AMI tag, PHYSLITE flag); "
                 "without it the release stops or treats MC as data, and the GRL then removes "
                 "every event. The emulator reads EventInfo instead, so it still runs",
                 path=self.first_path("GeneratorLevelAnalysis", "PileupReweighting",
                                      "EventCleaning", "CommonServices"),
                 suggestion="use the original DAOD (with its MetaData tree), not a skim that "
                 "dropped it")

    def data_mc(self) -> None:
        f = self.facts
        if f.is_mc_metadata is not None and f.is_mc_events is not None \
                and f.is_mc_metadata != f.is_mc_events:
            said = "MC" if f.is_mc_metadata else "data"
            events = "MC (IS_SIMULATION set)" if f.is_mc_events else "data (IS_SIMULATION unset)"
            fields = ", ".join(f"{k}={f.file_metadata.get(k)!r}" for k in
                               ("simFlavour", "mcProcID", "mcCampaign"))
            self.add("data-mc", "error",
                     f"FileMetaData says {said} ({fields}); EventInfo.eventTypeBitmask of the "
                     f"first event says {events}",
                     f"the release would read this input as {said} (it decides from the "
                     f"metadata) although its events are {events.split(' ')[0]}: "
                     + ("the GRL and data-only settings would run on MC and drop every event"
                        if not f.is_mc_metadata else
                        "MC weights, PRW and truth blocks would run on data"),
                     path=self.first_path("GeneratorLevelAnalysis", "CommonServices"),
                     suggestion="the file's metadata is damaged or from another file; "
                     "re-fetch the DAOD")
        if f.dsid_metadata and f.dsid_events and f.dsid_metadata != f.dsid_events:
            self.add("dsid-mismatch", "warning",
                     f"FileMetaData mcProcID {f.dsid_metadata}, EventInfo mcChannelNumber "
                     f"{f.dsid_events}",
                     "the CutBookkeeper histograms are named after mcProcID (athena "
                     "AsgCutBookkeeperAlg), the events carry another DSID",
                     path=self.first_path("GeneratorLevelAnalysis", "CommonServices"))

    def fast_sim(self) -> None:
        f = self.facts
        if f.sim_kind not in ("AF3", "FastSim") or self.reco is None:
            return
        for block in ("Electrons", "Photons"):
            for path, opts in self.reco.instances(block):
                if opts.get("forceFullSimConfig") is True:
                    continue
                self.add("af3-settings", "warning",
                         f"FileMetaData simFlavour '{f.sim_flavour}' ({f.sim_kind})",
                         f"{block} on a fast-simulation input: releases without AF3 egamma "
                         "recommendations stop with 'Sample is FastSim but no AF3 calibration "
                         "is available yet' (TopCPToolkit docs/faq)",
                         path=path,
                         suggestion=f"set forceFullSimConfig: True in {format_path(path)} "
                         "only where your release has no AF3 recommendations (a workaround, "
                         "not correct for physics)")

    def trigger(self) -> None:
        f = self.facts
        if self.reco is None:
            return
        years = f.years
        for path, opts in self.reco.instances("Trigger"):
            per_year = opts.get("triggerChainsPerYear")
            key = "triggerChainsPerYear"
            if not isinstance(per_year, dict) or not per_year:
                multi = opts.get("multiTriggerChainsPerYear")
                if not isinstance(multi, dict) or not multi:
                    continue
                per_year = {y: 1 for d in multi.values() if isinstance(d, dict) for y in d}
                key = "multiTriggerChainsPerYear"
            configured = sorted({int(y) for y in per_year if str(y).strip().isdigit()})
            where = f"{f.campaign_source or 'run ' + ','.join(map(str, f.run_numbers))}"
            if not years:
                self.add("trigger-year", "warning", f"no campaign or year ({where or 'none'})",
                         "cannot tell the data-taking year of this input; athena raises "
                         "'TriggerAnalysisConfig: unable to deduce data taking year for input "
                         "file' when it cannot either", path=path + (key,))
                continue
            missing = [y for y in years if y not in configured]
            if not missing:
                continue
            checked = [y for y in missing if y in _TRIGGER_YEARS_CHECKED]
            raises = bool(checked) and opts.get("noGlobalTriggerEff") is not True
            shown = ", ".join(map(str, missing))
            meta = (f"{'data year' if f.is_mc is False else 'campaign ' + str(f.campaign)} -> "
                    f"year(s) {', '.join(map(str, years))} ({where})")
            if raises:
                message = (f"no trigger chains for {shown}; the release stops with "
                           f"'TriggerAnalysisConfig: you must provide a set of triggers for the "
                           f"year {checked[0]}!' (athena TriggerAnalysisSFConfig); configured "
                           f"years: {', '.join(map(str, configured))}")
            else:
                message = (f"no trigger chains for {shown}: chains of other years are only "
                           "decorated, so no trigger requirement is applied to this input "
                           "(athena TriggerAnalysisConfig.makeAlgs); configured years: "
                           f"{', '.join(map(str, configured))}")
            self.add("trigger-year", "error" if raises else "warning", meta, message,
                     path=path + (key,),
                     suggestion=f"add the {shown} chains under {key}, e.g. '{missing[0]}': "
                     "[...] from the trigger recommendations for that year")

    def _prw_runs(self, opts: dict[str, Any]) -> bool:
        """Whether PileupReweighting reads its files for this input (athena 2025:
        ``if config.isPhyslite() and not self.alternativeConfig: ... copied from input``)."""
        return self.facts.derivation != "PHYSLITE" or opts.get("alternativeConfig") is True

    def pileup(self) -> None:
        f = self.facts
        if f.is_mc is False or self.reco is None:
            return
        for path, opts in self.reco.instances("PileupReweighting"):
            runs = self._prw_runs(opts)
            severity = "error" if runs else "warning"
            why = ("" if runs else " On PHYSLITE the 2025 athena PileupReweightingBlock copies "
                   "the stored PileupWeight_NOSYS and never reads these files (older releases "
                   "do read them).")
            campaign = f.campaign
            meta = f"campaign {campaign or 'unknown'} ({f.campaign_source or 'not stored'})"
            for option in ("userPileupConfigsPerCampaign", "userLumicalcFilesPerCampaign"):
                per = opts.get(option)
                if not isinstance(per, dict):
                    continue
                if not campaign:
                    self.add("prw-campaign", severity, meta,
                             f"{option} needs the input's campaign and none is known; athena "
                             f"raises '{option} requires campaign to be configured!'." + why,
                             path=path + (option,),
                             suggestion="set PileupReweighting.campaign or use an input with "
                             "FileMetaData")
                elif campaign not in per:
                    self.add("prw-campaign", severity, meta,
                             f"{option} has no entry for {campaign} (keys: "
                             f"{', '.join(map(str, per)) or 'none'}); athena raises "
                             f"KeyError('Unconfigured campaign ... for {option}!')." + why,
                             path=path + (option,),
                             suggestion=f"add a '{campaign}' entry with that campaign's files")
            for option in ("userPileupConfigs", "userLumicalcFiles"):
                files = opts.get(option)
                if not isinstance(files, list) or not campaign:
                    continue
                tokens = {t.lower() for name in files for t in _CAMPAIGN_TOKEN.findall(str(name))}
                if tokens and not any(campaign.startswith(t) for t in tokens):
                    self.add("prw-campaign", severity, meta,
                             f"the {option} files name campaign(s) {', '.join(sorted(tokens))}, "
                             f"the input is {campaign}." + why, path=path + (option,),
                             suggestion=f"give the {campaign} files, or use "
                             "userPileupConfigsPerCampaign")
            explicit = opts.get("campaign")
            if explicit and campaign and str(explicit) != campaign:
                self.add("campaign-mismatch", severity, meta,
                         f"PileupReweighting.campaign is '{explicit}' but the input is "
                         f"{campaign}: PRW would load the {explicit} profile." + why,
                         path=path + ("campaign",),
                         suggestion="drop 'campaign' (the release takes it from the metadata) "
                         f"or set it to '{campaign}'")
            if runs and opts.get("useDefaultConfig") is False and not any(
                    opts.get(o) for o in ("userPileupConfigs", "userPileupConfigsPerCampaign",
                                          "files")):
                self.add("prw-campaign", "warning", meta,
                         "useDefaultConfig: False and no PRW files: athena logs 'No PRW config "
                         "files provided. Disabling reweighting' and writes no weight_pileup",
                         path=path + ("useDefaultConfig",))

    def generator(self) -> None:
        f = self.facts
        if f.is_mc is False or self.reco is None:
            return
        for path, opts in self.reco.instances("GeneratorLevelAnalysis"):
            run = opts.get("runNumber")
            if isinstance(run, int) and f.run_numbers and run not in f.run_numbers:
                self.add("campaign-mismatch", "warning",
                         f"run number(s) {', '.join(map(str, f.run_numbers))}",
                         f"GeneratorLevelAnalysis.runNumber {run} differs from the input: the "
                         f"CutBookkeeper histograms get named CutBookkeeper_<DSID>_{run}_<SYS>",
                         path=path + ("runNumber",),
                         suggestion="drop runNumber (autoconfigured from the metadata)")

    def data_only(self) -> None:
        f = self.facts
        if f.is_mc is not False:
            return
        meta = ("FileMetaData without simFlavour/mcProcID/mcCampaign" if f.has_metadata
                else "EventInfo.eventTypeBitmask without IS_SIMULATION")
        for config in self.configs:
            if config.level in ("particle", "parton"):
                self.add("mc-only-on-data", "warning", meta,
                         f"a {config.level}-level config on a data input: runTop_el.py turns "
                         f"--{config.level} off for data (bin/ab/runTop_el.py), so no "
                         f"{config.level} tree is written", config=config, path=())
                continue
            for block in config.data:
                if block != "GeneratorLevelAnalysis" and not str(block).startswith("PL_"):
                    continue
                for path, opts in config.instances(block):
                    if opts.get("skipOnData") is True:
                        continue
                    self.add("mc-only-on-data", "warning", meta,
                             f"{block} needs MC truth: on data "
                             + ("athena GeneratorAnalysisBlock returns early (no CutBookkeepers, "
                                "no weight_mc)" if block == "GeneratorLevelAnalysis" else
                                "there are no truth containers to read"),
                             config=config, path=path,
                             suggestion="add skipOnData: True to this block")

    def dsid_filter(self) -> None:
        f = self.facts
        dsid = f.dsid
        if f.is_mc is False or not dsid:
            return
        for config in self.configs:
            for block in config.data:
                for path, opts in config.instances(block):
                    wanted = opts.get("onlyForDSIDs")
                    if not isinstance(wanted, list) or not wanted:
                        continue
                    if any(_dsid_matches(w, dsid) for w in wanted):
                        continue
                    self.add("dsid-filter", "warning", f"DSID {dsid}",
                             f"{format_path(path)} has onlyForDSIDs {wanted}: it will not run "
                             f"for this input (DSID {dsid})", config=config,
                             path=path + ("onlyForDSIDs",))


def _dsid_matches(pattern: Any, dsid: int) -> bool:
    text = str(pattern).strip()
    if text == str(dsid):
        return True
    try:
        return re.fullmatch(text, str(dsid)) is not None
    except re.error:
        return False


def load_configs(levels: Mapping[str, Path]) -> list[_Config]:
    """Parse each level's YAML with positions (syntax errors are the validator's job)."""
    texts = read_configs(levels)
    return [_Config(level, str(levels[level]), load_with_positions(text, str(levels[level])))
            for level, text in texts.items()]


def is_local(item: str | Path) -> bool:
    return "://" not in str(item) or str(item).startswith("file://")


def check_facts(configs: list[_Config], facts: InputFacts) -> list[Mismatch]:
    """All mismatches between one input's facts and the configs."""
    return _Checker(configs, facts).run()


def preflight(levels: Mapping[str, Path], inputs: Sequence[str | Path]) -> PreflightReport:
    """Read every local input's metadata and compare it with the configs.

    Remote inputs (``root://``, ``https://``) are listed in ``skipped``: their metadata would
    have to be fetched first. A missing local file is a ``UsageError``; an unreadable one gives
    an ``unreadable`` warning (the run itself reports the failure).
    """
    configs = load_configs(levels)
    report = PreflightReport()
    for item in inputs:
        if not is_local(item):
            report.skipped.append(str(item))
            continue
        local = str(item)[len("file://"):] if str(item).startswith("file://") else str(item)
        if not Path(local).is_file():
            raise UsageError(f"{local}: no such input file")
        try:
            facts = read_input_facts(local)
        except MetadataError as exc:
            report.findings.append(Mismatch("unreadable", "warning", local, "-", str(exc)))
            continue
        report.facts.append(facts)
        report.findings.extend(check_facts(configs, facts))
    return report
