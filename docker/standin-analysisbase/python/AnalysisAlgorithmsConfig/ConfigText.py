"""STAND-IN TextConfig: the YAML entry point, with AddConfigBlocks registered first."""

from __future__ import annotations

import importlib
from typing import Any

from AnalysisAlgorithmsConfig.ConfigFactory import ConfigFactory


class TextConfig(ConfigFactory):
    def __init__(self, yamlPath: Any = None, *, config: Any = None,
                 addDefaultBlocks: bool = True) -> None:
        super().__init__(addDefaultBlocks=False)
        self.addAlgConfigBlock(algName="AddConfigBlocks", alg=self._addNewConfigBlocks,
                               defaults={"self": self})
        if addDefaultBlocks:
            self.addDefaultAlgs()

    def _addNewConfigBlocks(self, modulePath: str, functionName: str, algName: str,
                            defaults: Any = None, pos: Any = None, superBlocks: Any = None):
        module = importlib.import_module(modulePath)
        func = getattr(module, functionName)
        self.addAlgConfigBlock(algName=algName, alg=func, defaults=defaults, pos=pos,
                               superBlocks=superBlocks)
