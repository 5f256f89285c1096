"""Emulated runTop_el.py: real PHYSLITE in, TopCPToolkit-shaped ntuples out, no AnalysisBase.

A preview and test double, never physics: every output file carries a ``topcp_emulator``
marker saying so, listing the approximated and skipped blocks (docs/emulator.md).
"""

__version__ = "0.1.0"
