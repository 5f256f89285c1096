"""Missing transverse momentum rebuilt the way METMaker does it, from what PHYSLITE stores.

MetAnalysisConfig gives METMaker the *whole* jet container (``alg.jets = readName(jets)``,
no selection) and the user's electrons/photons/taus/muons selections (without the OR
decision). PHYSLITE keeps the core soft term (``MET_Core_AnalysisMET``, PVSoftTrkCore) but
not the association map, so the emulator rebuilds METMaker's jet term (METMaker.cxx
``rebuildJetMET``, JetSelection ``Tight``) with stand-ins for the map:

* a jet is *selected* if pT > 20 GeV for |eta| < 2.5 and pT > 30 GeV beyond (Tight;
  Loose 20/20, Tighter 20/35, Tenacious 20/40); with ``useJVT`` the NNJvt decision
  (inside 20-60 GeV and |DetectorEta| <= 2.5, others pass) rejects it, without it so
  does |eta| > 4.5 (JetEtaMax);
* *overlap* with a selected electron, photon or tau is taken as Delta-R < 0.2 (stand-in
  for shared constituents): the overlapping objects' energy and momentum are removed from
  the constituent-scale jet (JetConstitScaleMomentum), uniquefrac = 1 - E_overlap/E_const;
  such a jet is hard if uniquefrac > 0 and the remainder has pT > 20 GeV
  (JetMinWeightedPt) and then enters as uniquefrac x the calibrated jet;
* a jet that looks like a selected muon (Delta-R < 0.4 stand-in for the ghost
  association; pT_jet/pT_ID < 2, pT_ID / track sum > 0.8, fewer than 5 tracks) is removed
  (DoRemoveMuonJets);
* every jet that is not hard and has |eta| < 2.5 gives its primary-vertex track sum
  (SumPtTrkPt500, along the jet axis, minus the overlapping leptons' tracks) to the track
  soft term, which adds to PVSoftTrkCore.

Final = RefEle + RefGamma + RefTau + Muons + RefJet + PVSoftTrk. The MET_SoftTrk
variations act on the rebuilt soft term (emulated sizes, syscatalog.SHIFT_SIZE). The MET
significance is emulated with simple object resolutions (below), not METSignificance.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from . import jagged as jg
from .objects import Fixed, Objects
from .syscatalog import SHIFT_SIZE

SOFT_TERM = "PVSoftTrkCore"
MET_CORE = "MET_Core_AnalysisMET"
MET_TRUTH = "MET_Truth"
GEV = 1000.0

#: METMaker JetSelection -> (central, forward) pT thresholds.
JET_WP = {"Loose": (20 * GEV, 20 * GEV), "Tight": (20 * GEV, 30 * GEV), "Tighter": (20 * GEV, 35 * GEV),
          "Tenacious": (20 * GEV, 40 * GEV)}
JET_ETA_FORWARD = 2.5
JET_ETA_MAX = 4.5
MIN_WEIGHTED_PT = 20 * GEV
OVERLAP_CONE = 0.2
MUON_JET_CONE = 0.4
#: emulated MET significance resolutions
JET_RESOLUTION = (3.5, 0.7, 0.04)  # noise [GeV], stochastic [sqrt(GeV)], constant
LEPTON_RESOLUTION = {"electrons": 0.02, "photons": 0.02, "muons": 0.02, "taus": 0.05}
SOFT_RESOLUTION = 10 * GEV


def term(raw: dict, container: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mpx, mpy, sumet) of one named MET term, zero when the term is absent in an event."""
    names = raw.get((container, "name"))
    mpx = raw.get((container, "mpx"))
    if names is None or mpx is None:
        n = len(next(iter(raw.values())))
        z = np.zeros(n, dtype=np.float64)
        return z, z, z
    which = names == name

    def pick(var: str) -> np.ndarray:
        return ak.to_numpy(ak.sum(raw[(container, var)][which], axis=1)).astype(np.float64)

    return pick("mpx"), pick("mpy"), pick("sumet")


@dataclass
class Hard:
    """One selected hard-object collection entering MET."""

    kind: str
    objects: Objects
    selected: np.ndarray
    id_pt: np.ndarray | None = None  # muons: inner-detector track pT (for the muon-jet rule)


def _cached(cache: dict | None, key: tuple, alive: tuple, compute):
    """``compute()``, remembered in ``cache`` under ``key`` (built from the ids of the arrays
    in ``alive``, which the cache keeps referenced so that those ids stay unique)."""
    if cache is None:
        return compute()
    hit = cache.get(key)
    if hit is None:
        hit = (alive, compute())
        cache[key] = hit
    return hit[1]


def _cos_sin(phi: np.ndarray, cache: dict | None) -> tuple[np.ndarray, np.ndarray]:
    return _cached(cache, ("cos_sin", id(phi)), (phi,), lambda: (np.cos(phi), np.sin(phi)))


def _sums(layout: jg.Layout, pt, phi, keep, cache: dict | None = None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def compute():
        cos, sin = _cos_sin(phi, cache)
        return (jg.per_event_sum(layout, pt * cos, keep), jg.per_event_sum(layout, pt * sin, keep),
                jg.per_event_sum(layout, pt, keep))

    return _cached(cache, ("sums", id(layout), id(pt), id(phi), id(keep)), (layout, pt, phi, keep), compute)


def _project_var(layout: jg.Layout, cos_phi, sin_phi, sigma, keep, ux, uy) -> np.ndarray:
    """Per event, the sum of (sigma * cos angle to the MET direction)^2 of the kept objects."""
    cos = cos_phi * ux[layout.event] + sin_phi * uy[layout.event]
    return jg.per_event_sum(layout, (sigma * cos) ** 2, keep)


@dataclass
class MetTerms:
    """The hard terms and the unshifted track soft term of one MET rebuild."""

    vis_px: np.ndarray
    vis_py: np.ndarray
    sumet: np.ndarray
    soft_px: np.ndarray
    soft_py: np.ndarray
    soft_sumet: np.ndarray
    var_terms: list


def met_terms(hard: list[Hard], jets: Objects | None, jet_fixed: Fixed | None, soft_core: tuple,
              *, met_wp: str = "Tight", use_jvt: bool = True, cache: dict | None = None) -> MetTerms:
    """RefEle/RefGamma/RefTau/Muons/RefJet and the PVSoftTrk term (before MET systematics).

    ``cache`` (one dict per chunk, optional) keeps the parts that only depend on arrays a
    shift leaves untouched (object directions, overlaps, unshifted collections' sums), keyed
    by the identity of those arrays; the results are the same with or without it."""
    n = len(soft_core[0])
    vis_px = np.zeros(n)
    vis_py = np.zeros(n)
    sumet = np.zeros(n)
    var_terms = []  # (layout, cos phi, sin phi, sigma, keep) for the significance
    for h in hard:
        o = h.objects
        px, py, st = _sums(o.layout, o.pt, o.phi, h.selected, cache)
        vis_px += px
        vis_py += py
        sumet += st
        var_terms.append((o.layout, *_cos_sin(o.phi, cache), LEPTON_RESOLUTION.get(h.kind, 0.02) * o.pt,
                          h.selected))
    soft_px = -soft_core[0].copy()
    soft_py = -soft_core[1].copy()
    soft_sumet = soft_core[2].copy()
    if jets is not None:
        jx, jy, jst, tx, ty, tst, jet_keep, jet_w = _jet_term(jets, jet_fixed or Fixed(), hard, met_wp, use_jvt,
                                                                  cache)
        vis_px += jx
        vis_py += jy
        sumet += jst
        soft_px += tx
        soft_py += ty
        soft_sumet += tst
        ptg = np.maximum(jets.pt, 1.0) / GEV
        rel = np.sqrt((JET_RESOLUTION[0] / ptg) ** 2 + JET_RESOLUTION[1] ** 2 / ptg + JET_RESOLUTION[2] ** 2)
        var_terms.append((jets.layout, *_cos_sin(jets.phi, cache), rel * jets.pt * jet_w, jet_keep))
    return MetTerms(vis_px, vis_py, sumet, soft_px, soft_py, soft_sumet, var_terms)


def final_met(t: MetTerms, soft_shift: str | None = None) -> dict[str, np.ndarray]:
    """The Final term: met, phi, sumet (MeV, rad) and the emulated significance, after the
    MET_SoftTrk variation ``soft_shift`` (None: nominal) acts on the soft term."""
    soft_px, soft_py, soft_sumet = t.soft_px, t.soft_py, t.soft_sumet
    if soft_shift is not None:
        soft_px, soft_py, soft_sumet = _shift_soft(soft_px, soft_py, soft_sumet, t.vis_px, t.vis_py, soft_shift)
    mpx = -(t.vis_px + soft_px)
    mpy = -(t.vis_py + soft_py)
    met = np.hypot(mpx, mpy)
    safe = np.where(met > 0, met, 1.0)
    ux, uy = mpx / safe, mpy / safe
    var = np.full(len(met), SOFT_RESOLUTION ** 2)
    for layout, cos_phi, sin_phi, sigma, keep in t.var_terms:
        var += _project_var(layout, cos_phi, sin_phi, sigma, keep, ux, uy)
    return {
        "met": met.astype(np.float32),
        "phi": np.arctan2(mpy, mpx).astype(np.float32),
        "sumet": (t.sumet + soft_sumet).astype(np.float32),
        "significance": (met / np.sqrt(var)).astype(np.float32),
    }


def build_met(hard: list[Hard], jets: Objects | None, jet_fixed: Fixed | None, soft_core: tuple,
              *, met_wp: str = "Tight", use_jvt: bool = True, soft_shift: str | None = None,
              ) -> dict[str, np.ndarray]:
    """The Final MET term: met, phi, sumet (MeV, rad) and the emulated significance."""
    return final_met(met_terms(hard, jets, jet_fixed, soft_core, met_wp=met_wp, use_jvt=use_jvt), soft_shift)


def _const_p4(pt, eta, phi, m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy (1 where it is 0, as a safe divisor), px, py of the constituent-scale jets."""
    e = np.sqrt((pt * np.cosh(eta)) ** 2 + m ** 2)
    return np.where(e > 0, e, 1.0), pt * np.cos(phi), pt * np.sin(phi)


def _jet_term(jets: Objects, fx: Fixed, hard: list[Hard], met_wp: str, use_jvt: bool,
              cache: dict | None = None):
    """METMaker's RefJet term and the jets' contribution to the track soft term."""
    lay = jets.layout
    pt, eta, phi = jets.pt, jets.eta, jets.phi
    aeta = np.abs(eta)
    cen, fwd = JET_WP.get(met_wp, JET_WP["Tight"])
    selected = ((aeta < JET_ETA_FORWARD) & (pt > cen)) | ((aeta >= JET_ETA_FORWARD) & (pt > fwd))
    reject = aeta > JET_ETA_MAX
    if use_jvt and "nnjvt_pass" in fx.extra:
        det = fx.extra.get("detector_eta", eta)
        in_range = (pt >= 20 * GEV) & (pt <= 60 * GEV) & (np.abs(det) <= 2.5)
        reject = in_range & ~fx.extra["nnjvt_pass"]  # the tool's decision replaces the eta limit
    trk_sum = fx.extra.get("trk_sumpt", np.zeros(lay.n_objects))
    trk_n = fx.extra.get("trk_n", np.zeros(lay.n_objects))
    c_pt = fx.extra.get("const_pt", pt)
    c_eta = fx.extra.get("const_eta", eta)
    c_phi = fx.extra.get("const_phi", phi)
    c_m = fx.extra.get("const_m", jets.m)

    def lepton_part():
        """What depends on the jets' directions and constituent scale and on the hard
        objects only (not on the calibrated jet pT): overlaps, uniquefrac, muon-jet pairs."""
        e_ov = np.zeros(lay.n_objects)
        px_ov = np.zeros(lay.n_objects)
        py_ov = np.zeros(lay.n_objects)
        trk_ov = np.zeros(lay.n_objects)
        muon_pairs = []
        for h in hard:
            o = h.objects
            if h.kind in ("electrons", "photons", "taus"):
                # overlaps with selected electrons, photons, taus (Delta-R < 0.2)
                ocos, osin = _cos_sin(o.phi, cache)
                e, px, py, tpt = jg.sum_within(lay, eta, phi, o.layout, o.eta, o.phi, h.selected, OVERLAP_CONE,
                                               [o.e, o.pt * ocos, o.pt * osin,
                                                o.pt if h.kind == "electrons" else np.zeros(len(o.pt))])
                e_ov += e
                px_ov += px
                py_ov += py
                trk_ov += tpt
            elif h.kind == "muons":
                id_pt = h.id_pt if h.id_pt is not None else o.pt
                pairs = jg.Pairs.build(lay, o.layout, h.selected)
                if len(pairs.a):
                    close = pairs.dr2(eta, phi, o.eta, o.phi) < MUON_JET_CONE ** 2
                    ja, mb = pairs.a[close], pairs.b[close]
                    mu = id_pt[mb]
                    tsum = trk_sum[ja]
                    tsum = np.where(0.9999 * mu > tsum, tsum + mu, tsum)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        static = (mu > 1e-9) & (tsum > 1e-9) & (mu / tsum > 0.8) & (trk_n[ja] < 5)
                    muon_pairs.append((ja[static], mu[static]))
                    trk_ov += np.bincount(ja, weights=mu, minlength=lay.n_objects)
        c_e, c_px, c_py = _cached(cache, ("const_p4", id(c_pt), id(c_eta), id(c_phi), id(c_m)),
                                  (c_pt, c_eta, c_phi, c_m), lambda: _const_p4(c_pt, c_eta, c_phi, c_m))
        overlap = e_ov > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            uniquefrac = np.where(overlap, 1.0 - e_ov / c_e, 1.0)
        opt = np.hypot(c_px - px_ov, c_py - py_ov)
        ok_overlap = ~overlap | ((uniquefrac > 0) & (opt > MIN_WEIGHTED_PT))
        return uniquefrac, ok_overlap, np.maximum(trk_sum - trk_ov, 0.0), muon_pairs

    arrays = (lay, eta, phi, c_pt, c_eta, c_phi, c_m, trk_sum, trk_n)
    key = ("jet_leptons", *map(id, arrays)) + tuple(
        (h.kind, id(h.objects.pt), id(h.objects.eta), id(h.objects.phi), id(h.objects.m), id(h.selected),
         id(h.id_pt)) for h in hard)
    uniquefrac, ok_overlap, trk_left, muon_pairs = _cached(cache, key, (arrays, hard), lepton_part)
    muon_like = np.zeros(lay.n_objects, dtype=bool)
    for ja, mu in muon_pairs:
        muon_like[ja[pt[ja] < 2.0 * mu]] = True  # pT_jet / pT_ID < 2
    reject = reject | muon_like
    hard_jet = selected & ~reject & ok_overlap
    w = np.where(hard_jet, uniquefrac, 0.0)
    cos, sin = _cos_sin(phi, cache)
    wpt = w * pt
    jx = jg.per_event_sum(lay, wpt * cos)
    jy = jg.per_event_sum(lay, wpt * sin)
    jst = jg.per_event_sum(lay, wpt)
    soft_jet = ~hard_jet & (aeta < JET_ETA_FORWARD)
    tpt = np.where(soft_jet, trk_left, 0.0)
    tx = jg.per_event_sum(lay, tpt * cos)
    ty = jg.per_event_sum(lay, tpt * sin)
    tst = jg.per_event_sum(lay, tpt)
    return jx, jy, jst, tx, ty, tst, hard_jet, w


def _shift_soft(sx, sy, sst, hx, hy, shift: str):
    """Emulated MET_SoftTrk variations on the soft term (sx, sy = its momentum sum)."""
    kind, direction = shift[:-1], 1.0 if shift.endswith("+") else -1.0
    size = SHIFT_SIZE[("met_soft", kind)]
    if kind == "scale":
        f = 1.0 + direction * size
        return sx * f, sy * f, sst * f
    h = np.hypot(hx, hy)
    ux = np.where(h > 0, hx / np.where(h > 0, h, 1.0), 1.0)
    uy = np.where(h > 0, hy / np.where(h > 0, h, 1.0), 0.0)
    par = sx * ux + sy * uy
    px, py = par * ux, par * uy
    qx, qy = sx - px, sy - py
    if kind == "para":
        px, py = px * (1 + size), py * (1 + size)
    else:
        qx, qy = qx * (1 + size), qy * (1 + size)
    return px + qx, py + qy, sst
