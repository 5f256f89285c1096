"""``AddConfigBlocks``: what the real TextConfig imports and registers before anything else.

athena ``ConfigText._addNewConfigBlocks`` does ``importlib.import_module(modulePath)`` and
``getattr(module, functionName)`` (ModuleNotFoundError / AttributeError otherwise), then
``ConfigFactory.addAlgConfigBlock`` registers ``algName`` before ``pos`` under each of the
``superBlocks`` ("<algName> has already been added", "<pos> does not exist in already added
config blocks", "<superBlock> not added"). A dict instead of a list maps algName -> entry.

The TopCPToolkit module list comes from the schema (``x-topcp-modules``): complete in a release
dump, TopCP 2.19+ (2025-06) in the derived schema, older than the pinned v2.23.0, so there an
unknown module or function is a warning unless it is a near miss of a known name (a typo).
Modules that moved or disappeared (``x-migrations``) get the migration as their fix.
"""

from __future__ import annotations

from typing import Any

from .report import Report
from .schema import near_miss, suggest

RULE_MODULE = "acb-module"
RULE_MOVED = "acb-module-moved"
RULE_FUNCTION = "acb-function"
RULE_REGISTERED = "acb-already-registered"
RULE_POS = "acb-pos"


def entries(value: Any) -> list[tuple[tuple, dict]]:
    """(path, entry) of each AddConfigBlocks entry, for the list and the dict form."""
    if isinstance(value, list):
        return [(("AddConfigBlocks", i), e) for i, e in enumerate(value) if isinstance(e, dict)]
    if isinstance(value, dict):
        return [(("AddConfigBlocks", name), {**e, "algName": name})
                for name, e in value.items() if isinstance(e, dict)]
    return []


def _modules_note(rep: Report) -> str:
    info = rep.schema.topcp_modules
    if info.get("complete"):
        return f"module list of the release dump ({rep.schema.origin})"
    return (f"TopCPToolkit module list of {info.get('source', 'TopCPToolkit')} "
            "(drkevinbarends/TopCPToolkit@7471623, 2025-06-19, 2.19+): older than v2.23.0, "
            "so a name it lacks is only reported as certain when it is a near miss")


def _check_import(rep: Report, path: tuple, module: str, func: str) -> bool:
    """Module and function checks; True when the block's options can be checked."""
    migration = rep.schema.migrations.get("modules", {}).get(module)
    if migration:
        hint = migration["action"]
        rep.add(path + ("modulePath",), f"TopCPToolkit module {module!r} no longer exists: "
                f"it was moved or removed in TopCPToolkit {migration['since']} (the real reader: "
                f"ModuleNotFoundError)", rule=RULE_MOVED, suggestion=hint,
                note=f"migration table: {migration['source']}")
        return False
    info = rep.schema.topcp_modules
    modules: dict[str, list[str]] = info.get("modules", {})
    if not module.startswith("TopCPToolkit."):
        return False
    complete = bool(info.get("complete"))
    if module not in modules:
        target = suggest(module, modules)
        certain = complete or (target is not None and near_miss(module, target))
        rep.add(path + ("modulePath",), f"TopCPToolkit has no module {module!r}"
                + ("" if certain else " in the module list we have"),
                rule=RULE_MODULE, severity="error" if certain else "warning",
                suggestion=f"did you mean {target!r}?" if target else None,
                note=_modules_note(rep))
        return False
    names = modules[module]
    if func not in names:
        target = suggest(func, names)
        certain = complete or (target is not None and near_miss(func, target))
        rep.add(path + ("functionName",), f"module {module!r} defines no {func!r} (the real "
                "reader: AttributeError)" if certain else
                f"module {module!r} defines no {func!r} in the version we have",
                rule=RULE_FUNCTION, severity="error" if certain else "warning",
                suggestion=f"did you mean {target!r}?" if target else None,
                note=_modules_note(rep))
        return False
    return True


def register(data: dict, rep: Report) -> dict[str, dict[str, Any]]:
    """Check the entries; return algName -> {"def", "super", "module", "checked"}."""
    out: dict[str, dict[str, Any]] = {}
    if "AddConfigBlocks" not in data:
        return out
    schema = rep.schema
    order = list(schema.top_level_blocks)
    native = set(order)
    ambiguous = set(schema.doc.get("x-ambiguous-builtins", []))
    for path, entry in entries(data["AddConfigBlocks"]):
        name, func, module = entry.get("algName"), entry.get("functionName"), entry.get("modulePath")
        if not isinstance(name, str):
            continue
        supers = entry.get("superBlocks")
        supers = [supers] if isinstance(supers, str) else (supers or [])
        for i, sup in enumerate(supers):
            if isinstance(sup, str) and sup not in native and sup not in out:
                rep.add(path + ("superBlocks",) + ((i,) if isinstance(entry.get("superBlocks"),
                                                                    list) else ()),
                        f"superBlocks names {sup!r}, which is not a registered block (the real "
                        f"factory raises '{sup} not added')", rule="acb-super-block",
                        suggestion=f"did you mean {t!r}?" if (t := suggest(sup, order)) else None)
        migration = schema.migrations.get("modules", {}).get(module or "")
        if name in native and not supers and name not in ambiguous:
            if migration and migration.get("builtin") == name:
                rep.add(path + ("algName",), f"{name} is built into athena now (since TopCPToolkit "
                        f"{migration['since']}); declaring it again fails with '{name} has "
                        "already been added'", rule=RULE_REGISTERED, suggestion=migration["action"],
                        note=f"migration table: {migration['source']}")
            else:
                rep.add(path + ("algName",), f"block {name!r} is already registered; the real "
                        f"factory raises '{name} has already been added'", rule=RULE_REGISTERED,
                        suggestion="pick another algName, or remove this entry to use the "
                                   "built-in block")
            continue
        if name in out:
            rep.add(path + ("algName",), f"block {name!r} is declared twice in AddConfigBlocks",
                    rule=RULE_REGISTERED)
            continue
        pos = entry.get("pos")
        if isinstance(pos, str) and pos not in order and not supers:
            rep.add(path + ("pos",), f"pos {pos!r} names no block registered before it (the real "
                    f"factory raises '{pos} does not exist in already added config blocks')",
                    rule=RULE_POS, suggestion=(f"did you mean {s!r}?" if (s := suggest(pos, order))
                                               else "use 'Output'"))
        checked = False
        def_name = None
        if isinstance(module, str) and isinstance(func, str):
            checked = _check_import(rep, path, module, func)
            if checked and f"topcp_{func}" in schema.defs:
                def_name = f"topcp_{func}"
        out[name] = {"def": def_name, "super": supers, "module": module, "checked": checked,
                     "path": path}
        order.append(name)
    return out
