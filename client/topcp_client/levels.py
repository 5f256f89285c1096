"""Which TopCP level (reco, particle, parton) a config file is for, when the user did not say.

runTop_el.py itself never guesses: with ``-t NAME`` it reads ``NAME/reco.yaml``, and
``particle.yaml``/``parton.yaml`` only with ``--particle``/``--parton`` (TopCPToolkit
``share/runTop_el.py`` + ``python/TopCPToolkit/commonAlgoConfig.py``; reference/topcp-toolkit.md,
section 1). Users name their files freely, so ``topcp-sx validate my_config.yaml`` decides:

1. the file name, when it names exactly one level as a word (``reco.yaml``, ``my_particle.yaml``,
   ``exampleTtbarLjets__parton.yaml``, ``partonLevel.yml``);
2. else the blocks it holds, as TopCPToolkit's own example configs (``share/configs/*``,
   drkevinbarends/TopCPToolkit 747162314ba0, 2025-06-19) are built: every reco config has
   detector-level object or calibration blocks (``Jets``, ``Electrons``, ``MissingET``,
   ``PileupReweighting`` ...), and some also ``PL_Jets`` or ``PartonHistory``; particle-level
   configs have ``PL_*`` blocks (``PL_Electrons``, ``PL_Jets`` ...) and no detector blocks;
   parton-level configs have the parton-history blocks (``PartonHistory``, ``TtbarNNLO``,
   ``SpinInputs``, ``SpinMatrix``) and neither;
3. else reco, with a note saying so.

A choice from the blocks comes with a note too, and so does a name that disagrees with the
blocks (the name wins, as it would for runTop_el.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LEVELS: tuple[str, ...] = ("reco", "particle", "parton")

# Detector-level blocks registered by athena's ConfigFactory.addDefaultAlgs (2025), plus the
# TopCPToolkit blocks that only make sense on reconstructed objects (reference/topcp-toolkit.md
# section 3). Blocks used at every level (CommonServices, GeneratorLevelAnalysis, Thinning,
# EventSelection, Output, AddConfigBlocks, Bootstraps ...) say nothing and are not listed.
DETECTOR_BLOCKS = frozenset({
    "Jets", "Electrons", "Photons", "Muons", "TauJets", "DiTauJets", "MissingET",
    "PileupReweighting", "EventCleaning", "Trigger", "TriggerMatching", "LeptonSF",
    "OverlapRemoval", "ObjectCutFlow", "JetReclustering", "ReclusteredJetCalibration",
    "FakeBkgCalculator", "DiTauMMC", "VGammaOR", "PixelDEdxEqualization",
    "SpaNet", "NuFlows", "HyPER", "KLFitter", "SoftMuonSelector", "PartonMatch", "JetMatching",
    "Chi2Reco", "BoostedJetTaggers",
})
PARTICLE_PREFIX = "PL_"
PARTON_BLOCKS = frozenset({"PartonHistory", "TtbarNNLO", "SpinInputs", "SpinMatrix"})
BLOCKS_SHOWN = 3

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True)
class LevelChoice:
    """The level chosen for one file, how (``name``, ``blocks``, ``default``), and a note."""

    level: str
    source: str
    note: str | None = None


def level_from_name(path: Path | str) -> str | None:
    """The one level the file name names as a word, else None (none, or more than one)."""
    words = {w.lower() for w in _WORD.findall(Path(path).stem)}
    found = [level for level in LEVELS if level in words]
    return found[0] if len(found) == 1 else None


def top_level_blocks(text: str) -> list[str] | None:
    """The top-level keys of a YAML config, None when it is not a readable YAML mapping."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict):
        return None
    return [str(k) for k in doc]


def level_from_blocks(blocks: list[str]) -> tuple[str, list[str]] | None:
    """(level, the blocks that decided it), or None when no block is level-specific."""
    detector = [b for b in blocks if b in DETECTOR_BLOCKS]
    if detector:
        return "reco", detector
    particle = [b for b in blocks if b.startswith(PARTICLE_PREFIX)]
    if particle:
        return "particle", particle
    parton = [b for b in blocks if b in PARTON_BLOCKS]
    if parton:
        return "parton", parton
    return None


def _some(blocks: list[str]) -> str:
    shown = ", ".join(blocks[:BLOCKS_SHOWN])
    return shown + (" ..." if len(blocks) > BLOCKS_SHOWN else "")


def choose_level(path: Path | str, text: str | None) -> LevelChoice:
    """Decide the level of ``path`` (its YAML ``text``, None if unreadable): see the module."""
    by_name = level_from_name(path)
    blocks = top_level_blocks(text) if text is not None else None
    by_blocks = level_from_blocks(blocks) if blocks else None
    flag = "pass --reco/--particle/--parton FILE to choose"
    if by_name is not None:
        if by_blocks is not None and by_blocks[0] != by_name:
            return LevelChoice(by_name, "name", (
                f"{path}: validating it as {by_name} level, as its name says, though its "
                f"blocks ({_some(by_blocks[1])}) are those of a {by_blocks[0]}-level config"))
        return LevelChoice(by_name, "name")
    if by_blocks is not None:
        level, deciding = by_blocks
        return LevelChoice(level, "blocks", (
            f"{path}: validating it as {level} level, from its blocks ({_some(deciding)}); "
            f"{flag}"))
    why = ("its YAML could not be read" if text is not None and blocks is None
           else "neither its name nor its blocks say which level it is for")
    return LevelChoice("reco", "default", f"{path}: validating it as reco level: {why}; {flag}")
