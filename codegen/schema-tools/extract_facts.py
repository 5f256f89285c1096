#!/usr/bin/env python3
"""Extract fact tables from a checkout of athena or TopCPToolkit python sources (no imports).

Why: derive_schema.py reads only the committed tables in ``facts/``; this script is how the
tables of a *checkout* (a git commit anyone can fetch again) are made, so they can be re-made
and diffed when a new commit is read. Tables transcribed from stored copies (read_file ids, see
facts/sources.tsv) use the same format, so both kinds feed the derivation alike.

    python extract_facts.py options --source athena/2024-01 DIR > facts/options/athena_2024-01.tsv
    python extract_facts.py modules --source topcp/2025-06 DIR/source/TopCPToolkit/python \\
        > facts/topcp/modules.tsv
    python extract_facts.py docs --source topcp/2025-06 DIR/docs/settings > facts/topcp/docs.tsv

Standard library only; the sources are parsed with ``ast``, never imported or executed.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

TYPE_NAMES = {"str", "bool", "int", "float", "list", "dict"}
UNITS = {"GeV": 1000.0, "MeV": 1.0, "TeV": 1.0e6}
HEADER = "class\toption\ttype\tdefault\trequired\tnone\tkind"
SKIP_ARGS = {"self", "seq", "kwargs", "args"}


def _value(node: ast.AST | None) -> tuple[bool, Any]:
    """(known, value) of a default: literals, and unit products such as ``4.5*GeV``."""
    if node is None:
        return True, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        pass
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        parts = [node.left, node.right]
        names = [p.id for p in parts if isinstance(p, ast.Name) and p.id in UNITS]
        nums = [p for p in parts if not (isinstance(p, ast.Name) and p.id in UNITS)]
        if len(names) == 1 and len(nums) == 1:
            known, num = _value(nums[0])
            if known and isinstance(num, (int, float)):
                return True, float(num) * UNITS[names[0]]
    return False, None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _type_of(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name) and node.id in TYPE_NAMES:
        return node.id
    return "any"


def _params(func: ast.FunctionDef) -> list[tuple[str, bool, Any]]:
    """(name, has_default, default) of a function's parameters, keyword-only ones included."""
    args = func.args
    plain = args.posonlyargs + args.args
    defaults = [None] * (len(plain) - len(args.defaults)) + list(args.defaults)
    out = [(a.arg, d is not None, d) for a, d in zip(plain, defaults, strict=True)]
    out += [(a.arg, d is not None, d) for a, d in zip(args.kwonlyargs, args.kw_defaults,
                                                       strict=True)]
    return out


def _arg_rows(owner: str, func: ast.FunctionDef) -> list[str]:
    rows = []
    for name, has_default, node in _params(func):
        if name in SKIP_ARGS:
            continue
        known, value = _value(node) if has_default else (True, None)
        rows.append("\t".join([owner, name, "any", _json(value if known else None),
                               "0" if has_default else "1", "ignore", "arg"]))
    return rows


def _class_rows(node: ast.ClassDef) -> list[str]:
    rows: list[str] = []
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            rows += _arg_rows(node.name, item)
    has_dependency = False
    for call in ast.walk(node):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr == "addDependency":
            has_dependency = True
        if call.func.attr != "addOption" or not call.args:
            continue
        known_name, name = _value(call.args[0])
        if not (known_name and isinstance(name, str)):
            continue
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        known, default = _value(call.args[1] if len(call.args) > 1 else None)
        _, required = _value(kw.get("required"))
        _, none = _value(kw.get("noneAction"))
        rows.append("\t".join([node.name, name, _type_of(kw.get("type")),
                               _json(default if known else None), "1" if required else "0",
                               none if isinstance(none, str) else "ignore", "option"]))
    if has_dependency:
        rows.append("\t".join([node.name, "ignoreDependencies", "list", "[]", "0", "ignore",
                               "option"]))
    return rows


def extract_options(root: Path) -> list[str]:
    """Rows for every ConfigBlock-like class and every ``make*``/``seq`` factory function."""
    rows: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if "unitTest" in path.name or path.name.endswith("Test.py"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                class_rows = _class_rows(node)
                if any(r.endswith("\toption") for r in class_rows):
                    rows += class_rows
            elif isinstance(node, ast.FunctionDef):
                names = [p[0] for p in _params(node)]
                if node.name.startswith("make") or (names and names[0] == "seq"):
                    rows += _arg_rows(node.name, node)
    # one row per (class, option, kind); a later duplicate (same name in two files) is dropped
    seen: set[tuple[str, ...]] = set()
    unique = []
    for row in rows:
        key = tuple(row.split("\t")[:2] + row.split("\t")[-1:])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def extract_modules(root: Path) -> list[str]:
    """``module<TAB>name<TAB>kind`` for every top-level class, function and imported name."""
    rows = []
    package = root.parent.name if root.name == "python" else root.name
    for path in sorted(root.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        module = f"{package}.{path.stem}"
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                rows.append(f"{module}\t{node.name}\tclass")
            elif isinstance(node, ast.FunctionDef):
                rows.append(f"{module}\t{node.name}\tfunction")
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    rows.append(f"{module}\t{alias.asname or alias.name}\timported")
    return rows


_DOC_BLOCK = re.compile(r"^Name in YAML: \*\*([^*]+)\*\*(.*)$")
_DOC_OPTION = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)`\s*$")


def extract_docs(docs_dir: Path) -> list[str]:
    """``block<TAB>option<TAB>doc file`` for every option TopCP's docs/settings describe."""
    rows = []
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
                if extra and "." in name:
                    current += [f"{x.strip()}.{name.split('.', 1)[1]}"
                                for x in extra.group(1).split(",") if x.strip()]
                continue
            m = _DOC_OPTION.match(line)
            if m and current and i + 1 < len(lines) and lines[i + 1].startswith(":"):
                rows += [f"{block}\t{m.group(1)}\t{path.name}" for block in current]
    return sorted(set(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("options", "modules", "docs"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--source", required=True, help="the key of the source in sources.tsv")
    args = parser.parse_args(argv)
    if args.what == "options":
        header, rows = HEADER, extract_options(args.folder)
        note = "# Extracted by extract_facts.py (ast): addOption declarations and parameters."
    elif args.what == "modules":
        header, rows = "module\tname\tkind", extract_modules(args.folder)
        note = "# Extracted by extract_facts.py (ast): what AddConfigBlocks can import."
    else:
        header, rows = "block\toption\tdoc", extract_docs(args.folder)
        note = "# Extracted by extract_facts.py: options described in TopCP docs/settings."
    sys.stdout.write(f"{note}\n# source: {args.source} (sources.tsv)\n{header}\n")
    sys.stdout.write("".join(row + "\n" for row in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
