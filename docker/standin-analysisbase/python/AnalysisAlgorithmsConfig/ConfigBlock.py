"""STAND-IN ConfigBlock: options declared with addOption, typed, with noneAction (see package doc)."""

from __future__ import annotations

from typing import Any


class ConfigBlockOption:
    """What one declared option carries (the fields getOptions() exposes)."""

    def __init__(self, type: Any = None, info: str = "", noneAction: str = "ignore",
                 required: bool = False, default: Any = None) -> None:
        self.type = type
        self.info = info
        self.noneAction = noneAction
        self.required = required
        self.default = default


class ConfigBlock:
    """Base class of every block: the common options and the option store."""

    def __init__(self) -> None:
        self._options: dict[str, ConfigBlockOption] = {}
        self._dependencies: list[str] = []
        self.addOption("groupName", "", type=str)
        self.addOption("skipOnData", False, type=bool)
        self.addOption("skipOnMC", False, type=bool)
        self.addOption("onlyForDSIDs", [], type=list)
        self.addOption("propertyOverrides", {}, type=None)

    def addDependency(self, name: str, required: bool = True) -> None:
        if not self._dependencies:
            self.addOption("ignoreDependencies", [], type=list)
        self._dependencies.append(name)

    def addOption(self, name: str, defaultValue: Any, *, type: Any, info: str = "",
                  noneAction: str = "ignore", required: bool = False, **meta: Any) -> None:
        if name in self._options:
            raise KeyError(f"duplicate option: {name}")
        if type not in (str, bool, int, float, list, dict, None):
            raise TypeError(f"unknown option type: {type}")
        setattr(self, name, defaultValue)
        self._options[name] = ConfigBlockOption(type=type, info=info, noneAction=noneAction,
                                                required=required, default=defaultValue)

    def setOptionValue(self, name: str, value: Any) -> None:
        if name not in self._options:
            raise KeyError(f'unknown option "{name}" in block "{type(self).__name__}"')
        option = self._options[name]
        if value is None and option.noneAction == "ignore":
            return
        if value is None and option.noneAction == "error":
            raise ValueError(f"passed None for setting option {name} with noneAction=error")
        if option.type is float and type(value) is int:
            value = float(value)
        if option.type is not None and option.type is not type(value):
            raise ValueError(f"{name} for block {type(self).__name__} should be of type "
                             f"{option.type} not {type(value)}")
        setattr(self, name, value)

    def getOptionValue(self, name: str) -> Any:
        return getattr(self, name) if name in self._options else None

    def getOptions(self) -> dict[str, ConfigBlockOption]:
        return dict(self._options)

    def hasOption(self, name: str) -> bool:
        return name in self._options
