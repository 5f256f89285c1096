"""STAND-IN config blocks: invented options in the shapes real blocks use.

``standinDecoration`` (CommonServices) and ``standinLargeROnly`` (large-R Jets) exist only
here, so a test can tell a dump of this release from the packaged schema.
"""

from __future__ import annotations

from AnalysisAlgorithmsConfig.ConfigBlock import ConfigBlock
from AnalysisAlgorithmsConfig.ConfigSequence import groupBlocks


class CommonServicesConfig(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("runSystematics", None, type=bool)
        self.addOption("systematicsHistogram", None, type=str)
        self.addOption("standinDecoration", "", type=str)


class PreJetBlock(ConfigBlock):
    def __init__(self, containerName: str = "", jetCollection: str = "") -> None:
        super().__init__()
        self.addOption("containerName", containerName, type=str, noneAction="error")
        self.addOption("jetCollection", jetCollection, type=str, noneAction="error")


class SmallRJetBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("containerName", "", type=str, noneAction="error")
        self.addOption("runNNJvtUpdate", False, type=bool)
        self.addOption("systematicsModelJES", "Category", type=str)
        self.addOption("systematicsModelJER", "Full", type=str)


class LargeRJetBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("containerName", "", type=str, noneAction="error")
        self.addOption("minPt", 200000.0, type=float)
        self.addOption("standinLargeROnly", False, type=bool)


@groupBlocks
def makeJetConfig(seq, containerName, jetCollection) -> None:
    """Pre-block plus the small-R or the large-R block, by the collection's radius."""
    seq.append(PreJetBlock(containerName, jetCollection))
    large = jetCollection.startswith("AntiKt10")
    block = LargeRJetBlock() if large else SmallRJetBlock()
    block.setOptionValue("containerName", containerName)
    seq.append(block)


class JvtBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addDependency("OverlapRemoval", required=False)
        self.addOption("containerName", "", type=str, noneAction="error")


class ElectronCalibrationBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("containerName", "", type=str, noneAction="error")
        self.addOption("crackVeto", False, type=bool)
        self.addOption("minPt", 4500.0, type=float)


class ElectronWorkingPointBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("containerName", "", type=str, noneAction="error")
        self.addOption("selectionName", "", type=str, noneAction="error")
        self.addOption("identificationWP", None, type=str)
        self.addOption("isolationWP", None, type=str)


class PtEtaSelectionBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("containerName", "", type=str, noneAction="error")
        self.addOption("selectionName", "", type=str, noneAction="error")
        self.addOption("minPt", None, type=float)
        self.addOption("maxEta", None, type=float)


class EventSelectionBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("name", "", type=str)
        self.addOption("selectionCuts", "", type=str)


class EventSelectionMergerBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("selections", [], type=list)
        self.addOption("noFilter", False, type=bool)


def makeEventSelections(seq, electrons=None, jets=None, selectionCutsDict=None, noFilter=None):
    """One block per region, then the merger (the last block: its options are reachable)."""
    for name, cuts in (selectionCutsDict or {}).items():
        block = EventSelectionBlock()
        block.setOptionValue("name", name)
        block.setOptionValue("selectionCuts", cuts)
        seq.append(block)
    seq.append(EventSelectionMergerBlock())


class OutputBlock(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("treeName", "analysis", type=str)
        self.addOption("vars", [], type=None)
        self.addOption("containers", {}, type=None)
