"""Cross-block checks: 'Container.selection' references and EventSelection regions.

The real reader only finds a dangling ``AnaElectrons.tigth`` deep inside algorithm
scheduling (or never, for unused ones); here every reference must name a container some
block defines and selections defined on it. TopCP's forms: ``Cont``, ``Cont.sel``,
``Cont.sel1&&sel2`` and (Thinning/ObjectCutFlow ``selectionName``) ``sel1||sel2``.
"""

from __future__ import annotations

import re
from typing import Any

from .cuts import OBJECT_COUNTS, check_cuts
from .errors import ConfigError
from .report import Report, instances, subs
from .schema import near_miss, suggest

OBJECT_BLOCKS = ("Electrons", "Muons", "Photons", "TauJets", "DiTauJets", "Jets", "InDetTracks")
PL_BLOCKS = ("PL_Electrons", "PL_Muons", "PL_Neutrinos", "PL_Jets", "PL_Taus", "PL_Photons",
             "PL_MissingET", "PL_Resonances")
#: block -> options holding a 'Container[.selection]' reference.
REFERENCE_OPTIONS = {
    "MissingET": ("jets", "electrons", "muons", "photons", "taus"),
    "OverlapRemoval": ("jets", "electrons", "muons", "photons", "taus", "fatJets"),
    "EventSelection": ("electrons", "muons", "jets", "largeRjets", "photons", "taus", "met"),
    "LeptonSF": ("electrons", "muons", "photons"),
    "Trigger": ("electrons", "muons", "photons", "taus"),
    "PL_OverlapRemoval": ("electrons", "muons", "photons", "jets"),
}
#: EventSelection option -> cut keywords that read it (an unused option is only a warning).
_USED_BY = {
    "electrons": {"EL_N", "SUM_EL_N_MU_N", "SUM_EL_N_MU_N_TAU_N", "MWT", "MET+MWT", "MLL",
                  "MLLWINDOW", "MLL_OSSF", "OS", "SS"},
    "muons": {"MU_N", "SUM_EL_N_MU_N", "SUM_EL_N_MU_N_TAU_N", "MWT", "MET+MWT", "MLL",
              "MLLWINDOW", "MLL_OSSF", "OS", "SS"},
    "jets": {"JET_N", "JET_N_BTAG", "JET_N_GHOST"},
    "largeRjets": {"LJET_N", "LJETMASS_N", "LJETMASSWINDOW_N", "LJET_N_GHOST"},
    "photons": {"PH_N"},
    "taus": {"TAU_N", "SUM_EL_N_MU_N_TAU_N", "OS", "SS"},
    "met": {"MET", "MWT", "MET+MWT"},
}
#: cut keyword -> EventSelection options of which at least one must be set.
_NEEDS = {kw: (opt,) for kw, opt in OBJECT_COUNTS.items() if not kw.startswith("LJET")}
_NEEDS.update({"JET_N_BTAG": ("jets",), "MET": ("met",), "MWT": ("met",), "MET+MWT": ("met",),
               "SUM_EL_N_MU_N": ("electrons", "muons"), "MLL": ("electrons", "muons"),
               "MLLWINDOW": ("electrons", "muons"), "MLL_OSSF": ("electrons", "muons"),
               "OS": ("electrons", "muons", "taus"), "SS": ("electrons", "muons", "taus"),
               "SUM_EL_N_MU_N_TAU_N": ("electrons", "muons", "taus")})
_SPLIT = re.compile(r"&&|\|\|")


def _default(rep: Report, block: str, option: str) -> Any:
    return rep.schema.option(block, option).get("default")


#: Sub-block/block options that name a container the block writes (besides containerName of
#: the object blocks): athena 2025 declarations (facts/options) and TopCP docs (JetReclustering).
PRODUCERS = {
    "JetReclustering": "containerName",
    "Electrons.LRTMerging": "containerName",
    "Muons.LRTMerging": "containerName",
    "Muons.ContainerMerging": "outputMuonLocation",
}
#: Built-in blocks whose options were never read (schema ``x-open``) and that may write
#: containers of their own: with one of them present a missing container is only a warning.
OPAQUE_PRODUCERS = ("ReclusteredJetCalibration",)
#: Jet sub-blocks that add selections we do not model (XbbTagging: its own WP names).
OPAQUE_SELECTIONS = ("XbbTagging",)


class _Defs:
    def __init__(self) -> None:
        self.selections: dict[str, set[str]] = {"EventInfo": set()}
        self.ftag: dict[str, set[tuple[str, str]]] = {}
        #: container -> the ftag_select_* decorations its FlavourTagging entries write
        self.ftag_decos: dict[str, set[str]] = {}
        #: containers whose selections are not all known (a missing one is only a warning)
        self.open_selections: set[str] = set()
        #: a block that may write containers we cannot see is present
        self.opaque = False

    def container(self, name: Any) -> set[str] | None:
        if not isinstance(name, str) or not name:
            return None
        return self.selections.setdefault(name, set())


def collect_definitions(data: dict, dynamic: dict, rep: Report) -> _Defs:
    defs = _Defs()
    for block in OBJECT_BLOCKS:
        for path, inst in instances(data, block):
            sels = defs.container(inst.get("containerName"))
            if sels is None:
                continue
            for _, wp in subs(inst, path, "WorkingPoint"):
                if isinstance(wp.get("selectionName"), str):
                    sels.add(wp["selectionName"])
            for _, pe in subs(inst, path, "PtEtaSelection"):
                if pe.get("selectionName"):
                    sels.add(str(pe["selectionName"]))
            if block == "Jets":
                if inst.get("runJvtSelection", True) is not False or subs(inst, path, "JVT"):
                    sels.add("baselineJvt")
                if inst.get("runFJvtSelection"):
                    sels.add("baselineFJvt")
                for sub in ("JVTWorkingPoint", "FJVTWorkingPoint"):  # 2026 sub-blocks
                    for _, wp in subs(inst, path, sub):
                        if isinstance(wp.get("selectionName"), str) and wp["selectionName"]:
                            sels.add(wp["selectionName"])
                if any(subs(inst, path, sub) for sub in OPAQUE_SELECTIONS):
                    defs.open_selections.add(inst["containerName"])
                for _, ft in subs(inst, path, "FlavourTagging"):
                    tagger = ft.get("btagger", _default(rep, "Jets.FlavourTagging", "btagger"))
                    wp = ft.get("btagWP", _default(rep, "Jets.FlavourTagging", "btagWP"))
                    # athena FTagConfig.makeAlgs (2025): the selection is named selectionName,
                    # or '<btagger>_<btagWP>' when that is empty; its decoration is
                    # 'ftag_select_' + that name
                    own = ft.get("selectionName")
                    name = own if isinstance(own, str) and own else f"{tagger}_{wp}"
                    defs.ftag.setdefault(inst["containerName"], set()).add((str(tagger), str(wp)))
                    defs.ftag_decos.setdefault(inst["containerName"], set()).update(
                        {f"ftag_select_{name}", f"ftag_select_{tagger}_{wp}"})
                    sels.update({f"ftag_select_{tagger}_{wp}", f"{tagger}_{wp}", name})
    for block in PL_BLOCKS:
        for path, inst in instances(data, block):
            # PL_MissingET reads containerName (MET_Truth) and writes outputContainerName
            option = "outputContainerName" if block == "PL_MissingET" else "containerName"
            name = inst.get(option, _default(rep, block, option))
            sels = defs.container(name)
            if sels is None:
                continue
            if inst.get("selectionName"):
                sels.add(str(inst["selectionName"]))
            for _, pe in subs(inst, path, "PtEtaSelection"):
                if pe.get("selectionName"):
                    sels.add(str(pe["selectionName"]))
    for _, inst in instances(data, "PtEtaSelection"):
        sels = defs.container(str(inst.get("containerName", "")).split(".")[0])
        if sels is not None and inst.get("selectionName"):
            sels.add(str(inst["selectionName"]))
    for _, inst in instances(data, "MissingET"):
        defs.container(inst.get("containerName"))
    for producer, option in PRODUCERS.items():
        top, _, sub = producer.partition(".")
        for path, inst in instances(data, top):
            for _, blk in (subs(inst, path, sub) if sub else [(path, inst)]):
                defs.container(blk.get(option, _default(rep, producer, option)))
    defs.opaque = any(name in data for name in OPAQUE_PRODUCERS)
    or_blocks = instances(data, "OverlapRemoval")
    for _, inst in or_blocks:
        # athena OverlapAnalysisConfig: with one OR block and no selectionName the decision is
        # added to every existing selection (no new name); otherwise it defines a selection
        # named selectionName, or outputLabel, or the per-container '<kind>SelectionName'.
        add_all = inst.get("addToAllSelections")
        if add_all is None:
            add_all = len(or_blocks) == 1
        common = inst.get("selectionName")
        if common is None and not add_all:
            common = inst.get("outputLabel", "passesOR")
        for opt in REFERENCE_OPTIONS["OverlapRemoval"]:
            ref = inst.get(opt)
            if not (isinstance(ref, str) and ref):
                continue
            # an input names a container some other block defines; it never defines one
            # itself (a mistyped container must be reported as such, not as a missing
            # selection on a container that "exists" because OverlapRemoval named it)
            sels = defs.selections.get(ref.split(".")[0])
            own = inst.get(f"{opt}SelectionName")
            if own is None:  # makeAlgs: '<kind>SelectionName is not None' else selectionName
                own = common
            if sels is not None and isinstance(own, str) and own:
                sels.add(own)
    histories = [n for n, i in dynamic.items() if i.get("def") == "topcp_truthConfig"]
    if "PartonHistory" in data and "PartonHistory" not in dynamic:
        histories.append("PartonHistory")  # the 2026 athena block, migrated from truthConfig
    for name in histories:
        # TopCPToolkit's truthConfig writes one container per history: PartonHistory<name>.
        for _, inst in instances(data, name):
            for hist in re.split(r"[.,\s]+", str(inst.get("histories", ""))):
                if hist:
                    defs.container(f"PartonHistory{hist}")
    for _, inst in instances(data, "Thinning"):
        source = str(inst.get("containerName", "")).split(".")[0]
        out = inst.get("outputName")
        if isinstance(out, str) and out:
            defs.selections[out] = defs.selections.setdefault(source, set())
    return defs


class _Checker:
    def __init__(self, rep: Report, defs: _Defs, dynamic: dict) -> None:
        self.rep = rep
        self.loaded = rep.loaded
        self.defs = defs
        self.dynamic = dynamic
        self.errors: list[ConfigError] = []

    def add(self, path: tuple, message: str, suggestion: str | None = None,
            severity: str = "error", pos: tuple[int, int] | None = None,
            rule: str = "reference") -> None:
        before = len(self.rep.errors)
        self.rep.add(path, message, rule=rule, severity=severity, suggestion=suggestion, pos=pos)
        self.errors.extend(self.rep.errors[before:])
        del self.rep.errors[before:]

    def line_pos(self, line: int) -> tuple[int, int]:
        return self.rep.line_pos(line)

    def container(self, path: tuple, name: str, *, severity: str = "error",
                  input_ok: bool = False) -> set[str] | None:
        if "%" in name:
            return None
        sels = self.defs.selections.get(name)
        if sels is None and input_ok:
            target = suggest(name, sorted(self.defs.selections))
            self.add(path, f"no block defines the container {name!r}: it must be in the input "
                           "file, since the ntuple maker reads it from there (defined by blocks: "
                           f"{', '.join(sorted(self.defs.selections))})",
                     f"did you mean {target!r}?" if target else None, severity="warning",
                     rule="dangling-container")
        elif sels is None:
            known = sorted(self.defs.selections)
            target = suggest(name, known)
            # Blocks registered through AddConfigBlocks may create containers we cannot see,
            # but a near miss of a defined container is a typo whatever else exists.
            typo = target is not None and near_miss(name, target)
            sev = "warning" if (self.dynamic or self.defs.opaque) and not typo else severity
            self.add(path, f"no block defines the container {name!r} (defined: "
                           f"{', '.join(known)})",
                     f"did you mean {target!r}?" if target else None, severity=sev,
                     rule="dangling-container")
        return sels

    def selections(self, path: tuple, container: str, expr: str, *, bare: bool = False,
                   pos: tuple[int, int] | None = None) -> None:
        """Check each name in 'sel1&&sel2' / 'sel1||sel2'; ``bare``: suggest just the name."""
        sels = self.defs.selections.get(container)
        if sels is None:
            return
        for raw in _SPLIT.split(expr):
            name = raw.split(",")[0].strip().lstrip("!")
            if not name or "%" in name or name in sels:
                continue
            target = suggest(name, sels)
            have = ", ".join(sorted(sels)) or "none"
            # AddConfigBlocks blocks (e.g. SoftMuonSelector) may define selections we cannot
            # see, unless the name is a near miss of a defined one (a typo).
            typo = target is not None and near_miss(name, target)
            unsure = self.dynamic or container in self.defs.open_selections
            self.add(path, f"{container!r} has no selection {name!r} (defined: {have})",
                     severity="warning" if unsure and not typo else "error", pos=pos,
                     rule="dangling-selection",
                     suggestion=(f"did you mean '{target if bare else f'{container}.{target}'}'?"
                                 if target else
                                 "define it with a WorkingPoint or PtEtaSelection selectionName"))

    def reference(self, path: tuple, ref: Any, *, severity: str = "error",
                  input_ok: bool = False) -> None:
        if not isinstance(ref, str) or not ref:
            return
        container, _, expr = ref.partition(".")
        if self.container(path, container, severity=severity,
                          input_ok=input_ok) is not None and expr:
            self.selections(path, container, expr)


def _check_event_selection(chk: _Checker, path: tuple, inst: dict,
                           regions: dict[str, bool]) -> None:
    cuts_dict = inst.get("selectionCutsDict")
    used: set[str] = set()
    _plain_btag = False
    if isinstance(cuts_dict, dict):
        for region, text in cuts_dict.items():
            rpath = path + ("selectionCutsDict", region)
            if not isinstance(text, str):
                chk.add(rpath, f"region {region!r}: cuts must be one string (use '|' for a "
                               "multi-line block)", rule="cut-syntax")
                continue
            line0, _ = chk.loaded.position(rpath)
            # a '|' block scalar's text starts on the line after the indicator
            base = line0 + (1 if rpath in chk.loaded.block_scalars else 0)
            cuts, problems = check_cuts(text)
            for prob in problems:
                chk.add(rpath, f"region {region!r}, cut line {prob.line}: {prob.message}",
                        prob.suggestion, pos=chk.line_pos(base + prob.line - 1), rule="cut-syntax",
                        severity=prob.severity)
            saved = False
            for cut in cuts:
                pos = chk.line_pos(base + cut.line - 1)
                used.add(cut.keyword)
                if cut.keyword == "MLLWINDOW" and cut.values[0] >= cut.values[1]:
                    # DileptonInvariantMassWindowSelectorAlg.cxx (athena 2025, stored copy
                    # 70141886661): in_range = mll > lower && mll < upper, the edges as written
                    low, high = cut.values
                    chk.add(rpath, f"region {region!r}: MLLWINDOW {low:g} {high:g} is an empty "
                                   "window (the selector keeps lower < mll < upper with the numbers "
                                   "as written): " + ("every event passes this veto" if cut.veto
                                                      else "no event passes this cut"),
                            f"write the lower edge first: MLLWINDOW {high:g} {low:g}"
                            + (" veto" if cut.veto else ""),
                            pos=pos, rule="cut-window", severity="warning")
                if cut.keyword == "SAVE":
                    saved = True
                elif cut.keyword == "IMPORT":
                    target = cut.region or ""
                    if target == region:
                        chk.add(rpath, f"region {region!r} imports itself", pos=pos,
                                rule="cut-import")
                    elif target not in regions:
                        later = isinstance(cuts_dict, dict) and target in cuts_dict
                        hint = suggest(target, list(regions) + list(cuts_dict))
                        chk.add(rpath, f"IMPORT of {'a region defined later' if later else 'undefined region'} "
                                       f"{target!r}" + (" (regions run in file order)" if later else ""),
                                f"move {target!r} above {region!r}" if later else
                                (f"did you mean {hint!r}?" if hint else None), pos=pos,
                                rule="cut-import")
                    elif not regions[target]:
                        chk.add(rpath, f"IMPORT {target}: region {target!r} has no SAVE line, so "
                                       "its pass flag is never written", f"add SAVE to {target!r}",
                                pos=pos, rule="cut-import")
                for opt_group in (_NEEDS.get(cut.keyword, ()),):
                    if opt_group and not any(inst.get(o) for o in opt_group):
                        chk.add(rpath, f"{cut.keyword} needs the EventSelection option "
                                       f"{' or '.join(repr(o) for o in opt_group)}", pos=pos,
                                rule="cut-input")
                if cut.selections:
                    kind = OBJECT_COUNTS.get(cut.keyword)
                    if cut.keyword.startswith("SUM_"):
                        opts = ("electrons", "muons", "taus")
                    elif cut.keyword == "JET_N_BTAG":
                        opts = ("jets",)
                    else:
                        opts = (kind,) if kind else ()
                    for opt, sel in zip(opts, cut.selections, strict=False):
                        ref = inst.get(opt)
                        if isinstance(ref, str) and ref:
                            chk.selections(rpath, ref.split(".")[0], sel, bare=True, pos=pos)
                if cut.keyword == "JET_N_BTAG":
                    jets = str(inst.get("jets", "")).split(".")[0]
                    if cut.btag:
                        have = chk.defs.ftag.get(jets, set())
                        if jets in chk.defs.selections and cut.btag not in have:
                            chk.add(rpath, f"no FlavourTagging entry on {jets!r} with btagger "
                                           f"{cut.btag[0]!r} and btagWP {cut.btag[1]!r}",
                                    "add it under Jets.FlavourTagging", pos=pos, rule="cut-btag")
                    else:
                        _plain_btag = True
                    if not cut.btag and not inst.get("btagDecoration"):
                        chk.add(rpath, "JET_N_BTAG without 'btagger:btagWP' needs btagDecoration",
                                pos=pos, rule="cut-btag")
            if not saved and not str(region).startswith("SUB"):
                chk.add(rpath, f"region {region!r} has no SAVE line: its pass flag, which the "
                               "final event filter reads, is never written", "end it with SAVE",
                        rule="cut-save")
            regions[str(region)] = saved
    for opt in REFERENCE_OPTIONS["EventSelection"]:
        if opt in inst:
            needed = bool(_USED_BY[opt] & used)
            chk.reference(path + (opt,), inst[opt], severity="error" if needed else "warning")
    deco = inst.get("btagDecoration")
    if isinstance(deco, str) and deco.startswith("ftag_select_"):
        jets = str(inst.get("jets", "")).split(".")[0]
        have = chk.defs.ftag_decos.get(jets, set())
        if jets in chk.defs.selections and deco not in have:
            target = suggest(deco, have)
            # Only 'JET_N_BTAG' without an explicit tagger reads btagDecoration.
            needed = bool(used & {"JET_N_BTAG"}) and _plain_btag
            chk.add(path + ("btagDecoration",), f"no FlavourTagging entry on {jets!r} writes "
                    f"{deco!r}", f"did you mean {target!r}?" if target else
                    "add the tagger/WP under Jets.FlavourTagging",
                    severity="error" if needed else "warning", rule="cut-btag")


def check_references(data: dict, rep: Report, dynamic: dict) -> list[ConfigError]:
    defs = collect_definitions(data, dynamic, rep)
    chk = _Checker(rep, defs, dynamic)
    for block, opts in REFERENCE_OPTIONS.items():
        if block == "EventSelection":
            continue
        for path, inst in instances(data, block):
            for opt in opts:
                if opt in inst:
                    chk.reference(path + (opt,), inst[opt])
    for block in ("Thinning", "ObjectCutFlow"):
        for path, inst in instances(data, block):
            cont = inst.get("containerName")
            if isinstance(cont, str) and cont:
                chk.reference(path + ("containerName",), cont)
                if isinstance(inst.get("selectionName"), str):
                    chk.selections(path + ("selectionName",), cont.split(".")[0],
                                   inst["selectionName"], bare=True)
    for path, inst in instances(data, "Jets"):
        for spath, sf in subs(inst, path, "FlavourTaggingEventSF"):
            if "containerName" in sf:
                chk.reference(spath + ("containerName",), sf["containerName"])
    regions: dict[str, bool] = {}
    for path, inst in instances(data, "EventSelection"):
        _check_event_selection(chk, path, inst, regions)
    for path, inst in instances(data, "Output"):
        # OutputAnalysisConfig.makeAlgs (2025): config.getOutputVars(container) raises 'unknown
        # container for output' for containers no block registered; the *OnlyForMC options
        # are merged (and so read) on MC only
        for opt in ("containers", "containersOnlyForMC"):
            conts = inst.get(opt)
            if isinstance(conts, dict):
                for prefix, cont in conts.items():
                    if isinstance(cont, str):
                        chk.reference(path + (opt, prefix), cont.split(".")[0],
                                      severity="warning" if opt.endswith("ForMC") else "error")
        for opt in ("vars", "varsOnlyForMC", "metVars", "truthMetVars"):
            entries = inst.get(opt)
            mc_only = opt in ("varsOnlyForMC", "truthMetVars")
            if isinstance(entries, list):
                for i, entry in enumerate(entries):
                    if not isinstance(entry, str):
                        continue
                    if "->" not in entry:
                        # createOutputAlgs sorts the branches by rule.split('->')[1]
                        chk.add(path + (opt, i), f"{entry!r} should read "
                                "'Container.decoration -> branch' (the reader fails sorting the "
                                "branches: rule.split('->')[1])"
                                + (" on MC (data never reads this option)" if mc_only else ""),
                                rule="output-var", severity="warning" if mc_only else "error")
                        continue
                    # the ntuple maker reads these containers from the event store: a
                    # container of the input file (PrimaryVertices, AnalysisJets, ...) is
                    # valid although no block defines it
                    cont = re.sub(r"_(%SYS%|NOSYS)$", "",
                                  entry.split("->")[0].strip().split(".")[0])
                    chk.reference(path + (opt, i), cont, severity="warning", input_ok=True)
        cmds = inst.get("commands")
        if isinstance(cmds, list):
            for i, cmd in enumerate(cmds):
                words = str(cmd).split()
                if words and words[0] == "optional":
                    words = words[1:]
                ok = (len(words) == 2 and words[0] in ("enable", "disable")) or (
                    len(words) == 3 and words[0] == "rename")
                if not ok:
                    chk.add(path + ("commands", i), f"{cmd!r} is not a command: use "
                            "'enable RE', 'disable RE' or 'rename RE NEW' (optionally "
                            "prefixed by 'optional')", rule="output-command")
    return chk.errors
