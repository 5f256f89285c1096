"""The standard Delta-R overlap-removal chain (ASG OverlapRemovalTool defaults), vectorised.

Order: taus vs electrons/muons (0.2), electrons vs muons (0.01, stands in for the shared
track), photons vs leptons (0.4), jets vs electrons (0.2, jet removed), electrons vs jets
(0.4, electron removed), jets vs muons (0.2, jet removed), muons vs jets (0.4, muon
removed), jets vs photons (0.4), jets vs taus (0.2). Objects outside the OR inputs are
neither removed nor used to remove. The real tool's track-based ele-mu and muon-jet
ghost-association criteria are replaced by these cones (docs/emulator.md).
"""

from __future__ import annotations

import awkward as ak

from .kinematics import any_within


class ORInput:
    """An object collection entering OR: kinematics and the input selection mask."""

    def __init__(self, eta: ak.Array, phi: ak.Array, sel: ak.Array) -> None:
        self.eta, self.phi, self.sel = eta, phi, sel


def overlap_removal(inputs: dict[str, ORInput]) -> dict[str, ak.Array]:
    """Return, per kind, the mask of objects that pass the OR (False outside the input)."""
    alive = {k: v.sel for k, v in inputs.items()}

    def remove(loser: str, winner: str, cone: float) -> None:
        if loser not in inputs or winner not in inputs:
            return
        lo, wi = inputs[loser], inputs[winner]
        hit = any_within(lo.eta, lo.phi, wi.eta, wi.phi, alive[winner], cone)
        alive[loser] = alive[loser] & ~hit

    remove("taus", "electrons", 0.2)
    remove("taus", "muons", 0.2)
    remove("electrons", "muons", 0.01)
    remove("photons", "electrons", 0.4)
    remove("photons", "muons", 0.4)
    remove("jets", "electrons", 0.2)
    remove("electrons", "jets", 0.4)
    remove("jets", "muons", 0.2)
    remove("muons", "jets", 0.4)
    remove("jets", "photons", 0.4)
    remove("jets", "taus", 0.2)
    return alive
