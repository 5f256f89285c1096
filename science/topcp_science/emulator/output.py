"""The Output block: which decorations become which branches, TopCPToolkit's naming rules.

A decoration is registered with a template such as ``pt_%SYS%`` (systematics-dependent) or
``eta`` (not). A branch is ``<prefix><template>`` with ``%SYS%`` replaced by NOSYS or by each
systematic that affects that decoration; non-varying decorations get no suffix unless
``alwaysAddNosys``. ``commands`` (enable/disable/rename regexes, full match on the branch
name) are applied in order afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
class Decorations:
    """Everything a level computed for one chunk, before naming."""

    event: dict[str, Deco] = field(default_factory=dict)  # EventInfo decorations by template
    containers: dict[str, dict[str, Deco]] = field(default_factory=dict)  # container -> template -> Deco
    flat_containers: set[str] = field(default_factory=set)  # one entry per event (MET)
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
    warnings: list[str] = field(default_factory=list)

    def eventinfo_vars(self) -> list[str]:
        return [v.deco for v in self.vars if v.container == "EventInfo"]


def _parse_var(entry: str, where: str) -> VarRequest:
    left, arrow, right = entry.partition("->")
    left, right = left.strip(), right.strip()
    if not arrow or "." not in left or not right:
        raise EmulatorError(f"{where}: '{entry}' should read 'Container.decoration -> branch'")
    cont, _, deco = left.partition(".")
    cont = cont.replace("_%SYS%", "")
    return VarRequest(cont, deco, right)


def parse_output(inst: dict | None, filename: str) -> OutputSpec:
    inst = inst or {}
    reqs = []
    for key in ("vars", "varsOnlyForMC", "metVars", "truthMetVars"):
        for entry in inst.get(key) or []:
            reqs.append(_parse_var(str(entry), f"{filename}: Output.{key}"))
    spec = OutputSpec(
        tree=str(inst.get("treeName", "analysis")),
        containers={str(k): str(v) for k, v in (inst.get("containers") or {}).items()},
        vars=reqs,
        commands=[str(c) for c in inst.get("commands") or []],
        store_flags=bool(inst.get("storeSelectionFlags", True)),
        flag_prefix=str(inst.get("selectionFlagPrefix", "select")),
        always_nosys=bool(inst.get("alwaysAddNosys", False)),
    )
    if inst.get("outputFormat", "TTree") != "TTree":
        spec.warnings.append(
            f"Output.outputFormat {inst.get('outputFormat')} is not emulated: a TTree is written"
        )
    for k in ("containersOnlyForMC",):
        for prefix, cont in (inst.get(k) or {}).items():
            spec.containers[str(prefix)] = str(cont)
    return spec


def _names(prefix: str, template: str, deco: Deco, always_nosys: bool) -> list[tuple[str, str]]:
    """[(branch name, sys key)] for one decoration."""
    if deco.varying:
        return [(prefix + template.replace("%SYS%", s), s) for s in deco.values]
    name = prefix + template + ("_NOSYS" if always_nosys else "")
    return [(name, NOSYS)]


@dataclass
class Branches:
    """Named output for one chunk: flat branches and jagged groups (one counter each)."""

    flat: dict[str, object]
    groups: dict[str, dict[str, object]]  # group key (prefix) -> {branch: jagged}


def assemble(spec: OutputSpec, decos: Decorations, warn) -> Branches:
    flat: dict[str, object] = {}
    groups: dict[str, dict[str, object]] = {}
    for prefix, cont in spec.containers.items():
        if cont == "EventInfo":
            for tmpl, d in decos.event.items():
                for name, s in _names(prefix, tmpl, d, spec.always_nosys):
                    flat[name] = d.values[s]
            continue
        if cont not in decos.containers:
            warn(f"Output.containers: {prefix!r}: container {cont} is not produced by this "
                 "configuration in the emulator; no branches written for it")
            continue
        target = flat if cont in decos.flat_containers else groups.setdefault(prefix, {})
        for tmpl, d in decos.containers[cont].items():
            if not spec.store_flags and d.selection_flag:
                continue
            for name, s in _names(prefix, tmpl, d, spec.always_nosys):
                target[name] = d.values[s]
    for req in spec.vars:
        _add_var(req, spec, decos, flat, groups, warn)
    return _apply_commands(spec, Branches(flat, groups), warn)


def _add_var(req: VarRequest, spec, decos: Decorations, flat, groups, warn) -> None:
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
    cont = decos.containers.get(req.container)
    if cont is None:
        warn(f"Output.vars: container {req.container} is not produced in the emulator; "
             f"'{req.branch}' skipped")
        return
    for tmpl in (req.deco, req.deco.replace("_%SYS%", "") + "_%SYS%"):
        if tmpl in cont:
            d = cont[tmpl]
            dest = flat if req.container in decos.flat_containers else None
            if dest is None:
                prefix = next((p for p, c in spec.containers.items() if c == req.container), req.container)
                dest = groups.setdefault(prefix, {})
            for s, arr in d.values.items():
                dest[req.branch.replace("%SYS%", s)] = arr
            return
    warn(f"Output.vars: {req.container}.{req.deco} is not emulated; '{req.branch}' skipped")


def _apply_commands(spec: OutputSpec, b: Branches, warn) -> Branches:
    enabled = {n: True for n in b.flat} | {n: True for g in b.groups.values() for n in g}
    renames: dict[str, str] = {}
    for raw in spec.commands:
        parts = raw.split()
        optional = bool(parts) and parts[0] == "optional"
        if optional:
            parts = parts[1:]
        if len(parts) < 2 or parts[0] not in ("enable", "disable", "rename"):
            raise EmulatorError(f"Output.commands: '{raw}' should be 'enable RE', 'disable RE' "
                                "or 'rename RE NEW'")
        try:
            pattern = re.compile(parts[1])
        except re.error as exc:
            raise EmulatorError(f"Output.commands: '{raw}': bad regular expression: {exc}") from exc
        hits = [n for n in enabled if pattern.fullmatch(n)]
        if not hits and not optional:
            warn(f"Output.commands: '{raw}' matches no branch (TopCPToolkit raises "
                 "'unknown branch pattern' here on MC)")
        if parts[0] == "rename":
            if len(parts) != 3:
                raise EmulatorError(f"Output.commands: '{raw}' should be 'rename RE NEW'")
            for n in hits:
                renames[n] = pattern.sub(parts[2], n)
        else:
            for n in hits:
                enabled[n] = parts[0] == "enable"

    def final(d: dict) -> dict:
        return {renames.get(n, n): v for n, v in d.items() if enabled[n]}

    groups = {k: final(g) for k, g in b.groups.items()}
    return Branches(final(b.flat), {k: g for k, g in groups.items() if g})
