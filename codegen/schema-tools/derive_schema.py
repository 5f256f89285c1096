#!/usr/bin/env python3
"""Regenerate the TopCPToolkit text-config JSON Schema from public source files.

Why a script: the schema must follow the AnalysisBase/TopCPToolkit release in the science image,
so the next release is a re-run, not a rewrite. Inputs are source files you download yourself
(never committed): athena ``PhysicsAnalysis/Algorithms/**/python/*.py`` and a TopCPToolkit
checkout (``source/TopCPToolkit/python`` and ``docs/settings``). The hand-entered part lives in
``manual_table.yaml`` beside this script.

Usage::

    python derive_schema.py --athena /tmp/topcp-sources/athena \
        --topcp /tmp/topcp-sources/topcp \
        --out ../topcp_codegen/validation/topcp-schema.json

Standard library + PyYAML only. The sources are parsed with ``ast``, never imported or executed.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

TYPE_NAMES = {"str", "bool", "int", "float", "list", "dict"}
JSON_TYPES = {
    "str": "string",
    "bool": "boolean",
    "int": "integer",
    "float": "number",
    "list": "array",
    "dict": "object",
}
SKIP_ARGS = {"self", "seq", "kwargs", "args"}


def _literal(node: ast.AST | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None


def _type_of(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Name) and node.id in TYPE_NAMES:
        return node.id
    return None


def extract_python(root: Path, origin: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Map class/function name -> option name -> {type, default, source}.

    Classes: every ``self.addOption(name, default, type=...)`` call in the class body.
    Module-level functions: their parameters (the ConfigFactory passes YAML options as
    keyword arguments to factory functions).
    """
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(root.rglob("*.py")):
        if "unitTest" in path.name or path.name.endswith("Test.py"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        rel = path.relative_to(root).as_posix()
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                opts: dict[str, dict[str, Any]] = {}
                for call in ast.walk(node):
                    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr == "addOption" and call.args):
                        continue
                    name = _literal(call.args[0])
                    if not isinstance(name, str):
                        continue
                    kw = {k.arg: k.value for k in call.keywords if k.arg}
                    default_node = call.args[1] if len(call.args) > 1 else None
                    opts[name] = {
                        "type": _type_of(kw.get("type")),
                        "default": _literal(default_node),
                        "has_literal_default": _is_literal(default_node),
                        "source": f"{origin}:{rel}:{node.name}",
                    }
                    info = _literal(kw.get("info"))
                    if isinstance(info, str):
                        opts[name]["description"] = _short(info)
                if opts:
                    found.setdefault(node.name, {}).update(opts)
            elif isinstance(node, ast.FunctionDef) and node.name.startswith("make"):
                args = node.args
                params = args.args
                defaults = [None] * (len(params) - len(args.defaults)) + list(args.defaults)
                opts = {}
                for param, default in zip(params, defaults, strict=True):
                    if param.arg in SKIP_ARGS:
                        continue
                    value = _literal(default)
                    opts[param.arg] = {
                        "type": None,  # factory functions declare no types
                        "default": value,
                        "has_literal_default": default is not None and value is not None,
                        "source": f"{origin}:{rel}:{node.name}",
                    }
                if opts:
                    found.setdefault(node.name, {}).update(opts)
    return found


def _is_literal(node: ast.AST | None) -> bool:
    if node is None:
        return False
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, SyntaxError, TypeError):
        return False


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_DOC_BLOCK = re.compile(r"^Name in YAML: \*\*([^*]+)\*\*(.*)$")
_DOC_OPTION = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)`\s*$")
_DOC_DEFAULT = re.compile(r"[Tt]he default is `([^`]*)`")


def extract_docs(docs_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Map YAML block name (``Jets``, ``Jets.JVT``, ``X.PtEtaSelection``) -> options, from
    TopCPToolkit's docs/settings/*.md (``Name in YAML: **X**`` then ```option`\\n:   text``)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(docs_dir.glob("*.md")):
        text = re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.S)
        lines = text.splitlines()
        current: list[str] = []
        for i, line in enumerate(lines):
            if line.startswith("#"):
                current = []
                continue
            m = _DOC_BLOCK.match(line.strip())
            if m:
                name = m.group(1).strip()
                current = [name]
                extra = re.search(r"with X amongst: ([A-Za-z_, ]+)", m.group(2))
                if extra:
                    current += [f"{x.strip()}.{name.split('.', 1)[1]}" for x in extra.group(1).split(",")
                                if x.strip()]
                continue
            m = _DOC_OPTION.match(line)
            if m and current and i + 1 < len(lines) and lines[i + 1].startswith(":"):
                desc = lines[i + 1][1:].strip()
                opt = {"type": None, "default": None, "has_literal_default": False,
                       "source": f"topcp-docs:{path.name}", "description": _short(desc)}
                d = _DOC_DEFAULT.search(desc)
                if d:
                    raw = d.group(1)
                    if raw in ("True", "False"):
                        opt.update(type="bool", default=raw == "True", has_literal_default=True)
                    elif len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
                        opt.update(type="str", default=raw[1:-1], has_literal_default=True)
                for tname in TYPE_NAMES:
                    if f"({tname})" in desc and opt["type"] is None:
                        opt["type"] = tname
                for block in current:
                    found.setdefault(block, {})[m.group(1)] = opt
    return found


def option_schema(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pytype = info.get("type")
    if pytype:
        out["type"] = JSON_TYPES[pytype]
        out["x-pytype"] = pytype
    if info.get("has_literal_default") or "default" in info and info.get("manual"):
        default = info.get("default")
        if default is not None or info.get("manual"):
            out["default"] = default
    if info.get("enum"):
        out["enum"] = info["enum"]
    if info.get("description"):
        out["description"] = info["description"]
    out["x-source"] = info.get("source", "manual_table.yaml")
    return out


def merge_options(names: list[str], docs_keys: list[str], code: dict, docs: dict,
                  extra: dict, common: dict, drop: list[str]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for key in docs_keys:
        for opt, info in docs.get(key, {}).items():
            merged[opt] = dict(info)
    for cls in names:
        for opt, info in code.get(cls, {}).items():
            prev = merged.get(opt, {})
            new = dict(info)
            if new.get("type") is None and prev.get("type"):
                new["type"] = prev["type"]
            if not new.get("description") and prev.get("description"):
                new["description"] = prev["description"]
            if opt in merged and merged[opt].get("source", "").startswith(("athena", "topcp-code")):
                # already seen in another class of the same block: keep the first declared type
                if merged[opt].get("type"):
                    new["type"] = merged[opt]["type"]
            merged[opt] = new
    for opt, info in extra.items():
        base = merged.get(opt, {})
        merged[opt] = {**base, **info, "manual": True,
                       "source": f"manual_table.yaml ({info.get('source', 'hand entry')})"}
        if "default" in info:
            merged[opt]["has_literal_default"] = True
    for opt, info in common.items():
        merged.setdefault(opt, {**info, "manual": True, "has_literal_default": True,
                                "source": "manual_table.yaml common_options (ConfigBlock)"})
    for opt in [*drop, *SKIP_ARGS]:
        merged.pop(opt, None)
    return merged


def build(athena: list[Path], topcp: Path | None, manual_path: Path) -> dict[str, Any]:
    manual = yaml.safe_load(manual_path.read_text(encoding="utf-8"))
    code: dict[str, dict] = {}
    topcp_code: dict[str, dict] = {}
    docs: dict[str, dict] = {}
    inputs = []
    for folder in athena:
        for name, opts in extract_python(folder, f"athena[{folder.name}]").items():
            code.setdefault(name, {}).update(opts)
        inputs.append({"kind": "athena python", "folder": str(folder)})
    if topcp:
        pydir = topcp / "source" / "TopCPToolkit" / "python"
        if pydir.is_dir():
            # TopCPToolkit blocks are ConfigBlock classes; its make* functions are job wiring.
            topcp_code = {name: opts for name, opts in extract_python(pydir, "topcp-code").items()
                          if not name.startswith("make")}
            for name, opts in topcp_code.items():
                code.setdefault(name, opts)
        docs_dir = topcp / "docs" / "settings"
        if docs_dir.is_dir():
            docs = extract_docs(docs_dir)
        inputs.append({"kind": "TopCPToolkit checkout", "folder": str(topcp)})

    enums = manual.get("enums", {})
    overrides = manual.get("type_overrides", {})
    common = manual["common_options"]
    extra = manual.get("extra_options", {})

    def enum_for(key: str) -> list | None:
        entry = enums.get(key)
        if not entry:
            return None
        if "same_as" in entry:
            return enums[entry["same_as"]]["values"]
        return entry["values"]

    defs: dict[str, Any] = {}

    def instance_def(key: str, spec: dict, subs: list[str]) -> None:
        opts = merge_options(spec.get("classes", []), spec.get("docs", []), code, docs,
                             extra.get(key, {}), common, spec.get("drop", []))
        props: dict[str, Any] = {}
        for opt, info in sorted(opts.items()):
            full = f"{key}.{opt}"
            if full in overrides:
                info = {**info, "type": overrides[full]["type"]}
            values = enum_for(full)
            if values:
                info = {**info, "enum": values}
            props[opt] = option_schema(info)
        for sub in subs:
            props[sub] = {"$ref": f"#/$defs/blk_{key}.{sub}", "x-subblock": True}
        provenance = sorted({p["x-source"].split(":")[0] + ":" + p["x-source"].split(":")[1]
                             if p.get("x-source", "").count(":") >= 2 else p.get("x-source", "")
                             for p in props.values() if "x-source" in p})
        found_any = any(c in code for c in spec.get("classes", [])) or any(
            d in docs for d in spec.get("docs", []))
        open_block = bool(spec.get("open")) or not found_any
        defs[f"opts_{key}"] = {
            "type": "object",
            "x-block": key,
            "x-open": open_block,
            "x-classes": spec.get("classes", []),
            "x-provenance": provenance,
            "properties": props,
            "additionalProperties": open_block,
        }
        defs[f"blk_{key}"] = {
            "x-block": key,
            "type": ["object", "array"],
            "if": {"type": "object"},
            "then": {"$ref": f"#/$defs/opts_{key}"},
            "else": {"items": {"$ref": f"#/$defs/opts_{key}"}},
        }

    sub_specs = manual.get("sub_blocks", {})
    top_props: dict[str, Any] = {}
    for block, spec in manual["blocks"].items():
        subs = spec.get("sub", [])
        instance_def(block, spec, subs)
        top_props[block] = {"$ref": f"#/$defs/blk_{block}"}
        for sub in subs:
            sspec = sub_specs.get(f"{block}.{sub}") or sub_specs.get(f"*.{sub}") or {}
            instance_def(f"{block}.{sub}", sspec, [])

    # TopCPToolkit blocks, usable only through AddConfigBlocks (options from its python code).
    topcp_defs = {}
    for name, opts in sorted(topcp_code.items()):
        props = {opt: option_schema(info) for opt, info in sorted(opts.items())}
        for opt, info in common.items():
            props.setdefault(opt, option_schema({**info, "manual": True, "has_literal_default": True,
                                                  "source": "manual_table.yaml common_options"}))
        topcp_defs[name] = {"type": "object", "x-block": name, "x-open": False,
                            "properties": props, "additionalProperties": False,
                            "x-provenance": [f"topcp-code:{next(iter(opts.values()))['source'].split(':')[1]}"]}
    for name, body in topcp_defs.items():
        defs[f"topcp_{name}"] = body

    top_props["AddConfigBlocks"] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "modulePath": {"type": "string"},
                "functionName": {"type": "string"},
                "algName": {"type": "string"},
                "pos": {"type": "string"},
                "defaults": {"type": "object"},
                "superBlocks": {"type": ["string", "array"]},
            },
            "required": ["modulePath", "functionName", "algName"],
            # TopCP's own examples add block options (e.g. skipOnData) here: accepted.
            "additionalProperties": True,
        },
    }
    top_props["include"] = {"type": ["string", "array"]}

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://servicex-topcp.invalid/schema/topcp-text-config.json",
        "title": "TopCPToolkit text configuration (one YAML level file)",
        "type": "object",
        "x-release": manual["release"],
        "x-sources": manual["sources"],
        "x-inputs": inputs,
        "x-generated-by": "codegen/schema-tools/derive_schema.py",
        "properties": top_props,
        "additionalProperties": False,
        "$defs": defs,
    }


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--athena", type=Path, action="append", default=[],
                        help="folder with athena PhysicsAnalysis/Algorithms sources; repeat it, "
                             "oldest first: later folders override earlier declarations")
    parser.add_argument("--topcp", type=Path, help="TopCPToolkit checkout (source/, docs/)")
    parser.add_argument("--manual", type=Path, default=here / "manual_table.yaml")
    parser.add_argument("--out", type=Path,
                        default=here.parent / "topcp_codegen" / "validation" / "topcp-schema.json")
    args = parser.parse_args(argv)
    schema = build(args.athena, args.topcp, args.manual)
    # Folder paths are machine-specific: record only their kind.
    for item in schema["x-inputs"]:
        item["folder"] = Path(item["folder"]).name
    text = json.dumps(schema, indent=1, sort_keys=True, default=str) + "\n"
    tmp = args.out.with_suffix(".tmp")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    nblocks = sum(1 for k in schema["$defs"] if k.startswith("opts_"))
    print(f"wrote {args.out} ({nblocks} blocks/sub-blocks, {len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
