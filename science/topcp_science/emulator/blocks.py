"""Which configuration blocks the emulator honours, approximates, or must skip.

The classification feeds the warnings, the ``topcp_emulator`` marker in the output file,
and ``--strict`` (which turns every skipped block into an error).
"""

from __future__ import annotations

from .config import LevelConfig

#: Emulated from stored quantities; the note says what is approximate (docs/emulator.md).
APPROXIMATED: dict[str, str] = {
    "PileupReweighting": "PHYSLITE variables copied as the release does on PHYSLITE (PileupWeight_NOSYS, "
                         "event ids, actual/average interactions per crossing, beam-spot weight on Run 2)",
    "EventCleaning": "DFCommonJets_eventClean flags",
    "Jets": "PHYSLITE kinematics taken as calibrated; baselineJvt from NNJvtPass; b-tagging from the "
            "btaggingLink-ed scores with stand-in cut values",
    "Electrons": "ID from DFCommon flags, isolation from stored cones; cluster etaBE(2) eta cuts, crack "
                 "veto and goodOQ as the release applies them",
    "Muons": "quality from the stored quality, isolation from stored cones",
    "Photons": "ID from DFCommon flags, isolation from stored cones",
    "TauJets": "ID from stored DeepSet/GNTau flags",
    "MissingET": "METMaker-like rebuild from all jets, the selected objects and the track soft term",
    "OverlapRemoval": "Delta-R cones only (no track or ghost association)",
    "EventSelection": "cuts as the EventSelectionAlgorithms decide; GLOBALTRIGMATCH and large-R cuts not emulated",
    "GeneratorLevelAnalysis": "weights and GEN_ names as PMGTruthWeightTool; CutBookkeepers from the file "
                              "metadata",
    "PL_Electrons": "truth classification from classifierParticleType/Origin",
    "PL_Muons": "truth classification from classifierParticleType/Origin",
    "PL_Neutrinos": "truth classification from classifierParticleOrigin",
    "PL_Photons": "truth classification from classifierParticleType/Origin",
    "PL_Taus": "visible kinematics from the stored pt_vis/eta_vis/phi_vis/m_vis",
    "PL_MissingET": "from the stored MET_Truth NonInt term",
}

#: What the emulator cannot do for a block it runs (no CP tool, no calibration file).
NOT_EMULATED: dict[str, str] = {
    "EventCleaning": "GRL and primary-vertex requirement",
    "Jets": "JES/JER calibration and its real uncertainties (emulated shifts only), JVT and b-tagging "
            "efficiency scale factors (jvtEfficiency, weight_jvt_effSF, weight_ftag_effSF), CDI cut values",
    "Electrons": "energy calibration and smearing, isolation corrections, reco/ID/isolation scale factors, "
                 "track selection (d0/z0), the real isolation tool",
    "Muons": "momentum calibration (MuonCalibTool), efficiency scale factors, track selection (d0/z0), "
             "MuonSelectionTool",
    "Photons": "calibration, scale factors, the photon block's cluster-eta/OQ/cleaning preselection",
    "TauJets": "energy scale and scale factors",
    "MissingET": "the METAssociationMap (constituent overlaps are Delta-R stand-ins), muon energy-loss and "
                 "EM-scale jet handling, METSignificance (an emulated object-based significance is written)",
    "OverlapRemoval": "track-based electron-muon and ghost-associated muon-jet criteria",
    "EventSelection": "GLOBALTRIGMATCH, ghost-matched and large-R jet cuts",
    "GeneratorLevelAnalysis": "PDF/HF-fraction reweighting options",
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


def classify(cfg: LevelConfig, *, is_mc: bool, dsid: int | None
             ) -> tuple[list[str], list[str], dict[str, dict[str, str]]]:
    """(approximated, skipped, per-block notes) for one level's configuration.

    The notes map ``file:block`` to ``{"emulated": ..., "not_emulated": ...}``; the
    approximated descriptions carry both, so any reader of the marker (e.g.
    ``topcp-sx inspect``) shows what each block could not do.
    """
    approx: list[str] = []
    skipped: list[str] = []
    notes: dict[str, dict[str, str]] = {}
    for block in cfg.blocks():
        if block in EXACT:
            continue
        instances = cfg.instances(block, is_mc=is_mc, dsid=dsid)
        if not instances:
            continue
        if block in APPROXIMATED:
            key = f"{cfg.filename}:{block}"
            note = {"emulated": APPROXIMATED[block]}
            text = APPROXIMATED[block]
            if block in NOT_EMULATED:
                note["not_emulated"] = NOT_EMULATED[block]
                text += f"; not emulated: {NOT_EMULATED[block]}"
            notes[key] = note
            approx.append(f"{key} ({text})")
            if block in OBJECT_BLOCKS:
                for i, inst in enumerate(instances):
                    for k, value in inst.items():
                        if k[:1].isupper() and k not in HONOURED_SUBBLOCKS and isinstance(value, (dict, list)):
                            skipped.append(f"{cfg.filename}:{block}[{i}].{k}")
            continue
        skipped.append(f"{cfg.filename}:{block}")
    return approx, skipped, notes
