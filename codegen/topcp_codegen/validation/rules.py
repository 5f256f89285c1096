"""Configure-time checks the real reader applies beyond names and types (schema ``x-rules``).

Each check cites the athena code that raises (facts/rules.yaml, copied into the schema). The
severity follows certainty (docs/schema.md): ``certain`` rules fail on every input and are
errors; ``mc-only`` rules fail on every MC input while data skips the code path, and the
validator cannot know which one the request will read, so they are warnings that say so
(errors with ``strict``).
"""

from __future__ import annotations

import re
from typing import Any

from .report import Report, instances, subs, walk
from .schema import near_miss, suggest

SMALL_R_ONLY = ("jvtWP", "fJvtWP", "runJvtUpdate", "runNNJvtUpdate", "runFJvtUpdate",
                "runJvtSelection", "runFJvtSelection", "runJvtEfficiency", "runFJvtEfficiency",
                "systematicsModelJES", "uncertaintyAnalysisFiles")
LARGE_R_ONLY = ("minPt", "maxPt", "maxEta", "maxRapidity", "minMass", "maxMass", "largeRMass",
                "configFileOverride", "systematicsModelJMS", "systematicsModelJMR",
                "uncertToolConfigPathJMR")


def _rule(rep: Report, rule_id: str) -> dict[str, Any]:
    return rep.schema.rules.get(rule_id, {})


def _note(rep: Report, rule_id: str) -> str | None:
    rule = _rule(rep, rule_id)
    if not rule:
        return None
    return f"{rule.get('source', '')}: {' '.join(str(rule.get('evidence', '')).split())}"


def _severity(rep: Report, rule_id: str) -> str:
    return "error" if _rule(rep, rule_id).get("certainty", "certain") == "certain" else "warning"


def _mc_only_text(rep: Report, inst: dict) -> str:
    return ("fails on every MC input (data skips this code path" +
            (", and this block has skipOnMC" if inst.get("skipOnMC") is True else "") + ")")


def _jets(rep: Report, path: tuple, inst: dict) -> None:
    rule = _rule(rep, "jet-collection")
    if not rule:
        return
    jc = inst.get("jetCollection")
    if jc is None:
        if "jetCollection" not in inst and not _renamed_here(rep, "Jets", inst, "jetCollection"):
            rep.add(path, "Jets needs jetCollection (the 2025 factory: 'jetCollection is required "
                    "for Jets'; the 2026 reader fails on the jet-collection pattern)",
                    rule="required-arg", suggestion="add jetCollection: 'AntiKt4EMPFlowJets'",
                    note=_note(rep, "required-args"))
        return
    if not isinstance(jc, str):
        return  # the type check reports it
    name = jc.split("_BTagging")[0]
    name = rule.get("aliases", {}).get(name, name)
    match = re.match(rule["pattern"], name)
    known = list(rule.get("physlite", {})) + list(rule.get("aliases", {}))
    if name in rule.get("track_jets", []):
        return
    if not match:
        target = suggest(name, known)
        rep.add(path + ("jetCollection",), f"jet collection {jc!r} does not match the pattern the "
                "reader expects (it raises 'Jet collection ... does not match expected pattern!')",
                rule="jet-collection", suggestion=f"did you mean {target!r}?" if target else
                "write e.g. 'AntiKt4EMPFlowJets'", note=_note(rep, "jet-collection"))
        return
    radius, jet_input = int(match.group(1)), match.group(2)
    if radius not in rule.get("radii", [2, 4, 6, 10]):
        rep.add(path + ("jetCollection",), f"jet collection {jc!r} has radius {radius}; the reader "
                "supports 2, 4, 6 and 10 ('Jet collection has an unsupported radius')",
                rule="jet-collection", note=_note(rep, "jet-collection"))
        return
    if radius == 4 and jet_input not in ("EMTopo", "EMPFlow", "HI"):
        rep.add(path + ("jetCollection",), f"R=0.4 jets with input {jet_input!r} are not supported "
                "('Unsupported input type ... for R=0.4 jets!')", rule="jet-collection",
                note=_note(rep, "jet-collection"))
        return
    if name not in rule.get("physlite", {}) and jc not in rule.get("aliases", {}):
        mapped = ", ".join(f"{k} -> {v}" for k, v in rule.get("physlite", {}).items())
        rep.add(path + ("jetCollection",), f"on PHYSLITE only {mapped} are mapped to the stored "
                f"jets; {jc!r} is read as a container of that name, which PHYSLITE does not have",
                rule="jet-collection-physlite", severity="warning",
                suggestion="use 'AntiKt4EMPFlowJets' for PHYSLITE small-R jets",
                note=_note(rep, "jet-collection"))
    _jes(rep, path, inst, radius)
    _reach(rep, path, inst, radius)


def _jes(rep: Report, path: tuple, inst: dict, radius: int) -> None:
    """SmallRJetAnalysisConfig.getUncertaintyToolSettings (2025 and 2026): JES 'All' needs JER
    'All'; a JES *containing* 'Scenario' needs JER 'Simple' and names the config file
    R4_<JES>_SimpleJER.config (e.g. 'SR_Scenario1' is accepted); Global/Category need
    Simple/Full; anything else raises."""
    rule = _rule(rep, "jes-model")
    if radius != 4 or not rule or inst.get("runUncertainties") is False:
        return
    jes = inst.get("systematicsModelJES", "Category")
    jer = inst.get("systematicsModelJER", "Full")
    if not isinstance(jes, str) or not isinstance(jer, str):
        return
    note = _note(rep, "jes-model")
    where = path + (("systematicsModelJES",) if "systematicsModelJES" in inst else ())
    if "Scenario" in jes:
        if jer in ("All", "Full"):
            rep.add(where, f"systematicsModelJES {jes!r} needs systematicsModelJER 'Simple', not "
                    f"{jer!r}; the reader raises 'Invalid uncertainty configuration - Scenario* "
                    "systematicsModelJESs can only be used together with the Simple "
                    "systematicsModelJER'", rule="jes-model",
                    suggestion="set systematicsModelJER: 'Simple'", note=note)
        elif not re.match(rule["pattern"], jes):
            rep.add(where, f"systematicsModelJES {jes!r} makes the reader look for the "
                    f"JetUncertainties config file R4_{jes}_SimpleJER.config; whether the "
                    "release has it is not checked here (Scenario<N> is the documented form)",
                    rule="jes-model", severity="warning", note=note)
        return
    if not re.match(rule["pattern"], jes):
        target = suggest(jes, ["All", "Global", "Category", "Scenario1"])
        rep.add(where, f"systematicsModelJES {jes!r} is not All, Global, Category or a "
                "Scenario; the reader raises 'Invalid combination of systematicsModelJES and "
                "systematicsModelJER settings'", rule="jes-model",
                suggestion=f"did you mean {target!r}?" if target else None, note=note)
        return
    allowed = rule.get("combinations", {}).get(jes, [])
    if jer in ("All", "Full", "Simple") and jer not in allowed:
        rep.add(where, f"systematicsModelJES {jes!r} cannot be combined with systematicsModelJER "
                f"{jer!r} (allowed: {', '.join(allowed)}); the reader raises 'Invalid "
                "combination of systematicsModelJES and systematicsModelJER settings'",
                rule="jes-model", suggestion=f"set systematicsModelJER: '{allowed[0]}'",
                note=note)


def _reach(rep: Report, path: tuple, inst: dict, radius: int) -> None:
    """Options of the other jet flavour: the 2025 reader rejects them, 2026 ignores them."""
    others = LARGE_R_ONLY if radius == 4 else SMALL_R_ONLY if radius == 10 else ()
    kind = "large-R (R=1.0)" if radius == 4 else "small-R (R=0.4)"
    for opt in others:
        if opt in inst:
            hint = None
            if opt in ("minPt", "maxPt", "maxEta", "maxRapidity") and subs(inst, path,
                                                                          "PtEtaSelection"):
                hint = "this option belongs to block Jets.PtEtaSelection: indent it under " \
                       "'PtEtaSelection:'"
            rep.add(path + (opt,), f"{opt} applies to {kind} jets only, not to this R=0.{radius} "
                    "collection: the 2025 reader stops with 'There are options set that are not "
                    "used for Jets', the 2026 one ignores it", rule="option-misplaced",
                    severity="warning", suggestion=hint, key=True,
                    note="athena/JetAnalysisConfig@2025: makeJetAnalysisConfig groups "
                         "PreJetAnalysisConfig with the small-R or the large-R block only")


def _event_selection(rep: Report, path: tuple, inst: dict) -> None:
    cuts = inst.get("selectionCutsDict")
    note = _note(rep, "selection-cuts-dict")
    if cuts is None:
        rep.add(path, "EventSelection needs selectionCutsDict (region -> cuts); without it the "
                "reader fails in makeMultipleEventSelectionConfigs ('NoneType' object has no "
                "attribute 'items')", rule="selection-cuts-dict",
                suggestion="add selectionCutsDict: {'myregion': 'JET_N 25000 >= 1\\nSAVE'}",
                note=note)
        return
    if isinstance(cuts, dict) and not [r for r in cuts if not str(r).startswith("SUB")]:
        rep.add(path + ("selectionCutsDict",), "selectionCutsDict defines no region outside SUB*; "
                "the reader raises 'EventSelectionMerger requires a non-empty list of selection "
                "strings'", rule="selection-cuts-dict", key=True,
                suggestion="add a region whose name does not start with SUB", note=note)


def _ftag_sf(rep: Report, path: tuple, inst: dict) -> None:
    wp = inst.get("btagWP", "Continuous")
    if isinstance(wp, str) and "FixedCut" in wp:
        rep.add(path + ("btagWP",), f"btagWP {wp!r}: FlavourTaggingEventSF {_mc_only_text(rep, inst)}"
                " with 'FTAG calibration is only available for Continuous WP'",
                rule="ftag-sf-continuous", severity=_severity(rep, "ftag-sf-continuous"),
                suggestion="use btagWP: 'Continuous' for the scale factors (keep the FixedCut WP "
                           "under FlavourTagging for the selection)",
                note=_note(rep, "ftag-sf-continuous"))


def _common_services(rep: Report, path: tuple, inst: dict) -> None:
    cats = inst.get("onlySystematicsCategories")
    if not isinstance(cats, list) or inst.get("runSystematics") is False:
        return
    allowed = rep.schema.option("CommonServices", "onlySystematicsCategories").get(
        "x-items-enum", {}).get("values", [])
    if not allowed:
        return
    for i, cat in enumerate(cats):
        if isinstance(cat, str) and cat.lower() in allowed:
            continue
        target = suggest(str(cat), allowed)
        rep.add(path + ("onlySystematicsCategories", i), f"systematics category {cat!r} is not one "
                f"of {', '.join(allowed)}: CommonServices {_mc_only_text(rep, inst)} with "
                "'Invalid systematics category passed to option onlySystematicsCategories'",
                rule="only-systematics-categories",
                severity=_severity(rep, "only-systematics-categories"),
                suggestion=f"did you mean {target!r}?" if target else None,
                note=_note(rep, "only-systematics-categories"))


def _renamed_here(rep: Report, block: str, inst: dict, option: str) -> bool:
    """The instance sets an old name or a misspelling of ``option`` (reported already, as
    removed-option or unknown-option at that key), so "missing" would only repeat it."""
    removed = rep.schema.block(block).get("x-removed", {})
    if any(info.get("to") == option for name, info in removed.items() if name in inst):
        return True
    return any(isinstance(k, str) and near_miss(k, option) for k in inst)


def _electron_wp(rep: Report, path: tuple, inst: dict) -> None:
    wp = inst.get("identificationWP")
    note = _note(rep, "el-id-family")
    if wp is None and _renamed_here(rep, "Electrons.WorkingPoint", inst, "identificationWP"):
        return
    if wp is None:
        rep.add(path, "Electrons.WorkingPoint needs identificationWP; without it the reader fails "
                "in ElectronWorkingPointConfig.makeAlgs ('LH' in None)", rule="wp-required",
                suggestion="add identificationWP: 'TightLH'", note=note)
    elif isinstance(wp, str):
        if not any(k in wp for k in ("LH", "DNN", "SiHit")) and wp != "NoID":
            known = rep.schema.option("Electrons.WorkingPoint", "identificationWP").get(
                "x-enum", {}).get("values", [])
            target = suggest(wp, known)
            rep.add(path + ("identificationWP",), f"identificationWP {wp!r} is not an LH, DNN or "
                    "SiHit working point nor NoID: the reader raises 'Electron ID working point "
                    "... is not recognised!'", rule="el-id-family",
                    suggestion=f"did you mean {target!r}?" if target else None, note=note)
        conv = inst.get("convSelection")
        if conv is not None and wp != "TightLH":
            rep.add(path + ("convSelection",), f"convSelection needs identificationWP 'TightLH', "
                    f"not {wp!r} ('convSelection can only be used with TightLH ID')",
                    rule="el-conv-needs-tight", note=_note(rep, "el-conv-needs-tight"))


def _quality_required(rep: Report, path: tuple, inst: dict, option: str, block: str,
                      rule_id: str) -> None:
    if inst.get(option) is None and not _renamed_here(rep, block, inst, option):
        rep.add(path, f"{block} needs {option}; without it the reader fails while building its "
                "error message", rule="wp-required", suggestion=f"add {option}: 'Tight'",
                note=_note(rep, rule_id))


def _trigger(rep: Report, path: tuple, inst: dict) -> None:
    note = _note(rep, "trigger-exclusive")
    checks = [
        (inst.get("multiTriggerChainsPerYear") and inst.get("triggerChainsPerYear"),
         "multiTriggerChainsPerYear", "multiTriggerChainsPerYear and triggerChainsPerYear cannot "
         "be configured at the same time"),
        (inst.get("prescaleLumiCalcFiles") and inst.get("prescaleLumiCalcFilesPerYear"),
         "prescaleLumiCalcFilesPerYear", "prescaleLumiCalcFiles and prescaleLumiCalcFilesPerYear "
         "cannot be configured at the same time"),
        (inst.get("prescaleIncludeAllYearsPerRun") and not inst.get("prescaleLumiCalcFilesPerYear"),
         "prescaleIncludeAllYearsPerRun", "prescaleIncludeAllYearsPerRun requires "
         "prescaleLumiCalcFilesPerYear to be configured"),
        ((inst.get("prescaleLumiCalcFiles") or inst.get("prescaleLumiCalcFilesPerYear"))
         and not (inst.get("unprescaleData") or inst.get("prescaleMC")),
         "prescaleLumiCalcFiles" if inst.get("prescaleLumiCalcFiles") else
         "prescaleLumiCalcFilesPerYear", "lumicalc files are provided but no trigger prescale "
         "output is configured (set unprescaleData and/or prescaleMC)"),
    ]
    for failed, option, message in checks:
        if failed:
            rep.add(path + (option,), f"the reader raises: {message}", rule="trigger-exclusive",
                    key=True, note=note)
    chains = inst.get("triggerChainsPerYear") or inst.get("multiTriggerChainsPerYear")
    if chains and not inst.get("noGlobalTriggerEff") and not any(
            inst.get(k) for k in ("electrons", "muons", "photons")):
        rep.add(path, "Trigger computes global trigger scale factors, which need electrons, muons "
                "or photons; the reader raises 'at least one object collection must be provided'",
                rule="trigger-needs-objects", suggestion="set electrons/muons/photons, or "
                "noGlobalTriggerEff: True", note=_note(rep, "trigger-needs-objects"))


def _overlap(rep: Report, data: dict) -> None:
    blocks = instances(data, "OverlapRemoval")
    if len(blocks) < 2:
        return
    for path, inst in blocks:
        for kind in ("electrons", "muons", "photons", "taus", "jets", "fatJets"):
            if inst.get(kind) and not inst.get(f"{kind}SelectionName"):
                rep.add(path + (kind,), f"with {len(blocks)} OverlapRemoval blocks each container "
                        f"needs its selection name: set {kind}SelectionName (the reader stops "
                        "with 'More than one OverlapRemoval config scheduled')",
                        rule="overlap-multiple", suggestion=f"add {kind}SelectionName",
                        key=True, note=_note(rep, "overlap-multiple"))


def _required_args(rep: Report, block: str, path: tuple, inst: dict) -> None:
    """Factory/constructor arguments without a default: "<arg> is required for <Block>".

    An error where every factory version read requires the argument, a warning where only
    some do (e.g. Jets.containerName: required by the 2025 factory, defaulted to '' by the
    2026 one). jetCollection is the jet-collection rule's.
    """
    per_source = rep.schema.block(block).get("x-evidence", {}).get("args_required", {})
    if not per_source:
        return
    names = sorted({a for args in per_source.values() for a in args})
    for arg in names:
        if arg in inst or (block == "Jets" and arg == "jetCollection"):
            continue
        if _renamed_here(rep, block, inst, arg):
            continue
        needing = sorted(src for src, args in per_source.items() if arg in args)
        everywhere = len(needing) == len(per_source)
        rep.add(path, f"{block} needs {arg}: the factory raises '{arg} is required for {block}'"
                + ("" if everywhere else f" (in {', '.join(needing)}; not in "
                   f"{', '.join(sorted(set(per_source) - set(needing)))})"),
                rule="required-arg", severity="error" if everywhere else "warning",
                suggestion=f"add {arg}", note=_note(rep, "required-args"))


def check(data: dict, rep: Report) -> None:
    """Every configure-time rule on every built-in block instance of one file."""
    if not rep.schema.rules:
        return
    for block, path, inst in walk(data, rep.schema):
        _required_args(rep, block, path, inst)
        if block == "Jets":
            _jets(rep, path, inst)
        elif block == "EventSelection":
            _event_selection(rep, path, inst)
        elif block == "Jets.FlavourTaggingEventSF":
            _ftag_sf(rep, path, inst)
        elif block == "CommonServices":
            _common_services(rep, path, inst)
        elif block == "Electrons.WorkingPoint":
            _electron_wp(rep, path, inst)
        elif block == "Muons.WorkingPoint":
            _quality_required(rep, path, inst, "quality", block, "mu-quality-required")
        elif block == "Photons.WorkingPoint":
            _quality_required(rep, path, inst, "qualityWP", block, "ph-quality-required")
        elif block == "Trigger":
            _trigger(rep, path, inst)
    _overlap(rep, data)
