"""STAND-IN blocks for the stand-in AnalysisBase image (invented; not athena)."""
