"""Science runtime: the transform script shipped in every bundle, its local runner, the emulator.

Kept import-light on purpose: ``transform_single_file.py`` is standard-library only and runs
flat from a bundle, and ``topcp_science.emulator`` pulls in uproot/awkward only when used.
"""
