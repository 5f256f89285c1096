"""STAND-IN ConfigSequence: option reachability through the last block and its group."""

from __future__ import annotations

import itertools
from functools import wraps
from typing import Any

_groups = itertools.count(1)


def groupBlocks(func):
    """Give every block a factory function appends the same groupName."""

    @wraps(func)
    def wrapper(**kwargs: Any) -> None:
        func(**kwargs)
        name = f"{func.__name__}_{next(_groups)}"
        for block in kwargs["seq"]:
            block.setOptionValue("groupName", name)

    return wrapper


class ConfigSequence:
    def __init__(self) -> None:
        self._blocks: list[Any] = []

    def append(self, block: Any) -> None:
        self._blocks.append(block)

    def __iter__(self):
        return iter(self._blocks)

    def _reachable(self) -> list[Any]:
        """The last block plus every block sharing its (non-empty) groupName."""
        last = self._blocks[-1]
        group = last.getOptionValue("groupName")
        return [last] + [b for b in self._blocks[:-1]
                         if group and b.getOptionValue("groupName") == group]

    def getOptions(self) -> list[dict[str, Any]]:
        out = []
        for block in self._reachable():
            for name, opt in block.getOptions().items():
                out.append({"name": name, "defaultValue": opt.default, "type": opt.type,
                            "required": opt.required, "noneAction": opt.noneAction,
                            "value": getattr(block, name)})
        return out

    def setOptionValue(self, name: str, value: Any) -> None:
        option = name.lstrip(".")
        used = False
        for block in self._reachable():
            if block.hasOption(option):
                block.setOptionValue(option, value)
                used = True
        if not used:
            raise ValueError(f"{option} not found in the last block or its group")

    def setOptions(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        declared = self.getOptions()
        for opt in declared:
            if opt["name"] in options:
                self.setOptionValue("." + opt["name"], options[opt["name"]])
            elif opt["required"]:
                raise ValueError(f"{opt['name']} is required but not included in config")
        return declared
