"""What the release reads from the input's file metadata (the ``MetaData`` tree).

* CutBookkeepers: AsgCutBookkeeperAlg takes, per input file, the ``AllExecutedEvents``
  bookkeeper of the highest cycle from an allowed input stream (StreamRDO, StreamAOD,
  StreamEVGEN, StreamEVNT) -- the events *before the derivation*, not the processed ones
  -- from ``CutBookkeepers`` (weight index 0) and from ``CutBookkeepers_weight_<i>``
  (weight index i) (athena AsgCutBookkeeperAlg.cxx/.h, 2026).
* FileMetaData: ``mcProcID`` (DSID), ``runNumbers``, ``mcCampaign``, ``simFlavour``
  (fullsim/fastsim: the flags' ``Sim.ISF.Simulator.usesFastCaloSim()``), ``amiTag`` (the
  e-tag of the ``metadata`` histogram, TopCPToolkit runTop_el.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import awkward as ak
import numpy as np

ALLOWED_STREAMS = ("StreamRDO", "StreamAOD", "StreamEVGEN", "StreamEVNT")
_INDEX = re.compile(r"AllExecutedEvents.*_([0-9]+)")
_FMD = "FileMetaDataAuxDyn."


@dataclass
class FileMeta:
    """One input file's metadata (fields None when the file does not store them)."""

    dsid: int | None = None
    run_numbers: list[int] = field(default_factory=list)
    campaign: str | None = None
    sim_flavour: str | None = None
    ami_tag: str | None = None
    #: weight index -> [events, sum of weights, sum of weights squared]; None if absent
    bookkeepers: dict[int, np.ndarray] | None = None

    @property
    def fast_sim(self) -> bool | None:
        if self.sim_flavour is None:
            return None
        flavour = self.sim_flavour.upper()
        return "ATLFAST" in flavour or "FASTCALO" in flavour or flavour.startswith("AF")

    @property
    def e_tag(self) -> str | None:
        return self.ami_tag.split("_")[0] if self.ami_tag else None


def _first(meta, key: str):
    try:
        value = meta[key].array(library="ak", entry_stop=1)
    except Exception:  # noqa: BLE001 - absent or unreadable: the caller falls back
        return None
    return ak.to_list(value)[0] if len(value) else None


def read_file_meta(meta, indices: list[int] | None = None) -> FileMeta:
    """Read FileMetaData and, for weight ``indices`` (None: none), the CutBookkeepers."""
    out = FileMeta()
    if meta is None:
        return out
    proc = _first(meta, _FMD + "mcProcID")
    out.dsid = int(proc) if proc is not None and proc > 0 else None
    runs = _first(meta, "FileMetaDataAux./FileMetaDataAux.runNumbers")
    out.run_numbers = [int(r) for r in runs] if runs else []
    for attr, key in (("campaign", "mcCampaign"), ("sim_flavour", "simFlavour"), ("ami_tag", "amiTag")):
        value = _first(meta, _FMD + key)
        setattr(out, attr, str(value) if value not in (None, "") else None)
    if indices:
        out.bookkeepers = read_bookkeepers(meta, indices)
    return out


def _containers(meta) -> dict[int, str]:
    names = {}
    for key in meta.keys(recursive=False):
        if key == "CutBookkeepersAux.":
            names[0] = "CutBookkeepersAux."
        else:
            m = re.fullmatch(r"CutBookkeepers_weight_(\d+)Aux\.", key)
            if m:
                names[int(m.group(1))] = key
    return names


_FULL = ("name", "cycle", "inputStream", "nAcceptedEvents", "sumOfEventWeights", "sumOfEventWeightsSquared")
_SUMS = ("name", "nAcceptedEvents", "sumOfEventWeights", "sumOfEventWeightsSquared")


def read_bookkeepers(meta, indices: list[int]) -> dict[int, np.ndarray] | None:
    """AsgCutBookkeeperAlg's sums for the wanted weight indices of one file, or None when the
    file has no usable AllExecutedEvents bookkeeper."""
    containers = _containers(meta)
    if 0 not in containers:
        return None
    wanted = {i: c for i, c in containers.items() if i == 0 or i in indices}
    keys = [f"{c}/{c}{f}" for i, c in wanted.items() for f in (_FULL if i == 0 else _SUMS)]
    try:
        arrays = meta.arrays(keys, entry_stop=1, library="np")
    except Exception:  # noqa: BLE001 - unreadable bookkeepers: the caller falls back and says so
        return None

    def column(container: str, f: str) -> list:
        return list(arrays[f"{container}/{container}{f}"][0])

    main = {f: column(wanted[0], f) for f in _FULL}
    cycles = [cy for name, cy, stream in zip(main["name"], main["cycle"], main["inputStream"], strict=True)
              if name == "AllExecutedEvents" and stream in ALLOWED_STREAMS]
    if not cycles:
        return None
    max_cycle = max(cycles)
    accepted = [cy == max_cycle and str(name).startswith("AllExecutedEvents") and stream in ALLOWED_STREAMS
                for name, cy, stream in zip(main["name"], main["cycle"], main["inputStream"], strict=True)]
    sums: dict[int, np.ndarray] = {}
    for k, ok in enumerate(accepted):
        if ok:
            m = _INDEX.fullmatch(str(main["name"][k]))
            index = int(m.group(1)) if m else 0
            sums.setdefault(index, np.zeros(3))
            sums[index] += [float(main[f][k]) for f in _FULL[3:]]
    for index, container in wanted.items():
        if index == 0:
            continue
        names = [str(x) for x in column(container, "name")]
        if names != [str(x) for x in main["name"]]:
            # a layout other than the main container's: read its cycles and streams too
            extra = meta.arrays([f"{container}/{container}{f}" for f in ("cycle", "inputStream")],
                                entry_stop=1, library="np")
            cyc = list(extra[f"{container}/{container}cycle"][0])
            streams = list(extra[f"{container}/{container}inputStream"][0])
            ok_rows = [cy == max_cycle and n.startswith("AllExecutedEvents") and st in ALLOWED_STREAMS
                       for n, cy, st in zip(names, cyc, streams, strict=True)]
        else:
            ok_rows = [n.startswith("AllExecutedEvents") and a for n, a in zip(names, accepted, strict=True)]
        values = [column(container, f) for f in _SUMS[1:]]
        for k, ok in enumerate(ok_rows):
            if ok:
                sums.setdefault(index, np.zeros(3))
                sums[index] += [float(v[k]) for v in values]
    return sums
