"""Parse the ``code`` of a TopCP transform request into a checked :class:`TopCPRequest`.

Two forms are accepted, because two clients exist:

* what servicex 3.3.1 ``TopCPQuery.generate_selection_string()`` sends: a JSON object whose
  ``reco``/``parton``/``particle`` are the raw YAML texts (or null);
* the same keys with each YAML already parsed into a mapping (a newer client draft).

Everything a user can get wrong here is reported as a :class:`QueryError` whose message names
the key, what was expected and, for unknown keys, the accepted ones. All problems are collected
and reported together, so one round trip is enough to fix a query.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from .validation.errors import ConfigError

#: Config levels in the order the manifest and the bundle list them.
LEVELS: tuple[str, ...] = ("reco", "particle", "parton")
#: The keys a query may carry, in the order servicex 3.3.1 writes them.
QUERY_KEYS: tuple[str, ...] = (
    "reco",
    "parton",
    "particle",
    "max_events",
    "no_systematics",
    "no_filter",
    "image",
)
DEFAULTS: dict[str, Any] = {"max_events": -1, "no_systematics": True, "no_filter": False}
#: runTop_el.py hands ``-e`` to EventLoop as a signed 64-bit count.
MAX_EVENTS_LIMIT = 2**63 - 1
#: Nesting allowed inside a YAML mapping sent in parsed form (real configs use < 10 levels).
MAX_MAPPING_DEPTH = 64
#: The ServiceX app stores a request's transformer image in ``requests.image VARCHAR(128)``
#: (servicex_app models.py, ssl-hep/ServiceX 2024-10 line 176 and the 2026 @036b2e5): a longer
#: reference would end in a database error (500) after validation.
MAX_IMAGE_LENGTH = 128


class QueryError(Exception):
    """A user mistake in the query; ``message`` is shown to the user verbatim.

    ``errors`` carries the :class:`ConfigError` objects when the mistake is in a YAML config.
    """

    def __init__(self, message: str, errors: Sequence[ConfigError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[ConfigError] = list(errors)


@dataclass(frozen=True)
class TopCPRequest:
    """A checked query. ``configs`` maps level -> YAML text, for the levels requested only."""

    configs: dict[str, str] = field(hash=False)
    max_events: int = -1
    no_systematics: bool = True
    no_filter: bool = False
    image: str | None = None
    #: True when the YAML arrived as parsed mappings (their text is our own dump of them).
    parsed_form: bool = False

    def config_files(self) -> dict[str, str]:
        """File name -> YAML text, in manifest order (``reco.yaml``, ``particle.yaml``, ...)."""
        return {f"{lvl}.yaml": self.configs[lvl] for lvl in LEVELS if lvl in self.configs}

    def canonical(self) -> dict[str, Any]:
        """A normal form of the query: equal queries give equal dicts (and the same hash)."""
        return {
            "reco": self.configs.get("reco"),
            "parton": self.configs.get("parton"),
            "particle": self.configs.get("particle"),
            "max_events": self.max_events,
            "no_systematics": self.no_systematics,
            "no_filter": self.no_filter,
            "image": self.image,
        }

    def query_hash(self) -> str:
        """sha256 of the canonical query; names the bundle in the manifest and in caches."""
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_type_name(value: Any) -> str:
    """JSON's name for a decoded value's type, for messages (``array``, not ``list``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in JSON")


def _loads(code: str) -> Any:
    try:
        return json.loads(code, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise QueryError(
            f"the TopCP query is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise QueryError("the TopCP query is nested too deeply to be a TopCP query") from None
    except ValueError as exc:  # NaN/Infinity, integers with thousands of digits
        raise QueryError(f"the TopCP query is not valid JSON: {exc}") from None


def _mapping_depth_ok(root: Any) -> bool:
    """Iterative depth check, so a hostile mapping cannot exhaust the stack later."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_MAPPING_DEPTH:
            return False
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def _mapping_to_text(level: str, value: Mapping[Any, Any], problems: list[str]) -> str | None:
    """Dump a parsed config back to YAML so validation can point at lines of one text."""
    if not _mapping_depth_ok(value):
        problems.append(f"{level}: the config is nested deeper than {MAX_MAPPING_DEPTH} levels")
        return None
    bad_keys = [k for k in value if not isinstance(k, str)]
    if bad_keys:
        problems.append(f"{level}: block names must be strings, got {_short(bad_keys[0])}")
        return None
    try:
        return yaml.safe_dump(
            dict(value), sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
        )
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        problems.append(f"{level}: the config mapping cannot be written as YAML ({exc})")
        return None


def _unknown_key_message(key: Any) -> str:
    text = f"unknown query key {_short(key)}"
    if isinstance(key, str):
        close = difflib.get_close_matches(key, QUERY_KEYS, n=1, cutoff=0.6)
        if close:
            text += f" (did you mean '{close[0]}'?)"
    return text + "; accepted keys: " + ", ".join(QUERY_KEYS)


def parse_query(code: str | Mapping[str, Any]) -> TopCPRequest:
    """Check a TopCP query (JSON text or an already-decoded object) and normalise it.

    Missing option keys take servicex 3.3.1's defaults (``max_events`` -1, ``no_systematics``
    true, ``no_filter`` false). An explicit null means what it means to upstream's TopCP code
    generator (query_translate.py: "ensure None entries are ignored"): the option is not passed
    to runTop_el.py, so runTop_el.py's own default holds: all events, systematics ON, filter
    on. (servicex 3.3.1 sends null only when the user passes None.)
    Raises :class:`QueryError` listing every problem found.
    """
    if isinstance(code, str):
        data = _loads(code)
    elif isinstance(code, Mapping):
        data = code
    else:
        raise QueryError(f"the TopCP query must be a JSON object, got {json_type_name(code)}")
    if not isinstance(data, Mapping):
        raise QueryError(
            "the TopCP query must be a JSON object with keys "
            + ", ".join(QUERY_KEYS)
            + f"; got {json_type_name(data)}"
        )

    problems: list[str] = [_unknown_key_message(k) for k in data if k not in QUERY_KEYS]

    configs: dict[str, str] = {}
    parsed_form = False
    for level in LEVELS:
        value = data.get(level)
        if value is None:
            continue
        if isinstance(value, str):
            configs[level] = value
        elif isinstance(value, Mapping):
            parsed_form = True
            text = _mapping_to_text(level, value, problems)
            if text is not None:
                configs[level] = text
        else:
            problems.append(
                f"{level}: expected the YAML text of {level}.yaml (a string), its parsed mapping,"
                f" or null; got {json_type_name(value)}"
            )

    for level, text in list(configs.items()):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            problems.append(
                f"{level}: the YAML text is not valid Unicode ({exc.reason} at character {exc.start})"
            )
            del configs[level]

    given = [lvl for lvl in LEVELS if data.get(lvl) is not None]
    if not given:
        problems.append(
            "no config given: set at least one of reco, particle, parton "
            "(e.g. TopCP(reco='reco.yaml'))"
        )

    options: dict[str, Any] = dict(DEFAULTS)
    max_events = data.get("max_events")
    if max_events is not None:
        if isinstance(max_events, bool) or not isinstance(max_events, int):
            problems.append(
                f"max_events: expected an integer >= -1 (-1 means all events), "
                f"got {json_type_name(max_events)} {_short(max_events)}"
            )
        elif max_events < -1:
            problems.append(f"max_events: must be >= -1 (-1 means all events), got {max_events}")
        elif max_events > MAX_EVENTS_LIMIT:
            problems.append(f"max_events: {max_events} is larger than {MAX_EVENTS_LIMIT}")
        else:
            options["max_events"] = max_events
    for flag in ("no_systematics", "no_filter"):
        value = data.get(flag)
        if value is None:
            if flag in data:  # explicit null: no --no-systematics / --no-filter, as upstream
                options[flag] = False
            continue
        if isinstance(value, bool):
            options[flag] = value
        else:
            problems.append(
                f"{flag}: expected true or false, got {json_type_name(value)} {_short(value)}"
            )

    image = data.get("image")
    if image is not None:
        if not isinstance(image, str):
            problems.append(f"image: expected a string, got {json_type_name(image)}")
            image = None
        elif not image.strip():
            problems.append("image: expected a Docker image reference, got an empty string")
            image = None
        elif len(image) > MAX_IMAGE_LENGTH:
            problems.append(
                f"image: {len(image)} characters is longer than the {MAX_IMAGE_LENGTH} that "
                "ServiceX stores for a transformer image; use a shorter reference (a tag "
                "rather than a digest, or a shorter registry path)"
            )
            image = None

    if problems:
        if len(problems) == 1:
            raise QueryError(f"invalid TopCP query: {problems[0]}")
        raise QueryError("invalid TopCP query:\n" + "\n".join(f"- {p}" for p in problems))

    return TopCPRequest(
        configs=configs,
        max_events=options["max_events"],
        no_systematics=options["no_systematics"],
        no_filter=options["no_filter"],
        image=image,
        parsed_form=parsed_form,
    )
