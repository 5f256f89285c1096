"""The standard Delta-R overlap-removal chain (ASG OverlapRemovalTool defaults), vectorised.

Order: taus vs electrons/muons (0.2), electrons vs muons (0.01, stands in for the shared
track), photons vs leptons (0.4), jets vs electrons (0.2, jet removed), electrons vs jets
(0.4, electron removed), jets vs muons (0.2, jet removed), muons vs jets (0.4, muon
removed), jets vs photons (0.4), jets vs taus (0.2). Objects outside the OR inputs are
neither removed nor used to remove. The real tool's track-based ele-mu and muon-jet
ghost-association criteria are replaced by these cones (docs/emulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import jagged as jg


@dataclass
class ORInput:
    """An object collection entering OR: layout, direction and the input selection mask."""

    layout: jg.Layout
    eta: np.ndarray
    phi: np.ndarray
    sel: np.ndarray


CHAIN = (
    ("taus", "electrons", 0.2), ("taus", "muons", 0.2), ("electrons", "muons", 0.01),
    ("photons", "electrons", 0.4), ("photons", "muons", 0.4), ("jets", "electrons", 0.2),
    ("electrons", "jets", 0.4), ("jets", "muons", 0.2), ("muons", "jets", 0.4),
    ("jets", "photons", 0.4), ("jets", "taus", 0.2),
)


def overlap_removal(inputs: dict[str, ORInput]) -> dict[str, np.ndarray]:
    """Return, per kind, the mask of objects that pass the OR (False outside the input)."""
    alive = {k: v.sel.copy() for k, v in inputs.items()}
    for loser, winner, cone in CHAIN:
        if loser not in inputs or winner not in inputs:
            continue
        lo, wi = inputs[loser], inputs[winner]
        hit = jg.any_within(lo.layout, lo.eta, lo.phi, wi.layout, wi.eta, wi.phi, alive[winner], cone)
        alive[loser] &= ~hit
    return alive
