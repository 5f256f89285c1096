"""Make ``no_filter`` take effect: set ``noFilter: true`` in the filtering blocks of a config.

``runTop_el.py`` ignores ``--no-filter`` when it reads a text config (``-t``), so the only way
to keep every event is to set ``noFilter`` in each EventSelection, EventCleaning and Trigger
block. The edit is made in the user's text (comments, quoting and layout stay as written) at
positions taken from PyYAML's node marks, and then checked: the edited text must load to the
original data plus ``noFilter: true`` in exactly those blocks. If a layout defeats the textual
edit, the config is re-serialised from its data instead, which is equivalent for the reader.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

#: Top-level blocks whose ``noFilter`` option switches off their event filter.
FILTER_BLOCKS: tuple[str, ...] = ("EventCleaning", "Trigger", "EventSelection")


def _instances(root: yaml.Node) -> list[tuple[str, int, yaml.MappingNode]]:
    """Each mapping instance of a filtering block, as (block, index, node), in text order."""
    found: list[tuple[str, int, yaml.MappingNode]] = []
    if not isinstance(root, yaml.MappingNode):
        return found
    for key, value in root.value:
        if not isinstance(key, yaml.ScalarNode) or key.value not in FILTER_BLOCKS:
            continue
        if isinstance(value, yaml.MappingNode):
            found.append((key.value, 0, value))
        elif isinstance(value, yaml.SequenceNode):
            for i, item in enumerate(value.value):
                if isinstance(item, yaml.MappingNode):
                    found.append((key.value, i, item))
    return found


def _edit_for(node: yaml.MappingNode, text: str) -> tuple[int, int, str] | None:
    """(start, end, replacement) that sets noFilter in this mapping, or None if unsure."""
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "noFilter":
            if not isinstance(value, yaml.ScalarNode):
                return None
            return (value.start_mark.index, value.end_mark.index, "true")
    if node.value:
        first_key = node.value[0][0]
        pos = first_key.start_mark.index
        if node.flow_style:
            return (pos, pos, "noFilter: true, ")
        return (pos, pos, "noFilter: true\n" + " " * first_key.start_mark.column)
    # An empty mapping is only writable in flow style: `{}` -> `{noFilter: true}`.
    close = node.end_mark.index - 1
    if node.flow_style and 0 <= close < len(text) and text[close] == "}":
        return (close, close, "noFilter: true")
    return None


def _expected(data: Any) -> Any:
    """The data the edited text must load to."""
    data = copy.deepcopy(data)
    for block in FILTER_BLOCKS:
        value = data.get(block) if isinstance(data, dict) else None
        items = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
        for item in items:
            if isinstance(item, dict):
                item["noFilter"] = True
    return data


def inject_no_filter(text: str, filename: str) -> tuple[str, list[str]]:
    """Return the edited text and the ``"<file>:<Block>[i]"`` instances that now have noFilter.

    The text must already have passed validation (one safe YAML document).
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    instances = _instances(root) if root is not None else []
    if not instances:
        return text, []
    injected = [f"{filename}:{block}[{i}]" for block, i, _ in instances]

    edits: dict[int, tuple[int, int, str]] = {}
    textual = True
    for _, _, node in instances:
        if id(node) in edits:  # the same node reached twice through a YAML alias
            continue
        edit = _edit_for(node, text)
        if edit is None:
            textual = False
            break
        edits[id(node)] = edit

    expected = _expected(yaml.safe_load(text))
    if textual:
        new = text
        for start, end, repl in sorted(edits.values(), key=lambda e: e[0], reverse=True):
            new = new[:start] + repl + new[end:]
        try:
            if yaml.safe_load(new) == expected:
                return new, injected
        except yaml.YAMLError:
            pass
    return yaml.safe_dump(expected, sort_keys=False, allow_unicode=True, width=4096), injected
