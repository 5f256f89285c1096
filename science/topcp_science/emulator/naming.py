"""TopCPToolkit's output naming rules that are not simply ``<prefix><decoration>_<SYS>``.

Each rule follows the athena AnalysisAlgorithmsConfig release pinned by the validator
(``SCHEMA_RELEASE``; the OverlapRemoval options ``forceOROutputFlags``/``InnerDR`` date it)
so that downstream code written against an emulated preview reads a real ntuple
unchanged. Evidence per name: docs/emulator.md, "Names and their evidence".
"""

from __future__ import annotations

from dataclasses import dataclass

#: OverlapRemoval input keys -> the per-container selection-name option.
OR_SELECTION_OPTION = {
    "electrons": "electronsSelectionName",
    "muons": "muonsSelectionName",
    "jets": "jetsSelectionName",
    "photons": "photonsSelectionName",
    "taus": "tausSelectionName",
    "fatJets": "fatJetsSelectionName",
}


@dataclass(frozen=True)
class ORNaming:
    """Where one container's OR decision goes.

    ``target``: the selection the decision is ANDed into ('' = the default selection,
    i.e. every selection of the container). ``standalone``: True when ``target`` is a new
    selection made of the OR decision alone. ``branch``: the output variable (without
    prefix or ``_%SYS%``), or None when athena does not write the decision on its own.
    ``varying``: False with ``nominalOnly``/``nominalOnlyUnifiedSelection`` (noSys).
    """

    target: str
    standalone: bool
    branch: str | None
    varying: bool


def or_naming(cfg: dict, kind: str, existing: set[str], *, n_blocks: int = 1) -> ORNaming:
    """OverlapAnalysisConfig.makeAlgs naming for the container given as ``kind``.

    ``existing``: the container's selection names defined before OR. athena's rules:
    ``selectionName`` set -> target it, generic branch ``select_or_<selectionName>``;
    else ``addToAllSelections`` (None means "only one OR block") -> target '' and
    ``select_or``; else target ``outputLabel`` and ``select_<outputLabel>``. A
    ``<kind>SelectionName`` overrides the target and names the branch
    ``select_<that name>``. The branch is written only with ``forceOROutputFlags`` or
    when the target is a new, standalone selection (enableOutput);
    ``forceOROutputFlagName`` renames it ``select_<name>``.
    """
    output_label = str(cfg.get("outputLabel", "passesOR"))
    add_all = cfg.get("addToAllSelections")
    if add_all is None:
        add_all = n_blocks == 1
    selection_name = cfg.get("selectionName")
    if selection_name is not None:
        target = str(selection_name)
        generic = "select_or_" + target
    elif add_all:
        target, generic = "", "select_or"
    else:
        target, generic = output_label, "select_" + output_label
    own = cfg.get(OR_SELECTION_OPTION.get(kind, ""))
    if own is not None:
        target = str(own)
    standalone = target != "" and target not in existing
    enabled = bool(cfg.get("forceOROutputFlags", False)) or standalone
    branch = None
    if enabled:
        forced = str(cfg.get("forceOROutputFlagName") or "")
        branch = "select_" + forced if forced else ("select_" + str(own) if own else generic)
    nominal_only = bool(cfg.get("nominalOnly", False) or cfg.get("nominalOnlyUnifiedSelection", False))
    return ORNaming(target, standalone, branch, not nominal_only)


def ftag_output_name(key: str) -> str:
    """Internal ``ftag_select_<tagger>_<WP>`` / ``ftag_quantile_<tagger>_Continuous``
    decorations -> FTagAnalysisConfig's output variables ``<tagger>_<WP>_select`` /
    ``<tagger>_Continuous_quantile`` (addOutputVar(..., selectionName + '_select',
    noSys=True)); anything else is returned unchanged."""
    for internal, suffix in (("ftag_select_", "_select"), ("ftag_quantile_", "_quantile")):
        if key.startswith(internal):
            return key[len(internal):] + suffix
    return key


def event_cutflow_name(region: str, sysname: str) -> str:
    """EventSelection ``cutFlowHistograms``: makeEventCutFlowConfig(seq, 'EventInfo',
    selectionName='', postfix=<region>) -> histPattern
    ``'cflow_' + 'EventInfo' + '_' + '' + '_' + region + '_%SYS%'`` (note the double
    underscore)."""
    return f"cflow_EventInfo__{region}_{sysname}"
