#!/usr/bin/env python3
"""Build ``topcp-schema.json`` from the committed fact tables in ``facts/`` (nothing else).

Why: the schema must be reproducible by anyone, byte for byte, from inputs stored in the repo
(a test checks it), and every rule in it must point at the declaration it came from. The fact
tables are transcriptions of athena/TopCPToolkit files (facts/sources.tsv says which file,
which stored copy or commit, and how it was dated); this script only combines them:

* blocks and sub-blocks: the factory registrations of facts/registry.tsv (2025 and 2026);
* options of a block: the ``addOption`` declarations of the classes a registration reaches,
  plus constructor/factory parameters, from the *pinned* era (2025-26) sources; a block whose
  classes were only read in an older (2024) version, or only in TopCP's docs, is marked so and
  its unknown options become warnings (docs/schema.md, "severity");
* enums, configure-time rules, migrations and the TopCPToolkit module list: facts/*.tsv|yaml.

Usage::

    python derive_schema.py                 # rewrites ../topcp_codegen/validation/topcp-schema.json
    python derive_schema.py --check         # exit 1 if the committed file differs

Standard library + PyYAML only. Release introspection (the exact truth for one release) is
``dump_release_schema.py``, which writes the same format from a live AnalysisBase.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
FACTS = HERE / "facts"
OUT = HERE.parent / "topcp_codegen" / "validation" / "topcp-schema.json"

JSON_TYPES = {"str": "string", "bool": "boolean", "int": "integer", "float": "number",
              "list": "array", "dict": "object"}
RELEASE = {"analysisbase": "25.2.74", "topcptoolkit": "v2.23.0"}
ROOT = "root"
ERA_RANK = {"pinned": 0, "older": 1, "docs": 2}
#: TopCPToolkit blocks that 2026 athena registers natively but TopCP 2.19 adds through
#: AddConfigBlocks (registry.tsv 2026 rows vs. the TopCP example configs).
AMBIGUOUS_BUILTINS = ("HSTPFilter", "PartonHistory", "HyPER")


def _rows(path: Path) -> tuple[str | None, list[dict[str, str]]]:
    """A fact table: its ``# source:`` key and its rows (comment lines skipped)."""
    source = None
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            if line.startswith("# source:"):
                source = line.split(":", 1)[1].split("(")[0].strip()
            continue
        if line.strip():
            lines.append(line)
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return source, list(reader)


class Facts:
    """Every committed input, loaded once."""

    def __init__(self, root: Path = FACTS) -> None:
        self.root = root
        _, sources = _rows(root / "sources.tsv")
        self.sources = {r["key"]: r for r in sources}
        # options[source][class][option] -> row
        self.options: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        self.inputs: list[str] = []
        for path in sorted((root / "options").glob("*.tsv")):
            source, rows = _rows(path)
            if source not in self.sources:
                raise SystemExit(f"{path}: source {source!r} is not in sources.tsv")
            table = self.options.setdefault(source, {})
            for row in rows:
                table.setdefault(row["class"], {})[(row["option"], row["kind"])] = row
            self.inputs.append(path.relative_to(root).as_posix())
        _, self.registry = _rows(root / "registry.tsv")
        _, enums = _rows(root / "enums.tsv")
        self.enums = {r["path"]: r for r in enums}
        _, usage = _rows(root / "usage.tsv")
        self.usage = {r["path"]: r for r in usage}
        _, unverified = _rows(root / "unverified.tsv")
        self.unverified: dict[str, dict[str, str]] = defaultdict(dict)
        for row in unverified:
            self.unverified[row["block"]][row["option"]] = f"{row['reported_by']}; {row['note']}"
        self.rules = yaml.safe_load((root / "rules.yaml").read_text(encoding="utf-8"))
        self.migrations = yaml.safe_load((root / "migrations.yaml").read_text(encoding="utf-8"))
        topcp_source, modules = _rows(root / "topcp" / "modules.tsv")
        self.modules: dict[str, list[str]] = defaultdict(list)
        for row in modules:
            self.modules[row["module"]].append(row["name"])
        self.modules_source = topcp_source
        _, docs = _rows(root / "topcp" / "docs.tsv")
        self.docs: dict[str, set[str]] = defaultdict(set)
        for row in docs:
            self.docs[row["block"]].add(row["option"])
        self.inputs += ["sources.tsv", "registry.tsv", "enums.tsv", "usage.tsv", "unverified.tsv",
                        "rules.yaml",
                        "migrations.yaml", "topcp/modules.tsv", "topcp/docs.tsv"]

    def era(self, source: str) -> str:
        return self.sources[source]["era"]

    def class_facts(self, cls: str, era: str) -> list[tuple[str, dict]]:
        """(source, {(option, kind): row}) for every source of ``era`` that declares ``cls``."""
        return [(src, table[cls]) for src, table in sorted(self.options.items())
                if cls in table and self.era(src) == era]


def _default(text: str) -> Any:
    return json.loads(text)


def _merge_option(entry: dict[str, Any] | None, row: dict[str, str], source: str,
                  era: str) -> dict[str, Any]:
    """Fold one declaration into an option entry.

    A parameter (``kind`` arg) carries no type; an ``addOption`` type wins over it, and two
    declarations that disagree on the type leave the option untyped (both are accepted).
    """
    typed = row["type"] if row["kind"] == "option" else None
    if entry is None:
        entry = {"pytype": typed, "default": _default(row["default"]), "seen": set(),
                 "era": era, "none": "ignore", "required": False, "kinds": set()}
    elif typed is not None:
        if entry["pytype"] is None:
            entry["pytype"], entry["default"] = typed, _default(row["default"])
        elif entry["pytype"] != typed:
            entry["pytype"] = "any"
    entry["seen"].add(source)
    entry["kinds"].add(row["kind"])
    entry["required"] = entry["required"] or row["required"] == "1"
    if ERA_RANK[era] < ERA_RANK[entry["era"]]:
        entry["era"] = era
    if row["none"] == "error" and row["kind"] == "option":
        entry["none"] = "error"
    return entry


def option_schema(name: str, entry: dict[str, Any], enum: dict[str, str] | None,
                  usage: dict[str, str] | None = None) -> dict:
    out: dict[str, Any] = {}
    pytype = entry["pytype"] or "any"
    if pytype == "any" and usage:
        pytype = usage["type"]
        out["x-usage"] = f"{usage['source']}: {usage['evidence']}"
    if pytype != "any":
        out["type"] = JSON_TYPES[pytype]
        out["x-pytype"] = pytype
    if entry["default"] is not None or "option" in entry["kinds"]:
        out["default"] = entry["default"]
    if enum:
        values = json.loads(enum["values"])
        if enum["closed"] == "1" and not name.endswith("[]"):
            out["enum"] = values
        out["x-enum"] = {"values": values, "closed": enum["closed"] == "1",
                         "mc_only": enum["mc_only"] == "1", "source": enum["source"],
                         "evidence": enum["evidence"]}
    out["x-era"] = entry["era"]
    out["x-seen"] = sorted(entry["seen"])
    if entry["none"] == "error":
        out["x-none"] = "error"
    if entry["kinds"] == {"arg"}:
        out["x-arg"] = True
    return out


def _block_rows(facts: Facts) -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in facts.registry:
        rows[row["block"]].append(row)
    return rows


def _docs_options(facts: Facts, path: str) -> set[str]:
    names = set(facts.docs.get(path, set()))
    if "." in path:
        names |= facts.docs.get("X." + path.split(".", 1)[1], set())
    return names


def block_options(facts: Facts, path: str, regs: list[dict[str, str]]) -> tuple[dict, dict]:
    """Options of one block path and the evidence they rest on."""
    options: dict[str, dict[str, Any]] = {}
    evidence: dict[str, Any] = {"registered": sorted({r["source"] for r in regs}),
                                "option_sources": set(), "era": None, "complete": False,
                                "args_required": {}}

    def fold(cls: str, era: str, kinds: tuple[str, ...]) -> bool:
        found = False
        for source, table in facts.class_facts(cls, era):
            for (opt, kind), row in sorted(table.items()):
                if kind in kinds:
                    options[opt] = _merge_option(options.get(opt), row, source, era)
                    found = True
            evidence["option_sources"].add(source)
        return found

    for era in ("pinned", "older"):
        complete_any = False
        for reg in regs:
            if reg["classes"] == "?":
                continue
            classes = reg["classes"].split(",")
            known = [fold(cls, era, ("option",)) for cls in classes]
            # the registered callable's own parameters are accepted YAML keys (getFuncArgs)
            fold(reg["alg"], era, ("arg",))
            required = sorted(opt for src, table in facts.class_facts(reg["alg"], era)
                              for (opt, kind), row in table.items()
                              if kind == "arg" and row["required"] == "1")
            evidence["args_required"][reg["source"]] = required
            if all(known):
                complete_any = True
        if options:
            evidence["era"] = era
            evidence["complete"] = complete_any
            break
    if not options:
        docs = _docs_options(facts, path)
        if docs:
            evidence["era"] = "docs"
            evidence["option_sources"].add(facts.modules_source)
            for opt in sorted(docs):
                options[opt] = {"pytype": None, "default": None, "seen": {facts.modules_source},
                                "era": "docs", "none": "ignore", "required": False,
                                "kinds": {"docs"}}
    for source, table in facts.class_facts("ConfigBlock", "pinned"):
        for (opt, _), row in table.items():
            options.setdefault(opt, _merge_option(None, row, source, "pinned"))
    evidence["option_sources"] = sorted(evidence["option_sources"])
    return options, evidence


def _removed(facts: Facts, path: str, known: set[str], regs: list[dict[str, str]]) -> dict:
    """Options of the same classes in the older (2024) sources that the pinned era dropped."""
    out: dict[str, dict[str, str]] = {}
    for reg in regs:
        if reg["classes"] == "?":
            continue
        for cls in reg["classes"].split(",") + [reg["alg"]]:
            for source, table in facts.class_facts(cls, "older"):
                for (opt, _), _row in table.items():
                    if opt not in known and opt not in facts.migrations["options"].get(path, {}):
                        out[opt] = {"source": source}
    for key, info in facts.migrations["options"].items():
        block, _, opt = key.rpartition(".")
        if block == path and opt not in known:
            out[opt] = dict(info)
    return dict(sorted(out.items()))


def build(facts: Facts) -> dict[str, Any]:
    regs_by_block = _block_rows(facts)
    children: dict[str, list[str]] = defaultdict(list)
    for path in regs_by_block:
        parent, _, name = path.rpartition(".")
        children[parent or ROOT].append(name)
    defs: dict[str, Any] = {}
    for path, regs in sorted(regs_by_block.items()):
        options, evidence = block_options(facts, path, regs)
        props: dict[str, Any] = {}
        for opt, entry in sorted(options.items()):
            props[opt] = option_schema(opt, entry, facts.enums.get(f"{path}.{opt}"),
                                       facts.usage.get(f"{path}.{opt}"))
        for opt in options:
            enum = facts.enums.get(f"{path}.{opt}[]")
            if enum:
                props[opt]["x-items-enum"] = option_schema(opt + "[]", options[opt],
                                                           enum)["x-enum"]
        subs = sorted(children.get(path, []))
        for sub in subs:
            props[sub] = {"$ref": f"#/$defs/blk_{path}.{sub}", "x-subblock": True}
        open_block = evidence["era"] is None
        check = "error" if evidence["era"] == "pinned" and evidence["complete"] else "warning"
        defs[f"opts_{path}"] = {
            "type": "object",
            "x-block": path,
            "x-open": open_block,
            "x-check": check,
            "x-evidence": evidence,
            "x-removed": _removed(facts, path, set(options), regs),
            "properties": props,
            "additionalProperties": open_block,
        }
        defs[f"blk_{path}"] = {
            "x-block": path,
            "type": ["object", "array"],
            "if": {"type": "object"},
            "then": {"$ref": f"#/$defs/opts_{path}"},
            "else": {"items": {"$ref": f"#/$defs/opts_{path}"}},
        }
    # TopCPToolkit blocks (AddConfigBlocks): their classes' options, checked as warnings
    # because the module list is TopCP 2.19+ (2025-06), older than the pinned v2.23.0.
    common = {opt: row for _, table in facts.class_facts("ConfigBlock", "pinned")
              for (opt, _), row in table.items()}
    topcp_source = facts.modules_source
    for cls, table in sorted(facts.options[topcp_source].items()):
        if not any(kind == "option" for _, kind in table):
            continue
        entries: dict[str, dict[str, Any]] = {}
        for (opt, _kind), row in sorted(table.items()):
            entries[opt] = _merge_option(entries.get(opt), row, topcp_source, "pinned")
        for opt, row in common.items():
            entries.setdefault(opt, _merge_option(None, row, "athena/ConfigBlock@2025", "pinned"))
        defs[f"topcp_{cls}"] = {
            "type": "object", "x-block": cls, "x-open": False, "x-check": "warning",
            "x-evidence": {"registered": [], "option_sources": [topcp_source], "era": "pinned",
                           "complete": False, "args_required": {}},
            "x-removed": {},
            "properties": {opt: option_schema(opt, e, None) for opt, e in sorted(entries.items())},
            "additionalProperties": False,
        }
    top_props = {name: {"$ref": f"#/$defs/blk_{name}"} for name in sorted(children[ROOT])}
    top_props["AddConfigBlocks"] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "modulePath": {"type": "string"}, "functionName": {"type": "string"},
                "algName": {"type": "string"}, "pos": {"type": "string"},
                "defaults": {"type": "object"}, "superBlocks": {"type": ["string", "array"]},
            },
            "required": ["modulePath", "functionName", "algName"],
            # TopCP's own examples add block options (e.g. skipOnData) here: accepted.
            "additionalProperties": True,
        },
    }
    top_props["include"] = {"type": ["string", "array"]}
    order = [r["block"] for r in facts.registry
             if r["source"] == "athena/ConfigFactory@2026" and "." not in r["block"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://servicex-topcp.invalid/schema/topcp-text-config.json",
        "title": "TopCPToolkit text configuration (one YAML level file)",
        "type": "object",
        "x-release": RELEASE,
        "x-derivation": {
            "kind": "derived",
            "generated-by": "codegen/schema-tools/derive_schema.py",
            "inputs": [f"codegen/schema-tools/facts/{name}" for name in facts.inputs],
            "sources": {k: {f: v for f, v in row.items() if f != "key"}
                        for k, row in sorted(facts.sources.items())},
            "note": ("derived from the 2025-26 athena declarations and TopCPToolkit 2.19+ "
                     "(2025-06); 25.2.74 / v2.23.0 themselves were not available. A release "
                     "dump (dump_release_schema.py) replaces this with exact data."),
        },
        "x-block-order": list(dict.fromkeys(order)),
        "x-ambiguous-builtins": list(AMBIGUOUS_BUILTINS),
        "x-unverified-options": {b: dict(sorted(o.items()))
                                 for b, o in sorted(facts.unverified.items())},
        "x-rules": facts.rules,
        "x-migrations": facts.migrations,
        "x-topcp-modules": {"source": topcp_source, "complete": False,
                            "modules": {m: sorted(set(n)) for m, n in sorted(facts.modules.items())}},
        "properties": top_props,
        "additionalProperties": False,
        "$defs": defs,
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=Path, default=FACTS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true",
                        help="compare with --out instead of writing it (exit 1 on a difference)")
    args = parser.parse_args(argv)
    text = render(build(Facts(args.facts)))
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from the facts'}", file=sys.stderr)
        return 0 if same else 1
    tmp = args.out.with_suffix(".tmp")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    blocks = sum(1 for k in json.loads(text)["$defs"] if k.startswith("opts_"))
    print(f"wrote {args.out} ({blocks} blocks/sub-blocks, {len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
