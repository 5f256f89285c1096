"""Which configuration blocks the emulator honours, approximates, or must skip.

The classification feeds the warnings, the ``topcp_emulator`` marker in the output file,
and ``--strict`` (which turns every skipped block into an error).
"""

from __future__ import annotations

from .config import LevelConfig

#: Emulated from stored quantities; the note says what is approximate (docs/emulator.md).
APPROXIMATED: dict[str, str] = {
    "PileupReweighting": "stored PileupWeight_NOSYS copied; no PRW systematics",
    "EventCleaning": "DFCommonJets_eventClean flags only; no GRL or primary-vertex check",
    "Jets": "no recalibration; JVT from NNJvtPass; b-tagging cut values are emulator stand-ins",
    "Electrons": "ID from DFCommon flags, isolation from stored cones, track eta for cluster eta",
    "Muons": "quality from the stored quality, isolation from stored cones",
    "Photons": "ID from DFCommon flags, isolation from stored cones",
    "TauJets": "ID from stored DeepSet/GNTau flags",
    "MissingET": "rebuilt from selected objects and the stored track soft term",
    "OverlapRemoval": "Delta-R cones only (no track or ghost association)",
    "EventSelection": "GLOBALTRIGMATCH and large-R cuts not emulated",
    "GeneratorLevelAnalysis": "CutBookkeepers from the processed events' MC weights",
    "PL_Electrons": "truth classification from classifierParticleType/Origin",
    "PL_Muons": "truth classification from classifierParticleType/Origin",
    "PL_Neutrinos": "truth classification from classifierParticleOrigin",
    "PL_Photons": "truth classification from classifierParticleType/Origin",
    "PL_Taus": "visible kinematics from the stored pt_vis/eta_vis/phi_vis/m_vis",
    "PL_MissingET": "from the stored MET_Truth NonInt term",
}

#: Emulated without approximation.
EXACT = {"CommonServices", "Thinning", "Output", "AddConfigBlocks", "PL_Jets", "PL_OverlapRemoval",
         "PrintConfiguration", "IOStats"}

#: Sub-blocks the emulator honours; any other sub-block is skipped.
HONOURED_SUBBLOCKS = {"PtEtaSelection", "WorkingPoint", "JVT", "FlavourTagging"}

OBJECT_BLOCKS = ("Jets", "Electrons", "Muons", "Photons", "TauJets")
PL_OBJECT_BLOCKS = ("PL_Electrons", "PL_Muons", "PL_Neutrinos", "PL_Jets", "PL_Taus", "PL_Photons")

_COMMON_OPTIONS = {"groupName", "skipOnData", "skipOnMC", "onlyForDSIDs", "propertyOverrides",
                   "ignoreDependencies", "skipWithSystematics"}


def classify(cfg: LevelConfig, *, is_mc: bool, dsid: int | None) -> tuple[list[str], list[str]]:
    """(approximated, skipped) descriptions for one level's configuration."""
    approx: list[str] = []
    skipped: list[str] = []
    for block in cfg.blocks():
        if block in EXACT:
            continue
        instances = cfg.instances(block, is_mc=is_mc, dsid=dsid)
        if not instances:
            continue
        if block in APPROXIMATED:
            approx.append(f"{cfg.filename}:{block} ({APPROXIMATED[block]})")
            if block in OBJECT_BLOCKS:
                for i, inst in enumerate(instances):
                    for key, value in inst.items():
                        if key[:1].isupper() and key not in HONOURED_SUBBLOCKS and isinstance(
                            value, (dict, list)
                        ):
                            skipped.append(f"{cfg.filename}:{block}[{i}].{key}")
            continue
        skipped.append(f"{cfg.filename}:{block}")
    return approx, skipped
