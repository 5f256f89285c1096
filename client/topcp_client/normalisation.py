"""Cross-section normalisation of MC: event weight x (sigma x L / sum of weights) per systematic.

Units are explicit everywhere: the cross-section in **pb** (AMI/PMG convention, including any
filter efficiency and k-factor you want applied), the luminosity in **fb^-1** unless written
with a unit (``140/fb``, ``140fb-1``, ``140000/pb``, ``140000 pb-1``). The sum of weights is
the sample's "Initial sum of weights" from the CutBookkeepers, summed over every file of the
sample (``summary.py``), for the same systematic as the event weight where the CutBookkeepers
have it (generator-weight variations ``GEN_*``), else the nominal one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .summary import NOSYS, SummaryError, load_summary, summarize

_LUMI = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*(/?\s*(fb|pb)(\^?-1)?)?\s*$",
                   re.IGNORECASE)


def parse_lumi(text: str | float) -> float:
    """Integrated luminosity in pb^-1 from '140' (fb^-1), '140/fb', '140fb-1', '140000/pb'."""
    if isinstance(text, (int, float)):
        value, unit = float(text), "fb"
    else:
        m = _LUMI.match(str(text))
        if not m:
            raise SummaryError(f"--lumi {text!r}: expected a number with an optional unit, "
                               "e.g. 140 (fb^-1), 140/fb or 140000/pb")
        value, unit = float(m.group(1)), (m.group(3) or "fb").lower()
    if value <= 0:
        raise SummaryError(f"--lumi must be positive, got {text!r}")
    return value * 1000.0 if unit == "fb" else value


@dataclass
class Normalisation:
    """sigma [pb] x L [pb^-1] / sum of weights, per systematic."""

    xsec_pb: float
    lumi_pb: float
    sumw: dict[str, float]
    dsid: int | None
    source: str
    notes: list[str] = field(default_factory=list)

    def factor(self, systematic: str = NOSYS) -> float:
        sumw = self.sumw.get(systematic, self.sumw[NOSYS])
        return self.xsec_pb * self.lumi_pb / sumw

    @property
    def lumi_fb(self) -> float:
        return self.lumi_pb / 1000.0

    def describe(self) -> str:
        return (f"normalised to sigma x L = {self.xsec_pb:g} pb x {self.lumi_fb:g} fb^-1 "
                f"(= {self.lumi_pb:g} pb^-1) / sum of weights {self.sumw[NOSYS]:.8g} "
                f"(NOSYS, {self.source})")

    def to_dict(self) -> dict[str, object]:
        return {"xsec_pb": self.xsec_pb, "lumi_pb": self.lumi_pb, "dsid": self.dsid,
                "sumw_nosys": self.sumw[NOSYS], "factor_nosys": self.factor(),
                "source": self.source, "notes": self.notes}


def _from_sample(sample: dict, xsec: float, lumi_pb: float, source: str) -> Normalisation:
    sumw = {s: float(v["sumw"]) for s, v in sample.get("sum_of_weights", {}).items()}
    if NOSYS not in sumw:
        raise SummaryError(f"DSID {sample.get('dsid')}: no nominal CutBookkeeper "
                           "(CutBookkeeper_<DSID>_<RUN>_NOSYS): cannot normalise")
    if sumw[NOSYS] == 0:
        raise SummaryError(f"DSID {sample.get('dsid')}: the sum of weights is 0: cannot "
                           "normalise")
    return Normalisation(xsec, lumi_pb, sumw, sample.get("dsid"), source)


def normalisation_for(
    files: Sequence[str | Path], *, xsec_pb: float, lumi: str | float,
    summary_path: str | Path | None = None,
) -> Normalisation:
    """The normalisation of the plotted ``files`` (one MC sample).

    Without ``summary_path`` the sum of weights is that of exactly the plotted files (each
    counted once: duplicates are refused). With it, the sample's total from the summary JSON is
    used and a plot of only some of its files is said to show that fraction of the sample.
    """
    if xsec_pb <= 0:
        raise SummaryError(f"--xsec must be a positive cross-section in pb, got {xsec_pb}")
    lumi_pb = parse_lumi(lumi)
    own = summarize(files)
    mc = [s for s in own.samples if not s.get("is_data")]
    if any(s.get("is_data") for s in own.samples):
        raise SummaryError("--xsec/--lumi normalise MC; the plotted files include data "
                           "(metadata data type 'data' or no CutBookkeepers)")
    if len(mc) != 1:
        shown = ", ".join(f"DSID {s.get('dsid')} run {s.get('run')}" for s in mc)
        raise SummaryError(f"the plotted files belong to {len(mc)} samples ({shown}); plot one "
                           "sample (one cross-section) at a time")
    if own.checks["duplicates"]:
        d = own.checks["duplicates"][0]
        raise SummaryError(f"refusing to normalise a sample counted twice: {d['reason']}: "
                           + ", ".join(d["files"]))
    sample = mc[0]
    if summary_path is None:
        return _from_sample(sample, xsec_pb, lumi_pb,
                            f"CutBookkeepers of the {sample['n_files']} plotted file(s)")
    data = load_summary(summary_path)
    match = next((s for s in data.get("samples", []) if s.get("dsid") == sample["dsid"]
                  and s.get("run") == sample["run"]), None)
    if match is None:
        raise SummaryError(f"{summary_path}: no sample DSID {sample['dsid']} run "
                           f"{sample['run']} (the plotted files' sample)")
    norm = _from_sample(match, xsec_pb, lumi_pb, f"sample total from {summary_path}")
    plotted = {Path(f).name for f in files}
    listed = set(match.get("files", []))
    if not plotted <= listed:
        raise SummaryError(f"{summary_path} does not list " + ", ".join(sorted(plotted - listed))
                           + ": run 'topcp-sx summary' again over every file of the sample")
    if plotted != listed:
        norm.notes.append(f"plotting {len(plotted)} of the sample's {len(listed)} files: the "
                          f"histogram shows that fraction of sigma x L")
    if not data.get("checks", {}).get("ok", False):
        norm.notes.append(f"{summary_path} reports problems (duplicates, missing files or "
                          "mixed bookkeeping): see 'topcp-sx summary'")
    return norm
