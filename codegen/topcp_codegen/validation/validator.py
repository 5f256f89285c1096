"""Check TopCPToolkit level configs the way athena's TextConfig would, but all at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jsonschema.exceptions import ValidationError

from .errors import ConfigError
from .loader import LoadedYaml, load_with_positions
from .paths import format_path
from .references import check_references
from .schema import (
    RENAMED,
    describe,
    load_schema,
    options_def,
    options_validator,
    root_validator,
    subblocks,
    suggest,
    top_level_blocks,
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
    order = list(top_level_blocks())
    native = set(order)
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


def _at(prefix: tuple, errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """Errors of a sub-instance, re-rooted so their path starts at ``prefix``."""
    for err in errors:
        err.path.extendleft(reversed(prefix))
        yield err


def _shape_error(label: str, value: Any, path: tuple) -> ValidationError:
    """A block value that is neither a mapping nor a list (as the ``blk_*`` ``type`` says)."""
    kinds = ["object", "array"]
    err = ValidationError(f"{value!r} is not of type 'object', 'array'", validator="type",
                          validator_value=kinds, instance=value,
                          schema={"type": kinds, "x-block": label})
    err.path.extend(path)
    return err


def _instance_errors(opts: str, label: str, value: Any, path: tuple) -> Iterator[ValidationError]:
    """Schema errors of one block value: a mapping, or a list of mappings, of ``opts`` options.

    Walks the sub-blocks itself, so each instance is checked against its own compiled,
    reference-free options schema (what the ``blk_*`` if/then/else of the document says).
    """
    if isinstance(value, dict):
        items = [(path, value)]
    elif isinstance(value, list):
        items = [(path + (i,), v) for i, v in enumerate(value)]
    else:
        yield _shape_error(label, value, path)
        return
    for where, item in items:
        yield from _at(where, options_validator(opts).iter_errors(item))
        if not isinstance(item, dict):
            continue
        for key, blk in subblocks(opts).items():
            if key in item:
                yield from _block_errors(blk, item[key], where + (key,))


def _block_errors(blk: str, value: Any, path: tuple) -> Iterator[ValidationError]:
    """Schema errors of the value of a registered block or sub-block (a ``blk_*`` def)."""
    label = load_schema()["$defs"][blk]["x-block"]
    yield from _instance_errors(options_def(blk), label, value, path)


def _schema_errors(data: dict, dynamic: dict) -> Iterator[ValidationError]:
    """Every schema finding of one level file, block by block."""
    checked = {k: v for k, v in data.items() if isinstance(k, str) and k not in dynamic}
    yield from root_validator().iter_errors(checked)
    native = top_level_blocks()
    for name, value in checked.items():
        if name in native:
            yield from _block_errors(native[name], value, (name,))
    for name, info in dynamic.items():
        if name not in data:
            continue
        if info["def"]:
            yield from _instance_errors(info["def"], name, data[name], (name,))
        elif not isinstance(data[name], (dict, list)):
            yield _shape_error(name, data[name], (name,))


def _translate(err: ValidationError, rep: _Report, dynamic: dict) -> None:
    """Turn one jsonschema finding into the message the user reads."""
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
    rep.add(path, err.message)  # e.g. AddConfigBlocks entries without modulePath


def _check_file(loaded: LoadedYaml) -> list[ConfigError]:
    rep = _Report(loaded)
    data = loaded.data
    if data is None or data == {}:
        # Empty text, comments only, '{}' and a parsed empty mapping all mean "no blocks":
        # runTop_el.py would schedule nothing and write no ntuple, so refuse them alike.
        rep.add((), "the config has no blocks, so runTop_el.py would run nothing and write no "
                    "ntuple; a level config needs at least CommonServices and Output",
                suggestion="start from TopCPToolkit's exampleTtbarLjets config or leave this "
                           "level out of the query")
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
    for err in _schema_errors(data, dynamic):
        _translate(err, rep, dynamic)
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
