"""STAND-IN ConfigFactory: block registry (root and sub-blocks) and FactoryBlock.makeConfig."""

from __future__ import annotations

import inspect
from typing import Any

from AnalysisAlgorithmsConfig.ConfigSequence import ConfigSequence


def getFuncArgs(func: Any) -> list[str]:
    target = func.__init__ if inspect.isclass(func) else func
    args = list(inspect.signature(target).parameters)
    return [a for a in args if a != "self"]


def getDefaultArgs(func: Any) -> dict[str, Any]:
    target = func.__init__ if inspect.isclass(func) else func
    return {k: p.default for k, p in inspect.signature(target).parameters.items()
            if p.default is not inspect.Parameter.empty}


class FactoryBlock:
    def __init__(self, alg: Any, algName: str, options: list[str], defaults: Any,
                 subAlgs: dict | None = None) -> None:
        self.alg = alg
        self.algName = algName
        self.options = options
        self.defaults = defaults
        self.subAlgs = subAlgs if subAlgs is not None else {}

    def makeConfig(self, funcOptions: dict[str, Any]):
        seq = ConfigSequence()
        defaults = getDefaultArgs(self.alg)
        args: dict[str, Any] = {}
        for arg in getFuncArgs(self.alg):
            if arg in funcOptions:
                args[arg] = funcOptions[arg]
            elif arg in defaults:
                args[arg] = defaults[arg]
            elif self.defaults and arg in self.defaults:
                args[arg] = self.defaults[arg]
            elif arg == "seq":
                args[arg] = seq
            elif arg == "kwargs":
                continue
            else:
                raise ValueError(f"{arg} is required for {self.algName}")
        if inspect.isclass(self.alg):
            seq.append(self.alg(**args))
        else:
            self.alg(**args)
        return seq, args.keys()


class ConfigFactory:
    def __init__(self, addDefaultBlocks: bool = True) -> None:
        self.ROOTNAME = "root"
        self._algs: dict[str, FactoryBlock] = {}
        self._order: dict[str, list[str]] = {self.ROOTNAME: []}
        if addDefaultBlocks:
            self.addDefaultAlgs()

    def addAlgConfigBlock(self, algName: str, alg: Any, defaults: Any = None, pos: Any = None,
                          superBlocks: Any = None) -> None:
        supers = [self.ROOTNAME] if superBlocks is None else (
            superBlocks if isinstance(superBlocks, list) else [superBlocks])
        for block in supers:
            order = self._order.setdefault(block, [])
            algs = self._algs if block == self.ROOTNAME else self._algs[block].subAlgs
            if algName in algs:
                raise ValueError(f"{algName} has already been added.")
            algs[algName] = FactoryBlock(alg, algName, getFuncArgs(alg), defaults)
            if pos is None:
                order.append(algName)
            elif pos in order:
                order.insert(order.index(pos), algName)
            else:
                raise ValueError(f"{pos} does not exist in already added config blocks")

    def addDefaultAlgs(self) -> None:
        from StandinAnalysisAlgorithms import Blocks as B

        self.addAlgConfigBlock("CommonServices", B.CommonServicesConfig)
        self.addAlgConfigBlock("Jets", B.makeJetConfig)
        self.addAlgConfigBlock("JVT", B.JvtBlock, superBlocks="Jets")
        self.addAlgConfigBlock("Electrons", B.ElectronCalibrationBlock)
        self.addAlgConfigBlock("WorkingPoint", B.ElectronWorkingPointBlock, superBlocks="Electrons")
        self.addAlgConfigBlock("PtEtaSelection", B.PtEtaSelectionBlock,
                               defaults={"selectionName": ""},
                               superBlocks=[self.ROOTNAME, "Jets", "Electrons"])
        self.addAlgConfigBlock("EventSelection", B.makeEventSelections)
        self.addAlgConfigBlock("Output", B.OutputBlock)
