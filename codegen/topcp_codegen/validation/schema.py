"""The schema document (shipped, or a release dump named by configuration), compiled once.

The document describes a whole level file (``blk_*`` if/then/else around ``opts_*``), but
checking a config through it makes jsonschema resolve a ``$ref`` and evaluate an ``if`` for
every block instance. :mod:`.validator` instead walks the blocks itself and checks each
instance against :meth:`Schema.options_validator`, a reference-free schema per definition.

``x-pytype`` is our extension keyword: the reader compares Python types exactly, except that
an int is accepted for a float (athena ``ConfigBlock.setOptionValue``, 2025: "convert int to
float to prevent crash"); JSON Schema's ``number``/``integer`` cannot express either.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

SCHEMA_FILE = "topcp-schema.json"

_PYTYPES: dict[str, type | tuple[type, ...]] = {
    "str": str, "bool": bool, "int": int, "float": float, "list": list, "dict": dict,
}


def _pytype(validator: Any, expected: str, instance: Any, schema: dict) -> Iterator[ValidationError]:
    want = _PYTYPES.get(expected)
    if want is None or instance is None:
        return
    if expected == "float" and type(instance) is int:
        return  # ConfigBlock.setOptionValue converts it (2025)
    if type(instance) is not want:  # exact, like ConfigBlock.setOptionValue
        yield ValidationError(f"expected {expected}", validator="x-pytype",
                              validator_value=expected, instance=instance, schema=schema)


def _type_ignoring_pytype(validator: Any, types: Any, instance: Any,
                          schema: dict) -> Iterator[ValidationError]:
    # Options carry both a portable JSON type and x-pytype; report only the exact one.
    if "x-pytype" in schema:
        return
    yield from Draft202012Validator.VALIDATORS["type"](validator, types, instance, schema)


TopCPValidator = validators.extend(
    Draft202012Validator, {"x-pytype": _pytype, "type": _type_ignoring_pytype})


class SchemaFileError(ValueError):
    """A schema file named by configuration cannot be used (message names the file)."""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _block_refs(props: dict[str, Any]) -> dict[str, str]:
    """Properties whose value is a block (a ``$ref`` to a ``blk_*`` def) -> that def."""
    out = {}
    for name, sub in props.items():
        target = _ref_name(sub.get("$ref", "")) if isinstance(sub, dict) else ""
        if target.startswith("blk_"):
            out[name] = target
    return out


#: The keywords a per-block validator evaluates; every other ``x-`` key is provenance that
#: messages look up in the full document (fewer keys: jsonschema iterates less per option).
_EVALUATED = ("type", "x-pytype", "enum", "items", "properties", "additionalProperties",
              "required")


def _lean(prop: Any) -> Any:
    if not isinstance(prop, dict):
        return prop
    return {k: v for k, v in prop.items() if k in _EVALUATED}


def _accept_subblocks(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with each block-valued property replaced by ``true``, options made lean.

    The names stay, so unknown-option messages and did-you-mean still see every sub-block,
    but no ``$ref``/``if`` is evaluated: the validator checks each block instance itself.
    """
    props = schema.get("properties", {})
    blocks = _block_refs(props)
    return {**schema, "properties": {k: (True if k in blocks else _lean(v))
                                     for k, v in props.items()}}


REQUIRED_KEYS = ("$defs", "properties", "x-release")


class Schema:
    """One schema document with its lazily compiled per-block validators."""

    def __init__(self, document: dict[str, Any], origin: str) -> None:
        missing = [k for k in REQUIRED_KEYS if k not in document]
        if missing:
            raise SchemaFileError(f"{origin}: not a TopCP schema (missing {', '.join(missing)})")
        self.doc = document
        self.origin = origin
        self._validators: dict[str, Any] = {}
        self._subblocks: dict[str, dict[str, str]] = {}
        self._opts_defs: dict[str, str] = {}

    @classmethod
    def packaged(cls) -> Schema:
        text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
        return cls(json.loads(text), f"topcp_codegen/validation/{SCHEMA_FILE}")

    @classmethod
    def from_file(cls, path: str | Path) -> Schema:
        """Load a schema file (e.g. a release dump); every problem is a :class:`SchemaFileError`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SchemaFileError(f"{path}: cannot read the schema file ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise SchemaFileError(f"{path}: the schema file is not UTF-8 text") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(document, dict):
            raise SchemaFileError(f"{path}: a schema must be a JSON object")
        schema = cls(document, str(path))
        try:
            Draft202012Validator.check_schema(document)
        except Exception as exc:  # jsonschema.SchemaError and friends
            raise SchemaFileError(f"{path}: not a valid JSON Schema ({str(exc)[:200]})") from None
        return schema

    @property
    def release(self) -> dict[str, str]:
        return dict(self.doc["x-release"])

    @property
    def defs(self) -> dict[str, Any]:
        return self.doc["$defs"]

    @property
    def dumped(self) -> bool:
        """True for a release dump: its option and module lists are complete and exact."""
        return self.doc.get("x-derivation", {}).get("kind") == "release-dump"

    @cached_property
    def root_validator(self) -> Any:
        """The top level of a level file: block names and ``AddConfigBlocks``/``include`` shapes."""
        root = {k: v for k, v in self.doc.items() if k != "$defs"}
        return TopCPValidator(_accept_subblocks(root))

    def options_validator(self, def_name: str) -> Any:
        """The options of one block instance (an ``opts_*`` or ``topcp_*`` entry of ``$defs``)."""
        if def_name not in self._validators:
            self._validators[def_name] = TopCPValidator(_accept_subblocks(self.defs[def_name]))
        return self._validators[def_name]

    def subblocks(self, def_name: str) -> dict[str, str]:
        """Option name -> ``blk_*`` def of the sub-blocks an options def declares."""
        cached = self._subblocks.get(def_name)
        if cached is None:
            cached = self._subblocks[def_name] = _block_refs(
                self.defs[def_name].get("properties", {}))
        return cached

    @cached_property
    def top_level_blocks(self) -> dict[str, str]:
        """Registered top-level block name -> its ``blk_*`` def."""
        return _block_refs(self.doc["properties"])

    def options_def(self, blk_name: str) -> str:
        """The ``opts_*`` def a ``blk_*`` def applies to each instance (its ``then``)."""
        cached = self._opts_defs.get(blk_name)
        if cached is None:
            cached = self._opts_defs[blk_name] = _ref_name(self.defs[blk_name]["then"]["$ref"])
        return cached

    def option(self, block: str, name: str) -> dict[str, Any]:
        """The schema of one option of block path ``block`` ({} if unknown)."""
        return self.defs.get(f"opts_{block}", {}).get("properties", {}).get(name, {})

    def block(self, block: str) -> dict[str, Any]:
        return self.defs.get(f"opts_{block}", {})

    @cached_property
    def option_homes(self) -> dict[str, list[str]]:
        """Option name -> the block paths that declare it (for "belongs to block X" hints)."""
        homes: dict[str, list[str]] = {}
        for def_name, body in self.defs.items():
            if not def_name.startswith("opts_"):
                continue
            for name, prop in body.get("properties", {}).items():
                if isinstance(prop, dict) and not prop.get("x-subblock"):
                    homes.setdefault(name, []).append(body["x-block"])
        return homes

    @property
    def rules(self) -> dict[str, Any]:
        return self.doc.get("x-rules", {})

    @property
    def migrations(self) -> dict[str, Any]:
        return self.doc.get("x-migrations", {"modules": {}, "blocks": {}, "options": {}})

    @property
    def topcp_modules(self) -> dict[str, Any]:
        return self.doc.get("x-topcp-modules", {"complete": False, "modules": {}})


@lru_cache(maxsize=1)
def packaged_schema() -> Schema:
    return Schema.packaged()


def load_schema() -> dict[str, Any]:
    """The active schema document (the packaged one unless configured otherwise)."""
    from .active import active_schema

    return active_schema().doc


def suggest(name: str, choices: list[str] | set[str] | Any) -> str | None:
    """Did-you-mean: case-insensitive exact match first, then the closest spelling."""
    pool = sorted(str(c) for c in choices)
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return close[0] if close else None


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count once)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def near_miss(name: str, known: str) -> bool:
    """A typo of ``known``, not a plausible different name (docs/schema.md, "severity").

    Equal ignoring case, one edit away, or two edits away for names of six characters or more:
    a name a newer release added is never that close to an existing one in practice, while
    renames between releases change more (``forceFullSimConfig`` -> ``...ForP4``).
    """
    if name == known:
        return False
    if name.lower() == known.lower():
        return True
    distance = _edit_distance(name, known)
    return distance <= 1 or (distance <= 2 and min(len(name), len(known)) >= 6)


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"bool {value}"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, str):
        return f"str {value!r}"
    return type(value).__name__


def type_fix(expected: str, value: Any) -> str | None:
    """The concrete edit that makes the real reader accept ``value``."""
    if expected == "int" and isinstance(value, float) and value.is_integer():
        return f"write {int(value)}"
    if expected == "str" and not isinstance(value, (list, dict)) and value is not None:
        text = "true" if value is True else "false" if value is False else str(value)
        return f"quote it: '{text}'"
    if expected == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return f"write {value.capitalize()} without quotes"
    if expected == "list" and isinstance(value, str):
        return f"write a list: ['{value}']"
    if expected == "float" and isinstance(value, str):
        try:
            return f"write {float(value)!r} without quotes"
        except ValueError:
            return None
    return None
