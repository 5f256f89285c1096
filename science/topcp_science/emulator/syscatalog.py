"""The release's systematic-variation names for the configured blocks (no CP tool is run).

Real TopCPToolkit asks each CP tool for its variations; the emulator offers the names those
tools register for the configuration at hand, each with an emulated shift (docs/emulator.md,
"Systematics"). Names and their evidence:

* jets: JetUncertaintiesTool with ``rel22/Summer2024_PreRec`` (Run 3) or
  ``rel22/Summer2023_PreRec`` (Run 2) ``R4_<JES>Reduction_<JER>JER.config``
  (athena ``JetAnalysisConfig.getUncertaintyToolSettings``); the Category/Full lists are
  those of real TopCPToolkit runs (stored copies 55457710855, mc23; 29972767007, the mc20
  differences). The ``_PseudoData`` twins come from the second tool the Full/All JER models
  set up (``doPseudoData``).
* electrons/photons: EgammaCalibrationAndSmearingTool, ``decorrelationModel`` 1NP_v1:
  ``EG_RESOLUTION_ALL``, ``EG_SCALE_ALL``.
* muons: MuonCalibTool (MuonCalibIntScaleSmearTool, MuonCalibIntSagittaTool): ``MUON_CB``
  (``calibMode`` correctData_CB/notCorrectData_CB) or ``MUON_ID``/``MUON_MS`` (ID+MS modes),
  ``MUON_SCALE``, ``MUON_SAGITTA_DATASTAT``, ``MUON_SAGITTA_RESBIAS``.
* MET: METSystematicsTool track soft term: ``MET_SoftTrk_ResoPara``, ``MET_SoftTrk_ResoPerp``,
  ``MET_SoftTrk_ScaleDown``, ``MET_SoftTrk_ScaleUp`` (no ``__1up`` suffix).
"""

from __future__ import annotations

from dataclasses import dataclass

UP, DOWN = "__1up", "__1down"

#: JES nuisance parameters of R4_CategoryReduction (both Run 2 and Run 3).
_JES_CATEGORY_COMMON = (
    "JET_BJES_Response",
    "JET_EffectiveNP_Detector1", "JET_EffectiveNP_Detector2",
    "JET_EffectiveNP_Mixed1", "JET_EffectiveNP_Mixed2", "JET_EffectiveNP_Mixed3",
    "JET_EffectiveNP_Modelling1", "JET_EffectiveNP_Modelling2", "JET_EffectiveNP_Modelling3",
    "JET_EffectiveNP_Modelling4",
    "JET_EffectiveNP_Statistical1", "JET_EffectiveNP_Statistical2", "JET_EffectiveNP_Statistical3",
    "JET_EffectiveNP_Statistical4", "JET_EffectiveNP_Statistical5", "JET_EffectiveNP_Statistical6",
    "JET_EtaIntercalibration_Modelling", "JET_EtaIntercalibration_TotalStat",
    "JET_Flavor_Composition", "JET_Flavor_Response",
    "JET_InSitu_NonClosure_PreRec",
    "JET_JESUnc_Noise_PreRec", "JET_JESUnc_VertexingAlg_PreRec",
    "JET_Pileup_OffsetMu", "JET_Pileup_OffsetNPV", "JET_Pileup_PtTerm", "JET_Pileup_RhoTopology",
    "JET_SingleParticle_HighPt",
)
_JES_CATEGORY = {
    "Run3": _JES_CATEGORY_COMMON + ("JET_EtaIntercalibration_NonClosure_0p2_PreRec",
                                    "JET_FCal_MC23_NonClosure_PreRec"),
    "Run2": _JES_CATEGORY_COMMON + ("JET_EtaIntercalibration_NonClosure_PreRec",
                                    "JET_JESUnc_mc20vsmc21_MC20_PreRec", "JET_PunchThrough_MC16",
                                    "JET_RelativeNonClosure_MC20"),
}
#: JER nuisance parameters of the Full JER model (each also as ``<name>_PseudoData``).
_JER_FULL_COMMON = ("JET_JERUnc_Noise_PreRec", "JET_JER_DataVsMC_MC16") + tuple(
    f"JET_JER_EffectiveNP_{i}" for i in range(1, 12)) + ("JET_JER_EffectiveNP_12restTerm",)
_JER_FULL = {
    "Run3": _JER_FULL_COMMON,
    "Run2": _JER_FULL_COMMON + ("JET_JERUnc_mc20vsmc21_MC20_PreRec",),
}
KNOWN_JET_MODELS = {("Category", "Full")}


@dataclass(frozen=True)
class Variation:
    """One emulated kinematic variation.

    ``target``: what it changes ("jets", "egamma", "muons", "met_soft"). ``shift``: the
    emulated change, shared by every variation with the same key (so the chain is evaluated
    once per distinct shift): ``scale+``/``scale-`` multiply pT and mass by 1 +- the size,
    ``smear+``/``smear-`` by 1 +- size * s with a fixed per-object sign s, and for the MET
    soft term ``para``/``perp`` scale its component along / across the hard-object sum.
    """

    name: str
    target: str
    shift: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.target, self.shift)


#: The emulated shift sizes (relative), per target and kind.
SHIFT_SIZE = {
    ("jets", "scale"): 0.01, ("jets", "smear"): 0.01,
    ("egamma", "scale"): 0.005, ("egamma", "smear"): 0.01,
    ("muons", "scale"): 0.003, ("muons", "smear"): 0.01,
    ("met_soft", "scale"): 0.05, ("met_soft", "para"): 0.10, ("met_soft", "perp"): 0.10,
}


def _updown(names, target: str, kind: str) -> list[Variation]:
    out = []
    for n in names:
        out.append(Variation(n + UP, target, kind + "+"))
        out.append(Variation(n + DOWN, target, kind + "-"))
    return out


def jet_variations(jes: str, jer: str, geometry: str, warn) -> list[Variation]:
    """JetUncertaintiesTool's variations for the configured models (Category/Full known)."""
    if (jes, jer) not in KNOWN_JET_MODELS:
        warn(f"Jets: the systematic names of systematicsModelJES '{jes}' / systematicsModelJER '{jer}' "
             "are not known to the emulator; it writes the Category/Full names instead (a real run "
             "names these variations differently)")
    out = _updown(_JES_CATEGORY[geometry], "jets", "scale")
    jer_names = list(_JER_FULL[geometry])
    jer_names += [n + "_PseudoData" for n in jer_names]
    out += _updown(jer_names, "jets", "smear")
    return out


def egamma_variations(model: str, warn) -> list[Variation]:
    if model != "1NP_v1":
        warn(f"Electrons: decorrelationModel '{model}' is not emulated; EG_RESOLUTION_ALL/EG_SCALE_ALL "
             "(the 1NP_v1 names) are written instead")
    return _updown(["EG_RESOLUTION_ALL"], "egamma", "smear") + _updown(["EG_SCALE_ALL"], "egamma", "scale")


def muon_variations(calib_mode: str) -> list[Variation]:
    resolution = ["MUON_CB"] if calib_mode.endswith("_CB") else ["MUON_ID", "MUON_MS"]
    return (_updown(resolution, "muons", "smear")
            + _updown(["MUON_SAGITTA_DATASTAT", "MUON_SAGITTA_RESBIAS", "MUON_SCALE"], "muons", "scale"))


def met_variations() -> list[Variation]:
    return [
        Variation("MET_SoftTrk_ResoPara", "met_soft", "para+"),
        Variation("MET_SoftTrk_ResoPerp", "met_soft", "perp+"),
        Variation("MET_SoftTrk_ScaleDown", "met_soft", "scale-"),
        Variation("MET_SoftTrk_ScaleUp", "met_soft", "scale+"),
    ]


def sort_key(name: str) -> tuple[str, int]:
    """listOfSystematics order: by base name, ``__1up`` before ``__1down``."""
    if name.endswith(UP):
        return (name[: -len(UP)], 0)
    if name.endswith(DOWN):
        return (name[: -len(DOWN)], 1)
    return (name, 0)
