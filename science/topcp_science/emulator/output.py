"""The Output block: which decorations become which branches, TopCPToolkit's naming rules.

A decoration is registered with a template such as ``pt_%SYS%`` (systematics-dependent) or
``eta`` (not). Each container's output variable is named ``<prefix><template without
_%SYS%>`` (e.g. ``jet_pt``, ``el_select_tight``); its branches add ``_NOSYS`` and one
``_<SYS>`` per systematic that affects it (non-varying ones get no suffix unless
``alwaysAddNosys``). ``Output.commands`` act on those *unsuffixed* names, in order, as
OutputAnalysisConfig does it (athena 2025): ``enable``/``disable`` RE set every output
variable whose name ``re.match``-es RE (a prefix match), ``rename RE NEW`` copies each
matching variable under ``re.sub(RE, NEW, name)`` and disables the original (renames are
merged after all commands); a pattern that matches nothing raises
``KeyError('unknown branch pattern for <command>: RE')`` on MC (not on data) unless the
command starts with ``optional``. Commands apply to the containers' variables only, not
to the explicit ``vars``/``metVars`` entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import jagged as jg
from .config import _dsid_matches
from .errors import EmulatorError
from .systematics import NOSYS


@dataclass
class Deco:
    """One decoration: values per systematic (NOSYS always present)."""

    values: dict[str, object]
    varying: bool
    #: a per-selection summary flag (``<selectionFlagPrefix>_<name>``), dropped by
    #: ``storeSelectionFlags: False``; OR and flavour-tagging flags are plain variables
    selection_flag: bool = False


@dataclass
class ContainerOut:
    """One output container of a chunk: its (thinned) layout and decorations (flat arrays)."""

    layout: jg.Layout
    decos: dict[str, Deco] = field(default_factory=dict)


@dataclass
class Decorations:
    """Everything a level computed for one chunk, before naming."""

    event: dict[str, Deco] = field(default_factory=dict)  # EventInfo decorations by template
    containers: dict[str, ContainerOut] = field(default_factory=dict)
    flat_containers: dict[str, dict[str, Deco]] = field(default_factory=dict)  # one entry per event (MET)
    raw_event: dict[str, object] = field(default_factory=dict)  # EventInfo aux vars read for 'vars'


@dataclass(frozen=True)
class VarRequest:
    container: str
    deco: str
    branch: str


@dataclass
class OutputSpec:
    tree: str
    containers: dict[str, str]
    vars: list[VarRequest]
    commands: list[str]
    store_flags: bool
    flag_prefix: str
    always_nosys: bool
    is_mc: bool = True
    warnings: list[str] = field(default_factory=list)

    def eventinfo_vars(self) -> list[str]:
        return [v.deco for v in self.vars if v.container == "EventInfo"]


def _parse_var(entry: str, where: str) -> VarRequest:
    left, arrow, right = entry.partition("->")
    left, right = left.strip(), right.strip()
    if not arrow or "." not in left or not right:
        raise EmulatorError(f"{where}: '{entry}' should read 'Container.decoration -> branch'")
    cont, _, deco = left.partition(".")
    cont = cont.replace("_%SYS%", "").replace("_NOSYS", "")
    return VarRequest(cont, deco, right.split()[0])


def parse_output(inst: dict | None, filename: str, *, is_mc: bool = True, dsid: int | None = None) -> OutputSpec:
    inst = inst or {}
    reqs = []
    for key in ("vars", "varsOnlyForMC", "metVars", "truthMetVars"):
        if key in ("varsOnlyForMC", "truthMetVars") and not is_mc:
            continue
        for entry in inst.get(key) or []:
            reqs.append(_parse_var(str(entry), f"{filename}: Output.{key}"))
    commands = [str(c) for c in inst.get("commands") or []]
    for dsid_key, extra in (inst.get("commandsOnlyForDSIDs") or {}).items():
        if dsid is not None and _dsid_matches(dsid, [dsid_key]):
            commands += [str(c) for c in extra or []]
    spec = OutputSpec(
        tree=str(inst.get("treeName", "analysis")),
        containers={str(k): str(v) for k, v in (inst.get("containers") or {}).items()},
        vars=reqs,
        commands=commands,
        store_flags=bool(inst.get("storeSelectionFlags", True)),
        flag_prefix=str(inst.get("selectionFlagPrefix", "select")),
        always_nosys=bool(inst.get("alwaysAddNosys", False)),
        is_mc=is_mc,
    )
    if inst.get("outputFormat", "TTree") != "TTree":
        spec.warnings.append(
            f"Output.outputFormat {inst.get('outputFormat')} is not emulated: a TTree is written"
        )
    if is_mc:
        for prefix, cont in (inst.get("containersOnlyForMC") or {}).items():
            spec.containers[str(prefix)] = str(cont)
    return spec


@dataclass
class Branches:
    """Named output for one chunk: flat branches and jagged groups (one counter each)."""

    flat: dict[str, np.ndarray]
    groups: dict[str, tuple[jg.Layout, dict[str, np.ndarray]]]  # prefix -> (layout, {branch: flat})


@dataclass
class OutputVar:
    """One output variable (unsuffixed name) of a container, as commands see it."""

    name: str
    deco: Deco
    group: str | None  # jagged group (prefix) or None for per-event branches
    enabled: bool = True


def _template_base(template: str) -> str:
    return template.replace("_%SYS%", "")


def _branch_names(var: OutputVar, always_nosys: bool) -> list[tuple[str, str]]:
    """[(branch name, systematic key)] for one enabled output variable."""
    if var.deco.varying:
        return [(f"{var.name}_{s}", s) for s in var.deco.values]
    return [(var.name + ("_NOSYS" if always_nosys else ""), NOSYS)]


def container_outputs(spec: OutputSpec, decos: Decorations, warn) -> tuple[list[OutputVar], dict]:
    """The output variables of every ``Output.containers`` entry, and the group layouts."""
    out: list[OutputVar] = []
    layouts: dict[str, jg.Layout] = {}
    for prefix, cont in spec.containers.items():
        if cont == "EventInfo":
            for tmpl, d in decos.event.items():
                out.append(OutputVar(prefix + _template_base(tmpl), d, None))
            continue
        if cont in decos.flat_containers:
            for tmpl, d in decos.flat_containers[cont].items():
                out.append(OutputVar(prefix + _template_base(tmpl), d, None))
            continue
        if cont not in decos.containers:
            warn(f"Output.containers: {prefix!r}: container {cont} is not produced by this "
                 "configuration in the emulator; no branches written for it")
            continue
        c = decos.containers[cont]
        layouts[prefix] = c.layout
        for tmpl, d in c.decos.items():
            if not spec.store_flags and d.selection_flag:
                continue
            out.append(OutputVar(prefix + _template_base(tmpl), d, prefix))
    return out, layouts


def apply_commands(spec: OutputSpec, outputs: list[OutputVar], warn, *, suffixed: set[str]) -> list[OutputVar]:
    """Output.commands on the unsuffixed output variables, as the release applies them."""
    by_name = {v.name: v for v in outputs}
    renamed: dict[str, OutputVar] = {}
    for raw in spec.commands:
        words = raw.split(" ")
        optional = words[0] == "optional"
        if optional:
            words = words[1:]
        verb = words[0] if words else ""
        if verb in ("enable", "disable"):
            if len(words) != 2:
                raise EmulatorError(f"Output.commands: '{raw}': {verb} takes exactly one argument "
                                    f"(the release raises ValueError('{verb} takes exactly one argument: {raw}'))")
        elif verb == "rename":
            if len(words) != 3:
                raise EmulatorError(f"Output.commands: '{raw}': rename takes exactly two arguments "
                                    "(the release raises ValueError); write 'rename RE NEW'")
        else:
            raise EmulatorError(f"Output.commands: '{raw}': unknown command '{verb}' (the release raises "
                                "KeyError); use 'enable RE', 'disable RE' or 'rename RE NEW', optionally "
                                "prefixed with 'optional'")
        try:
            pattern = re.compile(words[1])
        except re.error as exc:
            raise EmulatorError(f"Output.commands: '{raw}': bad regular expression: {exc}") from exc
        hits = [v for name, v in by_name.items() if pattern.match(name)]
        if hits:
            for v in hits:
                if verb == "rename":
                    new = OutputVar(pattern.sub(words[2], v.name), v.deco, v.group, v.enabled)
                    renamed[new.name] = new
                    v.enabled = False
                else:
                    v.enabled = verb == "enable"
            continue
        if optional or not spec.is_mc:
            continue
        near = sorted(n for n in suffixed if pattern.match(n))
        if near or re.search(r"_(NOSYS|%SYS%)", words[1]):
            example = near[0] if near else words[1]
            raise EmulatorError([
                f"Output.commands: '{raw}': TopCPToolkit matches command patterns (re.match) against "
                "the output names without their systematic suffix ('jet_pt', not 'jet_pt_NOSYS'), so "
                f"this pattern matches nothing there (it would match the branch {example}).",
                f"On MC the release stops with KeyError('unknown branch pattern for {verb}: {words[1]}').",
                "Drop the suffix: e.g. 'disable jet_pt' removes jet_pt_NOSYS and every jet_pt_<SYS>.",
            ])
        warn(f"Output.commands: '{raw}' matches no output variable the emulator writes. The release "
             f"raises KeyError('unknown branch pattern for {verb}: {words[1]}') on MC unless the "
             "pattern matches one of its own variables (it also writes scale factors, trigger "
             "decisions and others the emulator does not); add 'optional' if that is intended")
    result = list(by_name.values())
    for name, v in renamed.items():
        by_name.pop(name, None)
        result = [x for x in result if x.name != name] + [v]
    return result


def assemble(spec: OutputSpec, decos: Decorations, warn) -> Branches:
    outputs, layouts = container_outputs(spec, decos, warn)
    suffixed = {b for v in outputs for b, _ in _branch_names(v, spec.always_nosys)}
    outputs = apply_commands(spec, outputs, warn, suffixed=suffixed)
    flat: dict[str, np.ndarray] = {}
    groups: dict[str, tuple[jg.Layout, dict[str, np.ndarray]]] = {}
    for v in outputs:
        if not v.enabled:
            continue
        for name, s in _branch_names(v, spec.always_nosys):
            if v.group is None:
                flat[name] = v.deco.values[s]
            else:
                groups.setdefault(v.group, (layouts[v.group], {}))[1][name] = v.deco.values[s]
    for req in spec.vars:
        _add_var(req, spec, decos, flat, groups, layouts, warn)
    return Branches(flat, groups)


def _add_var(req: VarRequest, spec, decos: Decorations, flat, groups, layouts, warn) -> None:
    if req.container == "EventInfo":
        for tmpl in (req.deco, req.deco + "_%SYS%", req.deco.replace("_%SYS%", "") + "_%SYS%"):
            if tmpl in decos.event:
                d = decos.event[tmpl]
                for s, arr in d.values.items():
                    flat[req.branch.replace("%SYS%", s)] = arr
                return
        if req.deco in decos.raw_event:
            flat[req.branch.replace("%SYS%", NOSYS)] = decos.raw_event[req.deco]
            return
        warn(f"Output.vars: EventInfo.{req.deco} is not in the input nor emulated; skipped")
        return
    if req.container in decos.flat_containers:
        cont_decos = decos.flat_containers[req.container]
        prefix = None
    elif req.container in decos.containers:
        cont_decos = decos.containers[req.container].decos
        prefix = next((p for p, c in spec.containers.items() if c == req.container), None)
    else:
        warn(f"Output.vars: container {req.container} is not produced in the emulator; "
             f"'{req.branch}' skipped")
        return
    for tmpl in (req.deco, req.deco.replace("_%SYS%", "") + "_%SYS%"):
        if tmpl in cont_decos:
            d = cont_decos[tmpl]
            if prefix is None and req.container not in decos.flat_containers:
                warn(f"Output.vars: {req.container} has no Output.containers prefix; '{req.branch}' skipped")
                return
            for s, arr in d.values.items():
                name = req.branch.replace("%SYS%", s)
                if prefix is None:
                    flat[name] = arr
                else:
                    groups.setdefault(prefix, (layouts[prefix], {}))[1][name] = arr
            return
    warn(f"Output.vars: {req.container}.{req.deco} is not emulated; '{req.branch}' skipped")
