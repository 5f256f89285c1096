"""The probe and mutation corpora (tests/codegen/validation_corpus/*.yaml) as specifications.

* **Probes**: edits of real configs that the 2025 reader accepts, each citing the declaration
  that accepts it. They must validate with zero errors: a false positive blocks a physicist
  whose config is right, the worst defect the validator can have.
* **Mutations**: edits the reader rejects (or, for warnings, cannot be verified), each with the
  line, rule, severity and text the report must show. Detected means a finding of exactly that
  rule and severity on exactly that line.

Bases are our committed examples (``examples/ttbar-ljets``) and, where ``../shared`` exists,
TopCPToolkit's own example configs (third-party files, never committed here).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from topcp_codegen.validation import ConfigError, validate

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "validation_corpus"
EXAMPLES = ROOT / "examples" / "ttbar-ljets"


def _upstream_dir() -> Path | None:
    env = os.environ.get("TOPCP_UPSTREAM_CONFIGS")
    shared = Path(env) if env else ROOT.parent / "shared" / "topcp-configs"
    return shared if any(shared.glob("*.yaml")) else None


UPSTREAM = _upstream_dir()


def base_text(base: str) -> str | None:
    """``examples/reco.yaml`` (committed) or ``upstream/<flat name>`` (None when absent)."""
    kind, _, name = base.partition("/")
    if kind == "examples":
        return (EXAMPLES / name).read_text()
    if UPSTREAM is None:
        return None
    return (UPSTREAM / name).read_text()


def apply(text: str, edit: dict[str, Any]) -> str:
    """One edit: ``replace: [old, new]`` (first occurrence; ``count`` for more) or ``append``."""
    if "replace" in edit:
        old, new = edit["replace"]
        assert old in text, f"edit anchor not found: {old!r}"
        return text.replace(old, new, edit.get("count", 1))
    if "append" in edit:
        return text.rstrip("\n") + "\n\n" + edit["append"]
    raise AssertionError(f"unknown edit {edit}")


def mutate(case: dict[str, Any]) -> tuple[str, str]:
    text = base_text(case["base"])
    if text is None:
        pytest.skip("TopCPToolkit's example configs are not available (../shared/topcp-configs)")
    for edit in case["edits"]:
        text = apply(text, edit)
    level = case.get("level") or Path(case["base"]).name.split("__")[-1]
    return text, level if level.endswith(".yaml") else f"{level}.yaml"


def line_of(text: str, anchor: str, after: str | None = None) -> int:
    """The line an anchor starts on (the first after ``after``, if given); an anchor may span
    lines to be unambiguous."""
    start = text.find(after) if after else 0
    assert start >= 0, f"'after' text not in the mutated text: {after!r}"
    index = text.find(anchor, start)
    assert index >= 0, f"anchor not in the mutated text: {anchor!r}"
    return text.count("\n", 0, index) + 1


def _load(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((CORPUS / name).read_text())


PROBES = _load("probes.yaml")
MUTATIONS = _load("mutations.yaml")


def _errors(found: list[ConfigError]) -> list[str]:
    return [str(e) for e in found if e.severity == "error"]


def test_corpus_sizes_and_ids() -> None:
    assert len(PROBES) >= 30 and len(MUTATIONS) >= 60
    ids = [c["id"] for c in PROBES + MUTATIONS]
    assert len(ids) == len(set(ids))
    assert all(c.get("cites") for c in PROBES), "every probe cites the declaration it rests on"
    local = [c for c in MUTATIONS if c["base"].startswith("examples/")]
    assert len(local) >= 40, "most mutations must run without ../shared"


@pytest.mark.parametrize("base", sorted({c["base"] for c in PROBES + MUTATIONS}))
def test_bases_are_clean(base: str) -> None:
    text = base_text(base)
    if text is None:
        pytest.skip("upstream configs not available")
    name = Path(base).name.split("__")[-1]
    assert _errors(validate({name: text})) == []


@pytest.mark.parametrize("case", PROBES, ids=[c["id"] for c in PROBES])
def test_probe_is_accepted(case: dict[str, Any]) -> None:
    text, level = mutate(case)
    assert _errors(validate({level: text})) == [], case["cites"]


@pytest.mark.parametrize("case", MUTATIONS, ids=[c["id"] for c in MUTATIONS])
def test_mutation_is_detected_at_its_line(case: dict[str, Any]) -> None:
    text, level = mutate(case)
    expect = case["expect"]
    line = line_of(text, expect["at"], expect.get("after"))
    found = validate({level: text})
    hits = [e for e in found if e.line == line and e.rule == expect["rule"]]
    assert hits, f"{case['id']}: nothing with rule {expect['rule']} at line {line}: " + \
        "; ".join(f"{e.line}:{e.rule}:{e.severity}:{e.message}" for e in found)
    hit = hits[0]
    assert hit.severity == expect["severity"], (hit.severity, str(hit))
    described = f"{hit.message} {hit.suggestion or ''}"
    assert expect["says"] in described, described
