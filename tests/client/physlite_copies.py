"""Real PHYSLITE test files, copied and changed with uproot: slices and edited metadata.

Used by the summary, pre-flight and estimate tests. Every file made here starts from one of the
two real test files; only what a test names is changed:

- ``split_events``: the mc23 RNTuple's events in consecutive slices, one file each (a real
  sample split into several files);
- ``with_metadata``: a byte copy of a real file plus a new, higher-cycle ``MetaData`` tree
  (ROOT and uproot read the highest cycle) holding the original FileMetaData fields with the
  given ones replaced;
- ``data_like``: a subset of a real file's events as a TTree ``CollectionTree``, marked as data
  (``eventTypeBitmask`` 0, no ``mcChannelNumber``), with data-like FileMetaData.
"""

from __future__ import annotations

import functools
import shutil
import stat
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

#: FileMetaData fields of the mc23 test file that are plain strings or numbers.
_FMD_STRINGS = ("productionRelease", "dataType", "amiTag", "beamType", "conditionsTag",
                "generatorsInfo", "geometryVersion", "mcCampaign", "simFlavour")
_FMD_FLOATS = ("beamEnergy", "mcProcID")


#: Containers a reco config reads (whole containers, so emulator changes need no edit here).
CONTAINERS = ("EventInfoAuxDyn", "AnalysisElectronsAuxDyn", "AnalysisMuonsAuxDyn",
              "AnalysisJetsAuxDyn", "BTagging_AntiKt4EMPFlowAuxDyn", "MET_Core_AnalysisMETAuxDyn",
              "AnalysisPhotonsAuxDyn", "AnalysisTauJetsAuxDyn")


@functools.lru_cache(maxsize=2)
def container_columns(source: Path) -> dict[str, ak.Array]:
    """Every top-level field of ``CONTAINERS`` in the RNTuple ``EventData`` of ``source``.

    From the field records (header and schema extension): listing every sub-field through
    uproot's ``keys()`` takes far longer than reading the fields. Read once per test session.
    """
    with uproot.open(source) as f:
        nt = f["EventData"]
        records = nt.field_records
        names = [r.field_name for i, r in enumerate(records) if r.parent_field_id == i
                 and r.field_name.split(":")[0] in CONTAINERS]
        return {k: nt[k].array(library="ak") for k in names}


def split_events(source: Path, dests: list[Path]) -> list[Path]:
    """The RNTuple ``EventData`` of ``source`` split into ``len(dests)`` consecutive slices
    (``CONTAINERS`` fields only, no MetaData: like a skim that dropped it)."""
    columns = container_columns(source)
    total = len(next(iter(columns.values())))
    edges = [round(i * total / len(dests)) for i in range(len(dests) + 1)]
    for dest, lo, hi in zip(dests, edges[:-1], edges[1:], strict=True):
        with uproot.recreate(dest) as out:
            out["EventData"] = {k: v[lo:hi] for k, v in columns.items()}
    return dests


@functools.lru_cache(maxsize=8)
def file_metadata(source: Path) -> dict[str, object]:
    """The scalar FileMetaData fields of a real file (read independently of the project)."""
    out: dict[str, object] = {}
    with uproot.open(source) as f:
        if "MetaData" not in {k.split(";")[0] for k in f.keys()}:
            return out
        meta = f["MetaData"]
        for key in meta.keys(recursive=True):
            leaf = key.rsplit("/", 1)[-1]
            for prefix in ("FileMetaDataAuxDyn.", "FileMetaDataAux."):
                name = leaf[len(prefix):] if leaf.startswith(prefix) else ""
                if name in _FMD_STRINGS or name in _FMD_FLOATS or name == "runNumbers":
                    value = meta[key].array(library="np", entry_stop=1)[0]
                    out[name] = value.tolist() if hasattr(value, "tolist") else value
    return out


def _write_metadata(f, fields: dict[str, object]) -> None:
    types: dict[str, object] = {}
    values: dict[str, object] = {}
    for name, value in fields.items():
        if value is None:
            continue
        dyn = name not in ("productionRelease", "dataType", "runNumbers")
        branch = ("FileMetaDataAuxDyn." if dyn else "FileMetaDataAux.") + name
        if name == "runNumbers":
            types[branch], values[branch] = "var * uint32", ak.Array([list(value)])
        elif isinstance(value, str):
            types[branch], values[branch] = "string", ak.Array([value])
        else:
            types[branch], values[branch] = "float32", np.array([value], dtype=np.float32)
    f.mktree("MetaData", types)
    f["MetaData"].extend(values)


def with_metadata(source: Path, dest: Path, **changes: object) -> Path:
    """A copy of ``source`` whose current MetaData holds its FileMetaData with ``changes``.

    A change to ``None`` drops the field; ``drop_all=True`` writes a MetaData tree without any
    FileMetaData field (metadata present but unusable).
    """
    shutil.copyfile(source, dest)
    dest.chmod(dest.stat().st_mode | stat.S_IWUSR)
    drop_all = bool(changes.pop("drop_all", False))
    fields = {} if drop_all else {**file_metadata(source), **changes}
    with uproot.update(dest) as f:
        if drop_all:
            f.mktree("MetaData", {"EventFormatVersion": "int32"})
            f["MetaData"].extend({"EventFormatVersion": np.array([1], dtype=np.int32)})
        else:
            _write_metadata(f, fields)
    return dest


def data_like(source: Path, dest: Path, *, run: int = 358031, year: int = 2018,
              events: int = 20) -> Path:
    """Real events of the TTree test file, relabelled as data of ``run``, with data metadata."""
    with uproot.open(source) as f:
        tree = f["CollectionTree"]
        keys = [k for k in ("EventInfoAuxDyn.eventNumber", "EventInfoAuxDyn.runNumber",
                            "AnalysisJetsAuxDyn.pt", "AnalysisJetsAuxDyn.eta",
                            "AnalysisElectronsAuxDyn.pt") if k in tree.keys(recursive=True)]
        data = tree.arrays(keys, entry_stop=events, library="ak")
    branches = {k: data[k] for k in keys}
    branches["EventInfoAuxDyn.runNumber"] = np.full(len(data), run, dtype=np.uint32)
    branches["EventInfoAuxDyn.eventTypeBitmask"] = np.zeros(len(data), dtype=np.uint32)
    with uproot.recreate(dest) as out:
        out.mktree("CollectionTree", {k: v.type if isinstance(v, ak.Array) else v.dtype
                                      for k, v in branches.items()})
        out["CollectionTree"].extend(branches)
        _write_metadata(out, {"productionRelease": "Athena-25.0.26",
                              "dataType": "StreamDAOD_PHYSLITE", "runNumbers": [run],
                              "amiTag": "f1234_m5678_p6266", "beamType": "collisions",
                              "dataYear": float(year)})
    return dest


def replicate_jittered(source: Path, dest: Path, copies: int, *, seed: int = 1) -> Path:
    """``copies`` copies of the mc23 events (CONTAINERS fields) with every float scaled by
    1 + N(0, 1 %) and distinct event numbers: repeated blocks of identical values would
    compress far better than real events, which would make any size extrapolation look wrong.
    """
    rng = np.random.default_rng(seed)
    columns = container_columns(source)
    parts: dict[str, list[ak.Array]] = {k: [] for k in columns}
    for c in range(copies):
        for k, v in columns.items():
            if k == "EventInfoAuxDyn:eventNumber":
                parts[k].append(v + np.uint64(c * 1_000_000_000))
            else:
                parts[k].append(_jitter_values(v, rng))
    with uproot.recreate(dest) as out:
        out["EventData"] = {k: ak.concatenate(v) for k, v in parts.items()}
    return dest


def _jitter_values(array: ak.Array, rng: np.random.Generator) -> ak.Array:
    """Floats (flat or singly jagged) times 1 + N(0, 1 %), one factor per value; any other
    column (integers, flags, records, strings, deeper nesting) unchanged."""
    if array.ndim > 2:
        return array
    try:
        values = ak.to_numpy(ak.flatten(array, axis=None) if array.ndim == 2 else array)
    except Exception:  # noqa: BLE001 - records and strings are left as they are
        return array
    if values.dtype.kind != "f":
        return array
    noisy = (values * (1.0 + 0.01 * rng.standard_normal(len(values)))).astype(values.dtype)
    return ak.Array(noisy) if array.ndim == 1 else ak.unflatten(noisy, ak.num(array, axis=1))


def few_systematics_config(reco: Path, dest: Path, regex: str = "GEN_.*1|MET_.*") -> Path:
    """``reco`` with ``CommonServices.filterSystematics: regex``: a few generator-weight and MET
    variations instead of ~200, so emulated test runs stay cheap but still carry systematics."""
    import yaml

    config = yaml.safe_load(reco.read_text())
    config.setdefault("CommonServices", {})["filterSystematics"] = regex
    dest.write_text(yaml.safe_dump(config, sort_keys=False))
    return dest
