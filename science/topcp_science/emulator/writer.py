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

from . import fast_tree_header
from . import jagged as jg
from .errors import EmulatorError
from .output import Branches

fast_tree_header.install()


def _flat_array(v) -> np.ndarray:
    a = ak.to_numpy(v) if isinstance(v, ak.Array) else np.asarray(v)
    if a.dtype == np.bool_:
        a = a.astype(np.int8)
    elif a.dtype == np.float64:
        a = a.astype(np.float32)
    return a


class _SerialisedOnce:
    """Stands in for an uproot model inside another model being serialised: the bytes are
    produced by the model's own ``_serialize`` the first time (per header/flags) and reused.
    Valid for self-contained parts such as a TAxis (uproot writes no object references
    there, every class tag is new), so the bytes do not depend on where they land."""

    def __init__(self, model) -> None:
        self.model = model
        self._bytes: dict[tuple, bytes] = {}

    def _serialize(self, out, header, name, tobject_flags) -> None:
        key = (bool(header), name, int(tobject_flags))
        data = self._bytes.get(key)
        if data is None:
            part: list[bytes] = []
            self.model._serialize(part, header, name, tobject_flags)
            data = self._bytes[key] = b"".join(part)
        out.append(data)


class OutputFile:
    """A ROOT file being written under a temporary name."""

    def __init__(self, target: Path) -> None:
        self.target = target
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
        os.close(fd)
        self.tmp = Path(tmp)
        self.file = uproot.recreate(self.tmp)
        self.trees: dict[str, list[str]] = {}
        self._pending: dict[str, object] = {}
        self._axes: dict[tuple, _SerialisedOnce] = {}

    def write_chunk(self, tree: str, branches: Branches, keep: np.ndarray) -> None:
        data: dict[str, object] = {}
        # the same array often backs many branches (one per systematic): convert it once
        cache: dict[int, tuple[object, np.ndarray]] = {}

        def converted(v, mask) -> np.ndarray:
            hit = cache.get(id(v))
            if hit is None or hit[0] is not v:
                hit = (v, _flat_array(v)[mask])
                cache[id(v)] = hit
            return hit[1]

        for name, v in branches.flat.items():
            data[name] = converted(v, keep)
        for group, (layout, fields) in branches.groups.items():
            if not fields:
                continue
            kept, objects = jg.select_events(layout, keep)
            cache.clear()
            contents = [ak.contents.NumpyArray(converted(v, objects)) for v in fields.values()]
            record = ak.contents.RecordArray(contents, list(fields), length=kept.n_objects)
            data[group.rstrip("_") or "obj"] = ak.Array(
                ak.contents.ListOffsetArray(ak.index.Index64(kept.offsets), record))
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
                            *, title: str = "", kind: str = "F", low: float = 0.0,
                            high: float | None = None, entries: float | None = None) -> None:
        """A TH1F / TH1D / TH1I (``kind`` F, D, I) with one labelled bin per entry.

        Histograms are collected and written together at ``commit`` (one directory update,
        one streamer record); the axes, which repeat across the hundreds of per-systematic
        cutflows and bookkeepers, are serialised once per distinct binning."""
        n = len(labels)
        high = float(n) if high is None else high
        vals = np.asarray(values, dtype=np.float64)
        data = np.concatenate([[0.0], vals, [0.0]])
        dtype = {"F": np.float32, "D": np.float64, "I": np.int32}[kind]
        width = (float(high) - float(low)) / n if n else 1.0
        centers = float(low) + (np.arange(n) + 0.5) * width
        hist = identify.to_TH1x(
            name, title, data.astype(dtype), float(vals.sum() if entries is None else entries), float(vals.sum()), float((vals * vals).sum()),
            float((vals * centers).sum()), float((vals * centers * centers).sum()),
            None if kind == "I" else data * data, self._axis(tuple(labels), float(low), float(high)),
            self._axis(None, 0.0, 1.0, "yaxis"), self._axis(None, 0.0, 1.0, "zaxis"),
        )
        self._pending[name] = hist

    def _axis(self, labels: tuple[str, ...] | None, low: float, high: float, which: str = "xaxis") -> _SerialisedOnce:
        key = (which, labels, low, high)
        axis = self._axes.get(key)
        if axis is None:
            if labels is None:
                model = identify.to_TAxis(which, "", 1, low, high)
            else:
                objs = []
                for i, lab in enumerate(labels, start=1):
                    s = identify.to_TObjString(lab)
                    s._bases[0]._members["@fUniqueID"] = i  # ROOT finds a bin's label by its unique ID
                    objs.append(s)
                model = identify.to_TAxis(which, "", len(labels), low, high, fLabels=identify.to_THashList(objs))
            axis = self._axes[key] = _SerialisedOnce(model)
        return axis

    def _flush_hists(self) -> None:
        if self._pending:
            self.file.update(self._pending)
            self._pending = {}

    def write_string(self, name: str, text: str) -> None:
        self._flush_hists()
        self.file[name] = text

    def commit(self) -> None:
        self._flush_hists()
        self.file.close()
        os.replace(self.tmp, self.target)

    def abort(self) -> None:
        try:
            self.file.close()
        finally:
            self.tmp.unlink(missing_ok=True)
