"""The emulated systematic variations and the CommonServices filters applied to them.

Real TopCPToolkit asks each CP tool for its recommended variations. The emulator has no
CP tools, so it offers a small documented set of kinematic variations (fixed relative
shifts, no smearing, so results stay deterministic) plus one weight variation per stored
generator weight. NOSYS is always kept, whatever the filters say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOSYS = "NOSYS"


@dataclass(frozen=True)
class Variation:
    """One emulated kinematic variation: ``scale`` multiplies the ``target``'s pt (and mass)."""

    name: str
    target: str  # "jets", "electrons" (also photons), "muons", "met_soft"
    scale: float


#: The emulated kinematic systematics (see docs/emulator.md).
KINEMATIC: tuple[Variation, ...] = (
    Variation("EG_SCALE_ALL__1down", "electrons", 1.0 - 0.005),
    Variation("EG_SCALE_ALL__1up", "electrons", 1.0 + 0.005),
    Variation("JET_EnergyScale__1down", "jets", 1.0 - 0.02),
    Variation("JET_EnergyScale__1up", "jets", 1.0 + 0.02),
    Variation("MET_SoftTrk_Scale__1down", "met_soft", 1.0 - 0.05),
    Variation("MET_SoftTrk_Scale__1up", "met_soft", 1.0 + 0.05),
    Variation("MUON_SCALE__1down", "muons", 1.0 - 0.003),
    Variation("MUON_SCALE__1up", "muons", 1.0 + 0.003),
)

#: CommonServices.onlySystematicsCategories -> name patterns (athena's categories).
CATEGORIES: dict[str, str] = {
    "jets": r"^JET_.*",
    "jer": r"^JET_JER.*",
    "electrons": r"^(EG_|EL_).*",
    "photons": r"^(EG_|PH_).*",
    "muons": r"^MUON_.*",
    "taus": r"^TAUS_.*",
    "met": r"^MET_.*",
    "tracks": r"^TRK_.*",
    "ftag": r"^FT_.*",
    "event": r"^(GEN_|PRW_).*",
}


def weight_name_to_sys(name: str) -> str:
    """TopCPToolkit's (PMGTruthWeightTool's) systematic name for a generator weight name.

    Empty for the nominal weight ("nominal", "Weight" or empty); otherwise ``GEN_`` plus the
    name with ``' set = '``/``' = '`` -> ``_``, ``= , . :`` dropped, spaces and newlines -> ``_``,
    ``#`` -> ``num`` and ``/`` -> ``over``.
    """
    sys_name = name.strip()
    if sys_name in ("", "nominal", "Weight"):
        return ""
    for old, new in ((" set = ", "_"), (" = ", "_"), ("=", ""), (",", ""), (".", ""), (":", ""),
                     (" ", "_"), ("#", "num"), ("\n", "_"), ("/", "over")):
        sys_name = sys_name.replace(old, new)
    return "GEN_" + sys_name


@dataclass(frozen=True)
class GeneratorWeights:
    """Which entry of ``mcEventWeights`` is nominal and which are the GEN_ variations."""

    nominal: int
    variations: tuple[tuple[str, int], ...]  # (GEN_ name, index)
    from_metadata: bool

    def names(self) -> list[str]:
        return [n for n, _ in self.variations]


def generator_weights(n_weights: int, names: list[str] | None) -> GeneratorWeights:
    """Map the stored weights to systematics.

    With the sample's weight names (MetaData ``TruthMetaData.weightNames``) the names follow
    TopCPToolkit; the nominal is the weight named "nominal"/"Weight"/"", else the first.
    Without them (files without MetaData) the variations are numbered ``GEN_w001`` ...
    """
    if names and len(names) == n_weights:
        converted = [weight_name_to_sys(n) for n in names]
        nominal = converted.index("") if "" in converted else 0
        seen: set[str] = set()
        variations = []
        for i, sysname in enumerate(converted):
            if i == nominal or not sysname or sysname in seen:
                continue
            seen.add(sysname)
            variations.append((sysname, i))
        return GeneratorWeights(nominal, tuple(variations), True)
    return GeneratorWeights(0, tuple((f"GEN_w{i:03d}", i) for i in range(1, n_weights)), False)


@dataclass
class SystematicsPlan:
    """The variations this run evaluates: kinematic ones and generator-weight ones."""

    kinematic: list[Variation]
    generator: list[str]  # GEN_ names that are run
    weights: GeneratorWeights = GeneratorWeights(0, (), False)

    def weight_index(self, name: str) -> int:
        """Index in mcEventWeights of NOSYS or of a GEN_ variation."""
        if name == NOSYS:
            return self.weights.nominal
        return dict(self.weights.variations)[name]

    @property
    def names(self) -> list[str]:
        return [NOSYS] + [v.name for v in self.kinematic] + list(self.generator)

    def for_target(self, target: str) -> list[Variation]:
        return [v for v in self.kinematic if v.target == target]


def plan_systematics(
    common: dict | None,
    *,
    enabled: bool,
    weights: GeneratorWeights,
) -> SystematicsPlan:
    """Apply runSystematics / filterSystematics / onlySystematicsCategories to the emulated set."""
    common = common or {}
    if not enabled or common.get("runSystematics") is False:
        return SystematicsPlan([], [], weights)
    candidates = [v.name for v in KINEMATIC] + weights.names()
    keep = set(candidates)
    regex = common.get("filterSystematics")
    if isinstance(regex, str) and regex:
        pattern = re.compile(regex)
        keep = {n for n in keep if pattern.fullmatch(n)}
    cats = common.get("onlySystematicsCategories")
    if isinstance(cats, list) and cats:
        pats = [re.compile(CATEGORIES[c]) for c in cats if c in CATEGORIES]
        keep = {n for n in keep if any(p.match(n) for p in pats)}
    return SystematicsPlan(
        [v for v in KINEMATIC if v.name in keep],
        [n for n in weights.names() if n in keep],
        weights,
    )
