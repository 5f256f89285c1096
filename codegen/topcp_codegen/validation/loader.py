"""Safe, bounded YAML loading that remembers where every key and value came from.

The real reader uses ``yaml.safe_load``; we compose with the same (libyaml when available)
safe loader so YAML 1.1 semantics (``yes``/``on`` are booleans, ``25000`` is an int) match,
but we build the Python objects ourselves to record line/column of each key and value, to
warn about duplicate keys (``safe_load`` silently keeps the last one), and to refuse alias bombs,
cycles and absurd nesting before anything large is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ConfigError
from .paths import format_path

Path = tuple[Any, ...]

#: Deepest nesting accepted (a real config is < 10 levels deep).
MAX_DEPTH = 64
#: Most nodes after alias expansion (a real config has a few hundred).
MAX_NODES = 100_000

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PositionLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader; only composes. Objects are built by :func:`_build` with positions."""


@dataclass
class LoadedYaml:
    """A parsed YAML file plus the 1-based (line, column) of its keys and values."""

    filename: str
    data: Any = None
    key_pos: dict[Path, tuple[int, int]] = field(default_factory=dict)
    value_pos: dict[Path, tuple[int, int]] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)
    #: paths whose value is a '|' or '>' block scalar (its text starts on the next line)
    block_scalars: set[Path] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)

    def position(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Best position for ``path``: the key (or value) itself, else its nearest ancestor."""
        probe = tuple(path)
        while True:
            table = self.key_pos if key else self.value_pos
            if probe in table:
                return table[probe]
            other = self.value_pos if key else self.key_pos
            if probe in other:
                return other[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]


def _err(filename: str, line: int, col: int, message: str, suggestion: str | None = None,
         path: str = "", rule: str = "yaml-syntax", severity: str = "error") -> ConfigError:
    return ConfigError(file=filename, line=line, column=col, path=path, message=message,
                       suggestion=suggestion, rule=rule, severity=severity)


def _prescan(text: str, filename: str) -> ConfigError | None:
    """Reject absurd nesting before the (recursive) composer sees it.

    Flow collections (``[[[[...``) and block indentation are both bounded; this keeps a
    hostile 1 MiB body from exhausting the C stack inside libyaml's composer.
    """
    depth = 0
    quote = ""
    line = 1
    col = 0
    in_comment = False
    for ch in text:
        col += 1
        if ch == "\n":
            line += 1
            col = 0
            in_comment = False
            continue
        if in_comment:
            continue
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"" and depth:
            quote = ch
        elif ch == "#":
            in_comment = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return _err(filename, line, col,
                            f"nesting deeper than {MAX_DEPTH} levels; refusing to parse",
                            rule="yaml-limit")
        elif ch in "]}":
            depth = max(0, depth - 1)
    for number, raw in enumerate(text.splitlines(), start=1):
        indent = len(raw) - len(raw.lstrip(" -"))
        if indent > 4 * MAX_DEPTH and raw.strip() and not raw.lstrip().startswith("#"):
            return _err(filename, number, indent + 1,
                        f"indentation deeper than {4 * MAX_DEPTH} columns; refusing to parse",
                        rule="yaml-limit")
    return None


def _check_graph(root: yaml.Node, filename: str) -> ConfigError | None:
    """Count nodes as they would be after alias expansion, without expanding anything."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise _Abort(node, f"nesting deeper than {MAX_DEPTH} levels")
        ident = id(node)
        if ident in sizes:
            return sizes[ident]
        if ident in active:
            raise _Abort(node, "recursive alias (a collection containing itself)")
        active.add(ident)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                total += size(key, depth + 1) + size(value, depth + 1)
                if total > MAX_NODES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
                if total > MAX_NODES:
                    break
        active.discard(ident)
        sizes[ident] = total
        if total > MAX_NODES:
            raise _Abort(node, f"more than {MAX_NODES} values after alias expansion "
                               "(alias bomb?)")
        return total

    try:
        size(root, 0)
    except _Abort as exc:
        mark = exc.node.start_mark
        return _err(filename, mark.line + 1, mark.column + 1, exc.message, rule="yaml-limit")
    return None


class _Abort(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _scalar(loader: PositionLoader, node: yaml.Node) -> Any:
    """Construct one scalar; a value Python cannot hold is a YAML error at that node.

    PyYAML raises plain ``ValueError`` for e.g. an integer of more than 4300 digits or a
    date such as ``2024-13-45``; the real reader would crash on the same text.
    """
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:
        shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read the value {shown!r} ({str(exc)[:120]})",
            node.start_mark) from None


def _build(loader: PositionLoader, node: yaml.Node, path: Path, out: LoadedYaml) -> Any:
    out.value_pos.setdefault(path, _pos(node))
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
        # safe_load refuses these too (e.g. !!python/object/apply): never build them.
        raise yaml.constructor.ConstructorError(
            None, None, f"could not determine a constructor for the tag {node.tag!r}",
            node.start_mark)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, tuple[int, int]] = {}
        own_keys = [k for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
        for key_node in own_keys:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = _scalar(loader, key_node)
            if key in seen:
                first = seen[key]
                out.errors.append(_err(
                    out.filename, *_pos(key_node),
                    f"duplicate key {key!r} (first at line {first[0]}); the real reader "
                    "silently keeps only the last value",
                    "remove or merge one of them",
                    path=format_path(path + (key,)), rule="duplicate-key",
                    # yaml.safe_load (what ConfigText.readYaml uses) accepts the file: a
                    # warning, since the config runs (with the earlier value ignored)
                    severity="warning",
                ))
            else:
                seen[key] = _pos(key_node)
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                out.errors.append(_err(out.filename, *_pos(key_node),
                                       "mapping keys must be plain scalars", path=format_path(path)))
                continue
            key = _scalar(loader, key_node)
            try:
                hash(key)
            except TypeError:
                continue
            out.key_pos[path + (key,)] = _pos(key_node)
            out.value_pos[path + (key,)] = _pos(value_node)
            result[key] = _build(loader, value_node, path + (key,), out)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (i,), out) for i, item in enumerate(node.value)]
    if node.style in ("|", ">"):
        out.block_scalars.add(path)
    return _scalar(loader, node)


def load_with_positions(text: str, filename: str) -> LoadedYaml:
    """Parse ``text`` safely; syntax problems become :class:`ConfigError` entries."""
    out = LoadedYaml(filename=filename, lines=text.splitlines())
    problem = _prescan(text, filename)
    if problem:
        out.errors.append(problem)
        return out
    loader = PositionLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            message = f"YAML syntax error: {exc.problem or exc}"
            if exc.context:
                message += f" ({exc.context})"
            out.errors.append(_err(filename, line, col, message))
            return out
        except yaml.YAMLError as exc:
            out.errors.append(_err(filename, 0, 0, f"YAML error: {exc}"))
            return out
        except RecursionError:
            out.errors.append(_err(filename, 0, 0, "nesting too deep; refusing to parse"))
            return out
        if root is None:
            out.data = None
            return out
        problem = _check_graph(root, filename)
        if problem:
            out.errors.append(problem)
            return out
        try:
            out.data = _build(loader, root, (), out)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            out.errors.append(_err(filename, line, col, f"YAML error: {exc.problem or exc}"))
            out.data = None
    finally:
        loader.dispose()
    return out


def load_yaml(text: str, filename: str) -> tuple[Any, list[ConfigError]]:
    """Contract entry point: the safe, bounded loader (data, errors)."""
    loaded = load_with_positions(text, filename)
    return loaded.data, loaded.errors
