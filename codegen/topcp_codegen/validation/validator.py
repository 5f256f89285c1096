"""Check TopCPToolkit level configs the way athena's TextConfig would, but all at once."""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .loader import LoadedYaml, load_with_positions
from .paths import format_path
from .references import check_references
from .schema import (
    RENAMED,
    block_names,
    def_validator,
    describe,
    document_validator,
    load_schema,
    suggest,
    type_fix,
)

SCHEMA_RELEASE: dict[str, str] = {"analysisbase": "25.2.74", "topcptoolkit": "v2.23.0"}

ORDER = {"error": 0, "warning": 1}


class _Report:
    """Collects errors for one file, placing each at its key or value."""

    def __init__(self, loaded: LoadedYaml) -> None:
        self.loaded = loaded
        self.errors: list[ConfigError] = []

    def add(self, path: tuple, message: str, *, suggestion: str | None = None,
            key: bool = False, severity: str = "error") -> None:
        line, col = self.loaded.position(path, key=key)
        self.errors.append(ConfigError(
            file=self.loaded.filename, line=line, column=col, path=format_path(path),
            message=message, severity=severity, suggestion=suggestion))


def _dynamic_blocks(data: dict, rep: _Report) -> dict[str, dict[str, Any]]:
    """AddConfigBlocks entries -> {algName: {"def": $defs name or None, "super": [...]}}."""
    entries = data.get("AddConfigBlocks")
    out: dict[str, dict[str, Any]] = {}
    if entries is None:
        return out
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        return out  # the schema reports the shape
    defs = load_schema()["$defs"]
    native = set(block_names())
    order = list(native)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        name = entry.get("algName")
        func = entry.get("functionName")
        module = entry.get("modulePath")
        if not isinstance(name, str):
            continue
        path = ("AddConfigBlocks", i, "algName")
        supers = entry.get("superBlocks")
        supers = [supers] if isinstance(supers, str) else (supers or [])
        if name in native and not supers:
            rep.add(path, f"block {name!r} is already registered; the real factory raises "
                          f"'{name} has already been added'", suggestion="pick another algName")
            continue
        if name in out:
            rep.add(path, f"block {name!r} is declared twice in AddConfigBlocks")
            continue
        pos = entry.get("pos")
        if isinstance(pos, str) and pos not in order and not supers:
            rep.add(("AddConfigBlocks", i, "pos"),
                    f"pos {pos!r} names no block registered before it",
                    suggestion=(f"did you mean {s!r}?" if (s := suggest(pos, order)) else
                                "use 'Output'"))
        def_name = None
        if isinstance(module, str) and module.startswith("TopCPToolkit.") and isinstance(func, str):
            if f"topcp_{func}" in defs:
                def_name = f"topcp_{func}"
        out[name] = {"def": def_name, "super": supers, "module": module}
        order.append(name)
    return out


def _translate(err: Any, data: Any, rep: _Report, dynamic: dict) -> None:
    path = tuple(err.absolute_path)
    kind = err.validator
    schema = err.schema if isinstance(err.schema, dict) else {}
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        instance = err.instance if isinstance(err.instance, dict) else {}
        where = schema.get("x-block")
        for name in instance:
            if name in schema.get("properties", {}):
                continue
            if not path and name in dynamic:
                continue
            if path and name in dynamic and where in dynamic[name]["super"]:
                continue  # registered as a sub-block of this block (superBlocks)
            target = RENAMED.get(name) if RENAMED.get(name) in allowed else suggest(str(name), allowed)
            hint = f"did you mean {target!r}?" if target else None
            if not path:
                msg = f"unknown block {name!r} (the real reader: 'Unkown block {name} in yaml file')"
                if name in ("PartonHistory", "SpaNet", "KLFitter", "TtbarNNLO", "NuFlows",
                            "JetMatching", "PartonMatch", "SoftMuonSelector", "HyPER",
                            "BoostedJetTaggers", "SpinInputs", "SpinMatrix", "Chi2Reco"):
                    hint = "declare it first in AddConfigBlocks (TopCPToolkit blocks are not built in)"
            else:
                msg = f"unknown option {name!r} for {where}"
            rep.add(path + (name,), msg, suggestion=hint, key=True)
        return
    if kind == "x-pytype":
        expected = err.validator_value
        fix = type_fix(expected, err.instance)
        msg = f"expected {expected}, got {describe(err.instance)}"
        if fix:
            msg += f" ({fix})"
        rep.add(path, msg, suggestion=fix)
        return
    if kind == "type":
        if "x-block" in schema or (isinstance(err.validator_value, list)
                                   and "object" in err.validator_value):
            block = schema.get("x-block") or format_path(path)
            if err.instance is None:
                rep.add(path, f"{block} has no value; write {{}} to run it with default options",
                        suggestion="write {}")
            else:
                rep.add(path, f"{block} must be a mapping of options or a list of mappings, "
                              f"got {describe(err.instance)}")
            return
        rep.add(path, f"expected {err.validator_value}, got {describe(err.instance)}")
        return
    if kind == "enum":
        values = list(err.validator_value)
        target = suggest(str(err.instance), [str(v) for v in values])
        shown = ", ".join(map(str, values[:12])) + (", ..." if len(values) > 12 else "")
        rep.add(path, f"{err.instance!r} is not one of: {shown}",
                suggestion=f"did you mean {target!r}?" if target else None)
        return
    if kind == "required":
        rep.add(path, err.message)
        return
    rep.add(path, err.message)


def _check_file(loaded: LoadedYaml) -> list[ConfigError]:
    rep = _Report(loaded)
    data = loaded.data
    if data is None:
        rep.add((), "the file is empty; a level config needs at least CommonServices and Output")
        return rep.errors
    if not isinstance(data, dict):
        rep.add((), f"a config must be a mapping of block names, got {describe(data)}")
        return rep.errors
    for key in data:
        if not isinstance(key, str):
            rep.add((key,), f"block names are strings, got {describe(key)}", key=True)
    if "include" in data:
        rep.add(("include",), "'include:' is not supported by servicex-topcp: only reco.yaml, "
                "particle.yaml and parton.yaml reach the transformer, so fragments cannot be "
                "found there", suggestion="paste the fragment's blocks into this file", key=True)
    dynamic = _dynamic_blocks(data, rep)
    checked = {k: v for k, v in data.items() if isinstance(k, str) and k not in dynamic}
    for err in document_validator().iter_errors(checked):
        _translate(err, data, rep, dynamic)
    for name, info in dynamic.items():
        if name not in data:
            continue
        value = data[name]
        if info["def"]:
            items = [((name,), value)] if isinstance(value, dict) else (
                [((name, i), v) for i, v in enumerate(value)] if isinstance(value, list) else [])
            for prefix, item in items:
                for err in def_validator(info["def"]).iter_errors(item):
                    err.path.extendleft(reversed(prefix))
                    _translate(err, data, rep, dynamic)
        elif value is None or not isinstance(value, (dict, list)):
            rep.add((name,), f"{name} must be a mapping of options or a list of mappings")
    rep.errors.extend(check_references(data, loaded, dynamic))
    return rep.errors


def validate(texts: dict[str, str], *, release: str | None = None) -> list[ConfigError]:
    """Validate level configs (``{"reco.yaml": text, ...}``); return every problem found.

    ``release`` may name the AnalysisBase release the configs target; only the pinned one
    (:data:`SCHEMA_RELEASE`) has a schema, so any other yields a warning, not a refusal.
    """
    errors: list[ConfigError] = []
    if release and release not in (SCHEMA_RELEASE["analysisbase"],
                                   f"AnalysisBase,{SCHEMA_RELEASE['analysisbase']}"):
        errors.append(ConfigError(
            file="", line=0, column=0, path="", severity="warning",
            message=f"configs checked against AnalysisBase {SCHEMA_RELEASE['analysisbase']} + "
                    f"TopCPToolkit {SCHEMA_RELEASE['topcptoolkit']}, not {release}"))
    for filename, text in texts.items():
        if not isinstance(text, str):
            errors.append(ConfigError(file=filename, line=0, column=0, path="",
                                      message=f"expected YAML text, got {type(text).__name__}"))
            continue
        loaded = load_with_positions(text, filename)
        errors.extend(loaded.errors)
        if any(e.severity == "error" for e in loaded.errors) and loaded.data is None:
            continue
        errors.extend(_check_file(loaded))
    errors.sort(key=lambda e: (e.file, e.line, e.column, ORDER.get(e.severity, 2), e.message))
    unique: list[ConfigError] = []
    for err in errors:
        if not unique or unique[-1] != err:
            unique.append(err)
    return unique
