#!/usr/bin/env python3
"""Dump the config schema of the AnalysisBase + TopCPToolkit release this runs in.

Why: the derived schema (derive_schema.py) rests on athena files of dates around the pinned
release; the release itself is the exact truth. Run inside the science image (the release set
up, TopCPToolkit on PYTHONPATH), this builds the real ``TextConfig`` (and so the real
``ConfigFactory`` registry), walks every registered block and sub-block, builds each through
its own ``FactoryBlock.makeConfig`` (the factory's introspection of constructor/factory
arguments), reads ``ConfigSequence.getOptions()`` (name, type, default, required, noneAction;
the last block plus the blocks of its group, i.e. what a YAML key can reach) and lists the
TopCPToolkit modules ``AddConfigBlocks`` can import. It writes a schema in the format of
``topcp-schema.json`` marked as a release dump, so the codegen validates against exactly the
release its science image runs (``TOPCP_SCHEMA_FILE``, docs/schema.md).

What getOptions() cannot say (configure-time rules, enums enforced by code, migrations, and
types of options declared ``type=None`` but used as dicts) is carried over from ``--base``
(the packaged schema), for the options the release still declares.

    source /release_setup.sh; source /TopCPToolkit/build/*/setup.sh
    python3 dump_release_schema.py --base topcp-schema.json --out /topcp-schema.json \\
        --topcptoolkit v2.23.0

Standard library only (it runs in the release's Python). Modelled on iTopCPToolkit's
backend/introspect.py, which reads getOptions() the same way for its GUI.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import itertools
import json
import os
import pkgutil
import sys
import traceback
from pathlib import Path
from typing import Any

JSON_TYPES = {"str": "string", "bool": "boolean", "int": "integer", "float": "number",
              "list": "array", "dict": "object"}
#: Values for factory arguments without default, per name, so a block can be built once per
#: variant (Jets: small-R and large-R reach different option blocks); others get ''.
PROBE_VALUES: dict[str, list[Any]] = {
    "jetCollection": ["AntiKt4EMPFlowJets", "AntiKt10UFOCSSKSoftDropBeta100Zcut10Jets"],
    "containerName": ["ProbeContainer"],
}
#: Optional arguments some factories cannot run without (they iterate them).
PROBE_OPTIONAL: dict[str, Any] = {"selectionCutsDict": {"probe": "SAVE"}}
SKIP = {"self", "seq", "kwargs", "args"}


def _type_name(value: Any) -> str | None:
    if value is None:
        return None
    name = getattr(value, "__name__", str(value))
    return name if name in JSON_TYPES else None


def _jsonable(value: Any) -> tuple[bool, Any]:
    try:
        json.dumps(value)
        return True, value
    except (TypeError, ValueError):
        return False, None


def _params(alg: Any) -> tuple[list[str], dict[str, Any]]:
    target = alg.__init__ if inspect.isclass(alg) else alg
    params = inspect.signature(target).parameters
    names = [n for n in params if n != "self"]
    defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    return names, defaults


def probe_block(block: Any) -> dict[str, Any]:
    """Build one registered block through its FactoryBlock; merge the options of every variant."""
    names, defaults = _params(block.alg)
    given = block.defaults or {}
    required = [n for n in names if n not in SKIP and n not in defaults and n not in given]
    options: dict[str, dict[str, Any]] = {}
    accepted: set[str] = set()
    problems: list[str] = []
    choices = [PROBE_VALUES.get(n, [""]) for n in required]
    for combo in itertools.product(*choices):
        values = dict(zip(required, combo, strict=True))
        for extra in ({}, PROBE_OPTIONAL):
            try:
                seq, func_options = block.makeConfig({**extra, **values})
            except Exception as exc:  # a block that cannot be built this way: try the next
                problems.append(f"{type(exc).__name__}: {str(exc)[:160]}")
                continue
            accepted |= {a for a in func_options if a not in SKIP}
            blocks = getattr(seq, "_blocks", None)
            for opt in seq.getOptions() if blocks else []:
                entry = options.setdefault(opt["name"], {"types": set(), "default": None,
                                                          "required": False, "none": set()})
                entry["types"].add(_type_name(opt["type"]))
                ok, default = _jsonable(opt["defaultValue"])
                if ok and entry["default"] is None:
                    entry["default"] = default
                entry["required"] = entry["required"] or bool(opt["required"])
                entry["none"].add(opt["noneAction"])
            break
    return {"options": options, "args": sorted(accepted), "required_args": required,
            "problems": [] if options or accepted else sorted(set(problems))}


def _option_schema(entry: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    types = entry["types"] - {None}
    out: dict[str, Any] = {}
    pytype = next(iter(types)) if len(types) == 1 and None not in entry["types"] else None
    if pytype is None and base.get("x-usage"):
        pytype = base.get("x-pytype")
        out["x-usage"] = base["x-usage"]
    if pytype:
        out["type"] = JSON_TYPES[pytype]
        out["x-pytype"] = pytype
    out["default"] = entry["default"]
    for key in ("enum", "x-enum", "x-items-enum"):
        if key in base:
            out[key] = base[key]
    out["x-era"] = "release"
    out["x-seen"] = ["release"]
    if "error" in entry["none"]:
        out["x-none"] = "error"
    if entry["required"]:
        out["x-required"] = True
    return out


def _defs_for(path: str, probed: dict[str, Any], subs: list[str],
              base_defs: dict[str, Any]) -> dict[str, Any]:
    base_props = base_defs.get(f"opts_{path}", {}).get("properties", {})
    props = {}
    for name, entry in sorted(probed["options"].items()):
        props[name] = _option_schema(entry, base_props.get(name, {}))
    for name in probed["args"]:
        props.setdefault(name, {"default": None, "x-era": "release", "x-seen": ["release"],
                                "x-arg": True})
    for sub in sorted(subs):
        props[sub] = {"$ref": f"#/$defs/blk_{path}.{sub}", "x-subblock": True}
    open_block = bool(probed["problems"])
    return {
        f"opts_{path}": {
            "type": "object", "x-block": path, "x-open": open_block,
            "x-check": "warning" if open_block else "error",
            "x-evidence": {"registered": ["release"], "option_sources": ["release"],
                           "era": None if open_block else "release", "complete": not open_block,
                           "args_required": {"release": probed["required_args"]},
                           "problems": probed["problems"]},
            "x-removed": base_defs.get(f"opts_{path}", {}).get("x-removed", {}) and {
                k: v for k, v in base_defs[f"opts_{path}"]["x-removed"].items()
                if k not in props},
            "properties": props, "additionalProperties": open_block,
        },
        f"blk_{path}": {
            "x-block": path, "type": ["object", "array"], "if": {"type": "object"},
            "then": {"$ref": f"#/$defs/opts_{path}"},
            "else": {"items": {"$ref": f"#/$defs/opts_{path}"}},
        },
    }


def topcp_modules() -> tuple[dict[str, list[str]], dict[str, Any]]:
    """TopCPToolkit.<module> -> importable names, and their ConfigBlock classes."""
    try:
        package = importlib.import_module("TopCPToolkit")
    except ImportError:
        return {}, {}
    modules: dict[str, list[str]] = {}
    blocks: dict[str, Any] = {}
    base = importlib.import_module("AnalysisAlgorithmsConfig.ConfigBlock").ConfigBlock
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        name = f"TopCPToolkit.{info.name}"
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # a module that fails to import fails in the reader too
            print(f"dump: cannot import {name}: {exc}", file=sys.stderr)
            continue
        modules[name] = sorted(n for n in dir(module) if not n.startswith("_"))
        for attr in modules[name]:
            obj = getattr(module, attr)
            if inspect.isclass(obj) and issubclass(obj, base) and obj.__module__ == name:
                blocks[attr] = obj
    return modules, blocks


def dump(base: dict[str, Any], release: dict[str, str]) -> dict[str, Any]:
    from AnalysisAlgorithmsConfig.ConfigFactory import FactoryBlock
    from AnalysisAlgorithmsConfig.ConfigText import TextConfig

    config = TextConfig()
    root = config.ROOTNAME
    base_defs = base.get("$defs", {})
    defs: dict[str, Any] = {}
    top = [n for n in config._order[root] if n != "AddConfigBlocks"]
    for name in top:
        block = config._algs[name]
        subs = [s for s in config._order.get(name, []) if s in block.subAlgs]
        defs.update(_defs_for(name, probe_block(block), subs, base_defs))
        for sub in subs:
            defs.update(_defs_for(f"{name}.{sub}", probe_block(block.subAlgs[sub]), [], base_defs))
    modules, blocks = topcp_modules()
    for cls_name, cls in sorted(blocks.items()):
        probed = probe_block(FactoryBlock(cls, cls_name, [], None))
        body = _defs_for(cls_name, probed, [], {})[f"opts_{cls_name}"]
        body["x-block"] = cls_name
        defs[f"topcp_{cls_name}"] = body
    props = {name: {"$ref": f"#/$defs/blk_{name}"} for name in top}
    for key in ("AddConfigBlocks", "include"):
        props[key] = base["properties"][key]
    return {
        "$schema": base["$schema"], "$id": base["$id"], "title": base["title"], "type": "object",
        "x-release": release,
        "x-derivation": {
            "kind": "release-dump",
            "generated-by": "codegen/schema-tools/dump_release_schema.py",
            "note": "options, types, defaults, registrations and the TopCPToolkit module list "
                    "read from the release itself; rules, enums and migrations from the "
                    "packaged schema",
            "base": base.get("x-derivation", {}).get("generated-by"),
        },
        "x-block-order": top,
        "x-ambiguous-builtins": [],
        "x-rules": base.get("x-rules", {}),
        "x-migrations": base.get("x-migrations", {}),
        "x-topcp-modules": {"source": "release", "complete": True, "modules": modules},
        "properties": props,
        "additionalProperties": False,
        "$defs": dict(sorted(defs.items())),
    }


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    default_base = here.parent / "topcp_codegen" / "validation" / "topcp-schema.json"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=default_base,
                        help="the packaged schema (rules, enums, migrations are taken from it)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--analysisbase", default=os.environ.get(
        "AnalysisBase_VERSION") or os.environ.get("AtlasVersion") or "unknown")
    parser.add_argument("--topcptoolkit", default=os.environ.get("TopCPToolkit_VERSION", "unknown"))
    args = parser.parse_args(argv)
    base = json.loads(args.base.read_text(encoding="utf-8"))
    try:
        schema = dump(base, {"analysisbase": args.analysisbase, "topcptoolkit": args.topcptoolkit})
    except ImportError as exc:
        print(f"dump_release_schema: not inside AnalysisBase ({exc}); source /release_setup.sh "
              "and the TopCPToolkit setup.sh first", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        return 1
    text = json.dumps(schema, indent=1, sort_keys=True) + "\n"
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    blocks = sum(1 for k in schema["$defs"] if k.startswith("opts_"))
    print(f"dump_release_schema: wrote {args.out} (AnalysisBase {args.analysisbase}, "
          f"TopCPToolkit {args.topcptoolkit}, {blocks} blocks, "
          f"{len(schema['x-topcp-modules']['modules'])} TopCPToolkit modules)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
