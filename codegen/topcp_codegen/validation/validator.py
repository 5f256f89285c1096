"""Check TopCPToolkit level configs the way athena's TextConfig would, but all at once.

Severity follows certainty (docs/schema.md, "severity"): an **error** only where the real
reader certainly fails (unknown block, an option no declaration of the pinned era has, a type
it refuses, a configure-time check it applies, a dangling reference, a cut it cannot parse); a
**warning** where our data is incomplete, saying what could not be verified. An int for a float
option is accepted silently (the reader converts it). ``strict`` turns warnings into errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import ValidationError

from . import addblocks, rules
from .active import active_schema, default_strict
from .errors import ConfigError
from .loader import LoadedYaml, load_with_positions
from .references import check_references
from .report import Report, walk
from .schema import Schema, describe, near_miss, suggest, type_fix

#: The release the active schema describes (updated in place by ``configure``).
SCHEMA_RELEASE: dict[str, str] = {"analysisbase": "25.2.74", "topcptoolkit": "v2.23.0"}

ORDER = {"error": 0, "warning": 1}
TOPCP_BLOCKS = ("PartonHistory", "SpaNet", "TtbarNNLO", "NuFlows", "JetMatching", "PartonMatch",
                "SoftMuonSelector", "HyPER", "BoostedJetTaggers", "SpinInputs", "SpinMatrix",
                "Chi2Reco", "PL_SoftMuons", "HSTPFilter", "EventShape", "CAR",
                "ToponiumDileptonReconstruction")


def evidence_note(schema: Schema, def_name: str) -> str:
    """Which declarations a block's option list rests on (the ``note`` of a finding)."""
    body = schema.defs.get(def_name, {})
    ev = body.get("x-evidence", {})
    if schema.dumped:
        return f"options read from the release itself ({schema.origin})"
    era = ev.get("era")
    srcs = ", ".join(ev.get("option_sources", [])) or "none"
    if era == "pinned":
        return f"options of {body.get('x-block')}: {srcs} (facts/sources.tsv)"
    if era == "older":
        return (f"options of {body.get('x-block')} were only read in an older version ({srcs}); "
                "the pinned release may declare more")
    if era == "docs":
        return (f"options of {body.get('x-block')} come from TopCPToolkit's docs only ({srcs}); "
                "no declaration was read")
    return f"no declaration of {body.get('x-block')} was read"


def _shape_error(label: str, value: Any, path: tuple) -> ValidationError:
    """A block value that is neither a mapping nor a list (as the ``blk_*`` ``type`` says)."""
    kinds = ["object", "array"]
    err = ValidationError(f"{value!r} is not of type 'object', 'array'", validator="type",
                          validator_value=kinds, instance=value,
                          schema={"type": kinds, "x-block": label})
    err.path.extend(path)
    return err


def _instance_errors(schema: Schema, opts: str, label: str, value: Any,
                     path: tuple) -> Iterator[ValidationError]:
    """Schema errors of one block value: a mapping, or a list of mappings, of ``opts`` options."""
    if isinstance(value, dict):
        items = [(path, value)]
    elif isinstance(value, list):
        items = [(path + (i,), v) for i, v in enumerate(value)]
    else:
        yield _shape_error(label, value, path)
        return
    for where, item in items:
        for err in schema.options_validator(opts).iter_errors(item):
            err.path.extendleft(reversed(where))
            err.x_def = opts  # type: ignore[attr-defined]
            yield err
        if not isinstance(item, dict):
            continue
        for key, blk in schema.subblocks(opts).items():
            if key in item:
                yield from _block_errors(schema, blk, item[key], where + (key,))


def _block_errors(schema: Schema, blk: str, value: Any, path: tuple) -> Iterator[ValidationError]:
    """Schema errors of the value of a registered block or sub-block (a ``blk_*`` def)."""
    label = schema.defs[blk]["x-block"]
    yield from _instance_errors(schema, schema.options_def(blk), label, value, path)


def _schema_errors(data: dict, dynamic: dict, schema: Schema | None = None
                   ) -> Iterator[ValidationError]:
    """Every schema finding of one level file, block by block."""
    schema = schema or active_schema()
    checked = {k: v for k, v in data.items() if isinstance(k, str) and k not in dynamic}
    yield from schema.root_validator.iter_errors(checked)
    native = schema.top_level_blocks
    for name, value in checked.items():
        if name in native:
            yield from _block_errors(schema, native[name], value, (name,))
    for name, info in dynamic.items():
        if name not in data:
            continue
        if info["def"]:
            yield from _instance_errors(schema, info["def"], name, data[name], (name,))
        elif not isinstance(data[name], (dict, list)):
            yield _shape_error(name, data[name], (name,))


def _unknown_name(rep: Report, path: tuple, name: Any, err: ValidationError,
                  dynamic: dict) -> None:
    schema = rep.schema
    props = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
    where = err.schema.get("x-block") if isinstance(err.schema, dict) else None
    def_name = getattr(err, "x_def", None)
    body = schema.defs.get(def_name or "", {})
    allowed = list(props)
    if not path:
        migration = schema.migrations.get("blocks", {}).get(name)
        hint = f"did you mean {t!r}?" if (t := suggest(str(name), allowed)) else None
        if migration:
            hint = f"{migration['action']} (removed in {migration['since']})"
        elif name in TOPCP_BLOCKS:
            hint = "declare it first in AddConfigBlocks (TopCPToolkit blocks are not built in)"
        rep.add((name,), f"unknown block {name!r} (the real reader: 'Unkown block {name} in yaml "
                "file')", rule="unknown-block", suggestion=hint, key=True,
                note="blocks registered by athena ConfigFactory (2025, 2026; facts/registry.tsv)"
                if not schema.dumped else f"blocks of the release dump {schema.origin}")
        return
    removed = body.get("x-removed", {}).get(name) if isinstance(name, str) else None
    certain = body.get("x-check") == "error"
    target = suggest(str(name), allowed)
    if removed:
        to = removed.get("to")
        hint = (f"{name!r} was renamed {to!r}" + (f" (or {removed['also']!r})"
                                                  if removed.get("also") else "")
                if to else removed.get("action") or "remove it")
        sure = removed.get("certain") is True
        rep.add(path + (name,), f"option {name!r} is not declared for {where} any more"
                + (f" (changed in {removed['since']})" if removed.get("since") else
                   f" (declared in {removed.get('source')}, not in the 2025-26 versions)")
                + ("" if sure else "; a release older than that change still accepts it"),
                rule="removed-option", severity="error" if sure else "warning",
                suggestion=f"write {to!r} instead" if to else hint, key=True,
                note=evidence_note(schema, def_name or ""))
        return
    unverified = schema.doc.get("x-unverified-options", {})
    reported = unverified.get(where, {}).get(str(name)) or unverified.get("*", {}).get(str(name))
    if reported:
        rep.add(path + (name,), f"option {name!r} of {where} is reported to exist but no "
                "declaration read has it: it fails if the pinned release lacks it",
                rule="option-unverified", severity="warning", key=True, note=reported)
        return
    hint = f"did you mean {target!r}?" if target else None
    homes = [b for b in schema.option_homes.get(str(name), []) if b != where]
    if homes and not (target and near_miss(str(name), target)):
        parent = err.instance if isinstance(err.instance, dict) else {}
        local = [h for h in homes if h.startswith(f"{where}.") and h.split(".")[-1] in parent]
        if local:
            hint = (f"this option belongs to block {local[0]}: indent it under "
                    f"'{local[0].split('.')[-1]}:'")
        else:
            hint = f"this option belongs to block {' / '.join(sorted(homes)[:3])}"
    if path and name in dynamic and where in dynamic[name]["super"]:
        return
    if not certain and target is not None and near_miss(str(name), target):
        certain = True
    message = f"unknown option {name!r} for {where}"
    if not certain:
        message += " (not declared in the versions read; it may exist in the pinned release)"
    rep.add(path + (name,), message, rule="unknown-option",
            severity="error" if certain else "warning", suggestion=hint, key=True,
            note=evidence_note(schema, def_name or "") + (
                "; TextConfig raises 'There are options set that are not used for "
                f"{where}'" if certain else ""))


def _full_option(rep: Report, err: ValidationError, path: tuple) -> dict[str, Any]:
    """The option's full schema (provenance keys included) for a finding on its value."""
    def_name = getattr(err, "x_def", None)
    if not def_name or not path or not isinstance(path[-1], str):
        return err.schema if isinstance(err.schema, dict) else {}
    return rep.schema.defs.get(def_name, {}).get("properties", {}).get(path[-1], {})


def _no_value(rep: Report, path: tuple, block: str) -> None:
    """``Block:`` with nothing after it (YAML null).

    athena ConfigText.loadConfig's ``merge`` (2025) tests ``blockName in blocks`` for each
    sub-block the block may have: with None that is a TypeError, but a block without
    sub-blocks is never added and silently does not run.
    """
    opts = f"opts_{block}"
    has_subs = opts in rep.schema.defs and bool(rep.schema.subblocks(opts))
    if has_subs:
        rep.add(path, f"{block} has no value: the reader fails on it (TypeError: argument of "
                "type 'NoneType' is not iterable, while looking for its sub-blocks)",
                suggestion="write {} to run it with default options", rule="block-shape",
                note="athena/ConfigText@2025: TextConfig.loadConfig merge()")
    else:
        rep.add(path, f"{block} has no value: the reader skips it silently, so the block does "
                "not run", suggestion="write {} to run it with default options",
                rule="block-shape", severity="warning",
                note="athena/ConfigText@2025: TextConfig.loadConfig merge() adds a block only "
                     "when its value is a non-empty mapping or {}")


def _translate(err: ValidationError, rep: Report, dynamic: dict) -> None:
    """Turn one jsonschema finding into the message the user reads."""
    path = tuple(err.absolute_path)
    kind = err.validator
    schema = err.schema if isinstance(err.schema, dict) else {}
    if kind in ("x-pytype", "enum"):
        schema = _full_option(rep, err, path)
    if kind == "additionalProperties":
        instance = err.instance if isinstance(err.instance, dict) else {}
        for name in instance:
            if name in schema.get("properties", {}):
                continue
            if not path and name in dynamic:
                continue
            _unknown_name(rep, path, name, err, dynamic)
        return
    if kind == "x-pytype":
        expected = err.validator_value
        fix = type_fix(expected, err.instance)
        pinned = schema.get("x-era") in ("pinned", "release")
        msg = f"expected {expected}, got {describe(err.instance)}"
        if fix:
            msg += f" ({fix})"
        rep.add(path, msg, suggestion=fix, rule="type-mismatch",
                severity="error" if pinned else "warning",
                note=schema.get("x-usage") or "athena ConfigBlock.setOptionValue: '<option> "
                     f"for block <B> should be of type <class '{expected}'>' (declared in "
                     f"{', '.join(schema.get('x-seen', []))})")
        return
    if kind == "type":
        if "x-block" in schema or (isinstance(err.validator_value, list)
                                   and "object" in err.validator_value):
            block = schema.get("x-block") or "this block"
            if err.instance is None:
                _no_value(rep, path, block)
            else:
                rep.add(path, f"{block} must be a mapping of options or a list of mappings, "
                              f"got {describe(err.instance)}", rule="block-shape")
            return
        rep.add(path, f"expected {err.validator_value}, got {describe(err.instance)}",
                rule="type-mismatch")
        return
    if kind == "enum":
        values = list(err.validator_value)
        target = suggest(str(err.instance), [str(v) for v in values])
        shown = ", ".join(map(str, values[:12])) + (", ..." if len(values) > 12 else "")
        info = schema.get("x-enum", {})
        mc_only = info.get("mc_only", False)
        rep.add(path, f"{err.instance!r} is not one of: {shown}"
                + (" (checked on MC only: data skips this code path)" if mc_only else ""),
                suggestion=f"did you mean {target!r}?" if target else None, rule="enum-value",
                severity="warning" if mc_only else "error",
                note=f"{info.get('source', '')}: {info.get('evidence', '')}".strip(": ") or None)
        return
    rep.add(path, err.message, rule="schema")  # e.g. AddConfigBlocks entries without modulePath


def _option_checks(data: dict, rep: Report, dynamic: dict) -> None:
    """Per-option checks beyond the schema keywords: None values, open enums, evidence notes."""
    schema = rep.schema
    seen_blocks: set[str] = set()
    for block, path, inst in walk(data, schema):
        body = schema.block(block)
        ev = body.get("x-evidence", {})
        if block not in seen_blocks:
            seen_blocks.add(block)
            registered = ev.get("registered", [])
            if (registered and all(r.endswith("@2026") for r in registered)
                    and block not in schema.doc.get("x-ambiguous-builtins", [])):
                rep.add(path, f"{block} is registered by the 2026 athena factory only, not the "
                        "2025 one: the pinned release may not have it", rule="block-unverified",
                        severity="warning", key=True, note="facts/registry.tsv")
            if body.get("x-open"):
                rep.add(path, f"the options of {block} could not be checked: no declaration was "
                        "read", rule="block-unverified", severity="warning", key=True,
                        note=evidence_note(schema, f"opts_{block}"))
        props = body.get("properties", {})
        for name, value in inst.items():
            prop = props.get(name)
            if not isinstance(prop, dict) or prop.get("x-subblock"):
                continue
            where = path + (name,)
            if value is None and prop.get("x-none") == "error":
                rep.add(where, f"{name} has no value, but the reader refuses None for it ('passed "
                        f"None for setting option {name} with noneAction=error')",
                        rule="none-value", suggestion=f"give {name} a value or remove the line",
                        note="athena ConfigBlock.setOptionValue (2025)")
                continue
            info = prop.get("x-enum")
            if (info and not info.get("closed") and isinstance(value, str)
                    and value not in info["values"]):
                target = suggest(value, info["values"])
                rep.add(where, f"{value!r} is not among the values known for {name} "
                        f"({', '.join(info['values'][:10])}{', ...' if len(info['values']) > 10 else ''});"
                        " it is checked only when the job runs", rule="enum-unverified",
                        severity="warning", suggestion=f"did you mean {target!r}?" if target
                        else None, note=f"{info['source']}: {info['evidence']}")
            seen = prop.get("x-seen", [])
            if (seen and all(s.endswith("@2026") for s in seen) and not schema.dumped
                    and any(not s.endswith("@2026") for s in ev.get("option_sources", []))):
                rep.add(where, f"{name} is declared only in the 2026 athena version of {block}; "
                        "the pinned release may not have it yet", rule="option-unverified",
                        severity="warning", key=True, note=", ".join(seen))
    for name in schema.doc.get("x-ambiguous-builtins", []):
        if name in data and name not in dynamic and name in schema.top_level_blocks:
            rep.add((name,), f"{name} is built into the 2026 athena factory, but TopCPToolkit "
                    "2.19 still declares it through AddConfigBlocks: the pinned release may not "
                    "know it without that declaration", rule="block-unverified",
                    severity="warning", key=True,
                    suggestion="add the AddConfigBlocks entry of TopCPToolkit's examples",
                    note="facts/registry.tsv (2026 factory) vs TopCPToolkit 2.19 example configs")
    for name, info in dynamic.items():
        if name in data and not info["def"]:
            reason = (f"module {info['module']!r} is not a TopCPToolkit module we know"
                      if info.get("module") else "its module is not given")
            rep.add((name,), f"the options of {name} are not checked: {reason}",
                    rule="acb-unchecked", severity="warning", key=True,
                    note="AddConfigBlocks imports the module at run time")


def _check_file(loaded: LoadedYaml, schema: Schema, strict: bool) -> list[ConfigError]:
    rep = Report(loaded, schema, strict=strict)
    data = loaded.data
    if data is None or data == {}:
        # Empty text, comments only, '{}' and a parsed empty mapping all mean "no blocks":
        # runTop_el.py would schedule nothing and write no ntuple, so refuse them alike.
        rep.add((), "the config has no blocks, so runTop_el.py would run nothing and write no "
                    "ntuple; a level config needs at least CommonServices and Output",
                suggestion="start from TopCPToolkit's exampleTtbarLjets config or leave this "
                           "level out of the query", rule="empty-config")
        return rep.errors
    if not isinstance(data, dict):
        rep.add((), f"a config must be a mapping of block names, got {describe(data)}",
                rule="block-shape")
        return rep.errors
    for key in data:
        if not isinstance(key, str):
            rep.add((key,), f"block names are strings, got {describe(key)}", key=True,
                    rule="block-shape")
    if "include" in data:
        # TopCPToolkit mergeYAMLconfig -> athena combineConfigFiles/_find_fragment (2025): a
        # fragment is looked up as given, next to the configs and in $DATAPATH. Only the level
        # files reach the transformer, so a fragment of the user's own is never found there,
        # but one shipped in the science image's DATAPATH is: we cannot tell which.
        rep.add(("include",), "'include:' fragments are not sent with the query: only reco.yaml, "
                "particle.yaml and parton.yaml reach the transformer, so a fragment is found "
                "only if the science image ships it in its DATAPATH (FileNotFoundError "
                "otherwise); the fragments' blocks are not checked",
                suggestion="paste the fragment's blocks into this file", key=True,
                rule="include-unsupported", severity="warning",
                note="athena/ConfigText@2025: combineConfigFiles, _find_fragment")
        rep.incomplete = True
    dynamic = addblocks.register(data, rep)
    for err in _schema_errors(data, dynamic, schema):
        _translate(err, rep, dynamic)
    _option_checks(data, rep, dynamic)
    rules.check(data, rep)
    rep.errors.extend(check_references(data, rep, dynamic))
    return rep.errors


def validate(texts: dict[str, str], *, release: str | None = None, strict: bool | None = None,
             schema: Schema | None = None) -> list[ConfigError]:
    """Validate level configs (``{"reco.yaml": text, ...}``); return every problem found.

    ``release`` may name the AnalysisBase release the configs target; only the schema's own
    release is checked exactly, any other yields a warning, not a refusal. ``strict`` (default:
    the configured one, see :func:`~.active.configure`) reports warnings as errors. ``schema``
    overrides the active schema (e.g. a release dump loaded with ``Schema.from_file``).
    """
    schema = schema or active_schema()
    strict = default_strict() if strict is None else strict
    errors: list[ConfigError] = []
    pinned = schema.release.get("analysisbase", "")
    if release and release not in (pinned, f"AnalysisBase,{pinned}"):
        errors.append(ConfigError(
            file="", line=0, column=0, path="", severity="warning", rule="release-mismatch",
            message=f"configs checked against AnalysisBase {pinned} + TopCPToolkit "
                    f"{schema.release.get('topcptoolkit', '?')}, not {release}"))
    for filename, text in texts.items():
        if not isinstance(text, str):
            errors.append(ConfigError(file=filename, line=0, column=0, path="", rule="input",
                                      message=f"expected YAML text, got {type(text).__name__}"))
            continue
        loaded = load_with_positions(text, filename)
        errors.extend(loaded.errors)
        if any(e.severity == "error" for e in loaded.errors) and loaded.data is None:
            continue
        errors.extend(_check_file(loaded, schema, strict))
    errors.sort(key=lambda e: (e.file, e.line, e.column, ORDER.get(e.severity, 2), e.message))
    unique: list[ConfigError] = []
    for err in errors:
        if not unique or unique[-1] != err:
            unique.append(err)
    return unique
