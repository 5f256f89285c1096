"""Writing the TopCPToolkit-shaped ROOT file with uproot, atomically.

Everything goes to a temporary file beside the target, renamed into place only when the
whole run succeeded, so a failure never leaves a half-written ``<name>.root``. Trees are
created from the first chunk and extended chunk by chunk (memory stays flat). Jagged
branches of one output container share one counter branch (``n<prefix>``): uproot's
layout, where TopCPToolkit writes std::vector branches; the values are the same.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
from uproot.writing import identify

from .errors import EmulatorError
from .output import Branches


def _flat_array(v) -> np.ndarray:
    a = ak.to_numpy(v) if isinstance(v, ak.Array) else np.asarray(v)
    if a.dtype == np.bool_:
        a = a.astype(np.int8)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    return a


def _jagged(v) -> ak.Array:
    a = ak.Array(v)
    prim = str(ak.type(a).content.content) if hasattr(ak.type(a).content, "content") else ""
    if prim == "bool":
        a = ak.values_astype(a, np.int8)
    elif prim == "float64":
        a = ak.values_astype(a, np.float32)
    return a


class OutputFile:
    """A ROOT file being written under a temporary name."""

    def __init__(self, target: Path) -> None:
        self.target = target
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
        os.close(fd)
        self.tmp = Path(tmp)
        self.file = uproot.recreate(self.tmp)
        self.trees: dict[str, list[str]] = {}

    def write_chunk(self, tree: str, branches: Branches, keep: np.ndarray) -> None:
        data: dict[str, object] = {}
        for name, v in branches.flat.items():
            data[name] = _flat_array(v)[keep]
        for group, fields in branches.groups.items():
            if not fields:
                continue
            rec = {name: _jagged(v)[keep] for name, v in fields.items()}
            data[group.rstrip("_") or "obj"] = ak.zip(rec)
        names = sorted(data)
        data = {k: data[k] for k in names}
        if not data:
            # Nothing selected for output (e.g. no Output.containers): TopCPToolkit would
            # write an empty tree and then delete it, so write no tree at all.
            return
        if tree not in self.trees:
            self.file.mktree(
                tree,
                {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()},
                counter_name=lambda counted: "n" + counted,
                field_name=lambda outer, inner: inner,
            )
            self.trees[tree] = names
        elif names != self.trees[tree]:
            new = sorted(set(names) ^ set(self.trees[tree]))
            raise EmulatorError(f"tree {tree}: the input files do not all carry the same variables "
                                f"(branches differ: {', '.join(new[:10])}); run them separately")
        if len(keep) and np.count_nonzero(keep):
            self.file[tree].extend(data)

    def write_labelled_hist(self, name: str, labels: list[str], values: list[float] | np.ndarray,
                            *, title: str = "", integer: bool = False) -> None:
        n = len(labels)
        objs = []
        for i, lab in enumerate(labels, start=1):
            s = identify.to_TObjString(lab)
            s._bases[0]._members["@fUniqueID"] = i  # ROOT finds a bin's label by its unique ID
            objs.append(s)
        axis = identify.to_TAxis("xaxis", "", n, 0.0, float(n), fLabels=identify.to_THashList(objs))
        vals = np.asarray(values, dtype=np.float64)
        data = np.concatenate([[0.0], vals, [0.0]])
        dtype = np.int32 if integer else np.float64
        sumw = float(vals.sum())
        centers = np.arange(n) + 0.5
        hist = identify.to_TH1x(
            name, title, data.astype(dtype), float(n), sumw, float((vals * vals).sum()),
            float((vals * centers).sum()), float((vals * centers * centers).sum()),
            None if integer else data * data, axis,
        )
        self.file[name] = hist

    def write_string(self, name: str, text: str) -> None:
        self.file[name] = text

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.target)

    def abort(self) -> None:
        try:
            self.file.close()
        finally:
            self.tmp.unlink(missing_ok=True)
