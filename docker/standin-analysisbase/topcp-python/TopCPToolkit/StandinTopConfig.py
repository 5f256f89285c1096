"""STAND-IN TopCPToolkit block, usable through AddConfigBlocks (invented)."""

from __future__ import annotations

from AnalysisAlgorithmsConfig.ConfigBlock import ConfigBlock


class StandinTopConfig(ConfigBlock):
    def __init__(self) -> None:
        super().__init__()
        self.addOption("histories", "", type=str)
        self.addOption("standinThreshold", 1.0, type=float)
