"""The systematic variations a run evaluates and the CommonServices filters applied to them.

Real TopCPToolkit asks each CP tool for its recommended variations. The emulator has no
CP tools: syscatalog.py offers, for the configured blocks, the names those tools register,
each with an emulated shift (docs/emulator.md, "Systematics"), plus one weight variation per
stored generator weight (PMGTruthWeightTool's names). NOSYS is always kept, whatever the
filters say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import EmulatorError
from .syscatalog import Variation, sort_key

NOSYS = "NOSYS"


#: CommonServices.onlySystematicsCategories -> name fragments (athena AsgAnalysisConfig
#: ``SystematicsCategories``; the service regex keeps names *containing* one of them).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "JETS": ("JET_",),
    "JER": ("JET_JER",),
    "ELECTRONS": ("EG_", "EL_"),
    "MUONS": ("MUON_",),
    "PHOTONS": ("EG_", "PH_"),
    "TAUS": ("TAUS_",),
    "MET": ("MET_",),
    "TRACKS": ("TRK_",),
    "EVENT": ("GEN_", "PRW_"),
    "FTAG": ("FT_",),
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
    """Map the stored weights to systematics the way PMGTruthWeightTool does.

    NOSYS is always entry 0 of ``mcEventWeights`` (the tool's calibration cache maps the empty
    systematic to index 0); every weight whose name converts to a non-empty ``GEN_`` name is a
    variation with its own index, entry 0 included (the mc23 test file's ``Default`` ->
    ``GEN_Default``, index 0; its ``nominal``, index 1, is no variation at all). Without the
    names (files without MetaData) the variations are numbered ``GEN_w001`` ...
    """
    if names and len(names) == n_weights:
        seen: set[str] = set()
        variations = []
        for i, name in enumerate(names):
            sysname = weight_name_to_sys(name)
            if not sysname or sysname in seen:
                continue
            seen.add(sysname)
            variations.append((sysname, i))
        return GeneratorWeights(0, tuple(variations), True)
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
        """listOfSystematics: NOSYS first, then by base name (up before down)."""
        rest = sorted([v.name for v in self.kinematic] + list(self.generator), key=sort_key)
        return [NOSYS] + rest

    def for_target(self, target: str) -> list[Variation]:
        return [v for v in self.kinematic if v.target == target]

    def shifts(self, target: str) -> list[str]:
        """The distinct emulated shifts of ``target`` that some variation uses, in a fixed order."""
        return sorted({v.shift for v in self.kinematic if v.target == target})


def _category_regex(cats: list) -> re.Pattern:
    fragments = []
    for c in cats:
        key = str(c).upper()
        if key not in CATEGORIES:
            raise EmulatorError(
                f"CommonServices.onlySystematicsCategories: invalid systematics category {c!r}; "
                f"must be one of {', '.join(CATEGORIES)} (athena SystematicsCategories)")
        fragments += CATEGORIES[key]
    return re.compile("^(?=.*(" + "|".join(fragments) + ")|$).*")


def plan_systematics(
    common: dict | None,
    *,
    enabled: bool,
    weights: GeneratorWeights,
    kinematic: list[Variation] | None = None,
    generator: bool = True,
) -> SystematicsPlan:
    """Apply runSystematics / onlySystematicsCategories / filterSystematics to the offered set.

    As in CommonServicesConfig, ``filterSystematics`` replaces the category regex when both
    are set; the SystematicsSvc keeps a name when the regex matches all of it (regex_match).
    NOSYS always stays.
    """
    common = common or {}
    if not enabled or common.get("runSystematics") is False:
        return SystematicsPlan([], [], weights)
    kinematic = list(kinematic or [])
    gen_names = weights.names() if generator else []
    pattern = None
    cats = common.get("onlySystematicsCategories")
    if isinstance(cats, list) and cats:
        pattern = _category_regex(cats)
    regex = common.get("filterSystematics")
    if isinstance(regex, str):
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise EmulatorError(f"CommonServices.filterSystematics: bad regular expression {regex!r}: {exc}") from exc
    if pattern is not None:
        kinematic = [v for v in kinematic if pattern.fullmatch(v.name)]
        gen_names = [n for n in gen_names if pattern.fullmatch(n)]
    return SystematicsPlan(kinematic, gen_names, weights)
