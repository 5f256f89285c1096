"""What a PHYSLITE input says about itself, read with uproot: format, data/MC, simulation, campaign.

``runTop_el.py`` configures itself from the input's metadata before any event is read
(TopCPToolkit ``python/metaConfig.py``, drkevinbarends/TopCPToolkit 2025-06-19:
``populate_config_flags`` -> data type, MC campaign, AMI tag, e-tag, PHYSLITE flag, Run-2/3),
so a config that does not fit the input fails (or silently does the wrong thing) only after the
job started. This module reads the same facts offline so ``topcp-sx check`` can compare them
with the config first.

Where the facts live (checked on the mc23 test file, AthDerivation 25.0.26):

- ``MetaData`` TTree, ``FileMetaDataAux.`` members ``productionRelease``, ``dataType``
  (``StreamDAOD_PHYSLITE``), ``runNumbers``, ``lumiBlocks``; dynamic members
  ``FileMetaDataAuxDyn.{amiTag, mcCampaign, simFlavour, mcProcID, generatorsInfo,
  geometryVersion, conditionsTag, beamType, beamEnergy, isDataOverlay}`` (``dataYear`` on data).
- ``EventStreamInfo`` (``processingTags``, ``eventTypes``) is what athena's MetaReader uses for
  ``isPHYSLITE``/``isMC``; uproot cannot decode its ``m_itemList`` member, so we use
  FileMetaData's ``dataType`` (the same stream name) and the MC-only FileMetaData fields instead
  (an inference, stated in every message that relies on it).
- The event data itself: ``EventInfo.eventTypeBitmask`` (bit 0 = IS_SIMULATION),
  ``runNumber``, ``mcChannelNumber`` of the first event; container names (``AnalysisJets`` only in
  PHYSLITE).

Old-style files without a ``MetaData`` tree (the coffea Run-2 test file) still give the event
facts; ``has_metadata`` is then False and the campaign is a guess from the run number.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uproot

#: MC campaign from the r-tag, TopCPToolkit metaConfig._campaigns_AMITag (the fallback
#: runTop_el.py uses when FileMetaData has no mcCampaign).
CAMPAIGN_FROM_RTAG = {"r13167": "mc20a", "r13144": "mc20d", "r13145": "mc20e",
                      "r13829": "mc21a", "r14622": "mc23a", "r14799": "mc23c", "r15224": "mc23d"}
#: MC runNumber convention -> campaign(s); only a guess when the metadata is missing
#: (450000 is used by both mc23c and mc23d).
CAMPAIGNS_FROM_RUN = {284500: ("mc20a",), 300000: ("mc20d",), 310000: ("mc20e",),
                      330000: ("mc21a",), 410000: ("mc23a",), 450000: ("mc23c", "mc23d"),
                      470000: ("mc23e",)}
#: Data-taking years of an MC campaign: athena TriggerAnalysisSFConfig.get_input_years
#: (ATLAS-experiment/athena, stored copy 70420450342, 2024-25).
CAMPAIGN_YEARS = {"mc20a": (2015, 2016), "mc20d": (2017,), "mc20e": (2018,), "mc21a": (2022,),
                  "mc23a": (2022,), "mc23c": (2023,), "mc23d": (2023,), "mc23e": (2024,),
                  "mc23g": (2025,)}
#: Data year from the run number: TopCPToolkit metaConfig._years_runNumbers, [min, max).
YEAR_RUN_RANGES = ((2015, 0, 290000), (2016, 290000, 320000), (2017, 320000, 342000),
                   (2018, 342000, 400000), (2022, 410000, 450000), (2023, 450000, 470000),
                   (2024, 470000, 10**9))

_FMD_PREFIXES = ("FileMetaDataAuxDyn.", "FileMetaDataAux.")
_TAG = re.compile(r"^([a-z])(\d+)$")


class MetadataError(ValueError):
    """The input cannot be opened as ROOT or holds no PHYSLITE event data."""


@dataclass
class InputFacts:
    """The facts of one input file; ``None`` means "not stored / not readable"."""

    path: str
    layout: str = ""  # "TTree" (CollectionTree) or "RNTuple" (EventData)
    events: int = 0
    has_metadata: bool = False  # a MetaData tree with FileMetaData fields
    file_metadata: dict[str, Any] = field(default_factory=dict)
    derivation: str | None = None  # "PHYSLITE", "PHYS", "BPHY28", ...
    derivation_source: str = ""  # where ``derivation`` came from
    is_mc_metadata: bool | None = None
    is_mc_events: bool | None = None
    sim_flavour: str | None = None
    dsid_metadata: int | None = None
    dsid_events: int | None = None
    run_events: int | None = None
    campaign: str | None = None
    campaign_source: str = ""
    ami_tag: str | None = None
    tags: dict[str, list[str]] = field(default_factory=dict)  # {"e": ["e8514"], "p": [...]}
    notes: list[str] = field(default_factory=list)

    @property
    def is_mc(self) -> bool | None:
        """MC or data as runTop_el.py would see it: the metadata first, else the events."""
        return self.is_mc_metadata if self.is_mc_metadata is not None else self.is_mc_events

    @property
    def sim_kind(self) -> str | None:
        """``FullSim``/``AF3``/``FastSim`` from simFlavour (athena SimEnums.SimulationFlavour:
        ``usesFastCaloSim`` = 'ATLFAST' in the name; ATLFAST3* is AF3)."""
        if not self.sim_flavour:
            return None
        if "ATLFAST3" in self.sim_flavour:
            return "AF3"
        if "ATLFAST" in self.sim_flavour:
            return "FastSim"
        return "FullSim"

    @property
    def run_numbers(self) -> list[int]:
        runs = self.file_metadata.get("runNumbers")
        if runs:
            return [int(r) for r in runs]
        return [self.run_events] if self.run_events is not None else []

    @property
    def dsid(self) -> int | None:
        return self.dsid_metadata if self.dsid_metadata else self.dsid_events

    @property
    def years(self) -> list[int]:
        """Data-taking years the release derives for this input (for Trigger and PRW)."""
        if self.is_mc is False:
            out = []
            for run in self.run_numbers:
                for year, lo, hi in YEAR_RUN_RANGES:
                    if lo <= run < hi and year not in out:
                        out.append(year)
            if self.file_metadata.get("dataYear"):
                year = int(self.file_metadata["dataYear"])
                if year and year not in out:
                    out.append(year)
            return out
        return list(CAMPAIGN_YEARS.get(self.campaign or "", ()))

    def describe(self) -> str:
        """One line for reports: 'MC FullSim mc23c DSID 601229 run 450000, PHYSLITE'."""
        parts = ["data" if self.is_mc is False else "MC" if self.is_mc else "data/MC unknown"]
        if self.sim_kind:
            parts.append(self.sim_kind)
        if self.campaign:
            parts.append(self.campaign)
        if self.dsid:
            parts.append(f"DSID {self.dsid}")
        if self.run_numbers:
            parts.append("run " + ",".join(str(r) for r in self.run_numbers))
        text = " ".join(parts)
        return f"{text}, {self.derivation or 'format unknown'}" + (
            "" if self.has_metadata else " (no MetaData)")


def parse_ami_tag(tag: str) -> dict[str, list[str]]:
    """``e8514_s4159_s4114_r14799_p6266`` -> ``{"e": ["e8514"], "s": [...], "r": [...], ...}``."""
    out: dict[str, list[str]] = {}
    for part in tag.split("_"):
        m = _TAG.match(part.strip())
        if m:
            out.setdefault(m.group(1), []).append(part.strip())
    return out


def _scalar(value: Any) -> Any:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value


def read_file_metadata(f: uproot.ReadOnlyDirectory) -> dict[str, Any]:
    """FileMetaData fields of the (highest-cycle) ``MetaData`` tree, by plain name.

    Accepts the real split layout (``FileMetaDataAux./FileMetaDataAux.dataType``,
    ``FileMetaDataAuxDyn.mcCampaign``) and flat branches of the same names.
    """
    names = {k.split(";")[0] for k in f.keys(recursive=False)}
    if "MetaData" not in names:
        return {}
    meta = f["MetaData"]
    if int(meta.num_entries) < 1:
        return {}
    out: dict[str, Any] = {}
    keys = meta.keys(recursive=True) if isinstance(meta, uproot.TTree) else meta.keys()
    for key in keys:
        leaf = key.rsplit("/", 1)[-1]
        prefix = next((p for p in _FMD_PREFIXES if leaf.startswith(p)), None)
        if prefix is None or len(leaf) == len(prefix):
            continue
        name = leaf[len(prefix):]
        if name in out or "." in name:
            continue
        try:
            value = meta[key].array(library="np", entry_stop=1)[0]
        except Exception:  # noqa: BLE001 - unreadable members (streamed objects) are skipped
            continue
        out[name] = _scalar(value)
    return out


def _first_event(f: uproot.ReadOnlyDirectory, layout: str, var: str) -> Any:
    obj = f["CollectionTree" if layout == "TTree" else "EventData"]
    key = f"EventInfoAuxDyn.{var}" if layout == "TTree" else f"EventInfoAuxDyn:{var}"
    try:
        return _scalar(obj[key].array(library="np", entry_stop=1)[0])
    except Exception:  # noqa: BLE001 - absent or unreadable: the fact stays unknown
        return None


def _top_level_names(obj: Any, layout: str) -> list[str]:
    """Top-level branch/field names. For RNTuple from the field records (header and schema
    extension): uproot's ``keys()`` walks every sub-field and takes tens of seconds on a
    PHYSLITE file's ~2400 fields."""
    if layout == "TTree":
        return list(obj.keys(recursive=False))
    records = obj.field_records
    return [r.field_name for i, r in enumerate(records) if r.parent_field_id == i]


def _derivation_from_containers(f: uproot.ReadOnlyDirectory, layout: str) -> str | None:
    obj = f["CollectionTree" if layout == "TTree" else "EventData"]
    heads = {k.split(":")[0].split(".")[0] for k in _top_level_names(obj, layout)}
    if {"AnalysisJetsAuxDyn", "AnalysisElectronsAuxDyn"} & heads:
        return "PHYSLITE"
    if {"AntiKt4EMPFlowJetsAux", "AntiKt4EMPFlowJetsAuxDyn", "ElectronsAuxDyn"} & heads:
        return "PHYS"
    return None


def read_input_facts(path: str | Path) -> InputFacts:
    """Read one input's metadata and first-event facts; raises MetadataError if not PHYSLITE-like.

    Remembered per (path, size, mtime): ``check`` then ``run``, or several configs checked
    against the same inputs in one process, read each file once. Treat the result as read-only.
    """
    p = str(path)
    try:
        st = os.stat(p)
    except OSError as exc:
        raise MetadataError(f"{p}: cannot read ({exc.strerror})") from None
    return _read_input_facts(p, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _read_input_facts(p: str, _size: int, _mtime: int) -> InputFacts:
    try:
        f = uproot.open(p)
    except Exception as exc:  # noqa: BLE001 - uproot raises many types for non-ROOT input
        raise MetadataError(f"{p}: not a readable ROOT file ({type(exc).__name__}: {exc})") from None
    with f:
        classes = {k.split(";")[0]: v for k, v in f.classnames(recursive=False).items()}
        facts = InputFacts(path=p)
        if classes.get("CollectionTree") == "TTree":
            facts.layout = "TTree"
        elif str(classes.get("EventData", "")).endswith("RNTuple"):
            facts.layout = "RNTuple"
        else:
            raise MetadataError(
                f"{p}: no 'CollectionTree' TTree or 'EventData' RNTuple: not an xAOD/DAOD file")
        facts.events = int(f["CollectionTree" if facts.layout == "TTree" else "EventData"]
                           .num_entries)
        fmd = read_file_metadata(f)
        facts.file_metadata = fmd
        facts.has_metadata = bool(fmd)
        stream = str(fmd.get("dataType") or "")
        if stream.startswith("StreamDAOD_"):
            facts.derivation = stream[len("StreamDAOD_"):]
            facts.derivation_source = f"FileMetaData dataType '{stream}'"
        else:
            facts.derivation = _derivation_from_containers(f, facts.layout)
            facts.derivation_source = "container names" if facts.derivation else ""
        facts.sim_flavour = str(fmd["simFlavour"]) if fmd.get("simFlavour") else None
        proc = fmd.get("mcProcID")
        facts.dsid_metadata = int(proc) if proc not in (None, "") and float(proc) > 0 else None
        if facts.has_metadata:
            facts.is_mc_metadata = bool(facts.sim_flavour or facts.dsid_metadata
                                        or fmd.get("mcCampaign"))
        bitmask = _first_event(f, facts.layout, "eventTypeBitmask")
        if bitmask is not None:
            facts.is_mc_events = bool(int(bitmask) & 1)
        channel = _first_event(f, facts.layout, "mcChannelNumber")
        facts.dsid_events = int(channel) if channel else None
        run = _first_event(f, facts.layout, "runNumber")
        facts.run_events = int(run) if run is not None else None
        facts.ami_tag = str(fmd["amiTag"]) if fmd.get("amiTag") else None
        facts.tags = parse_ami_tag(facts.ami_tag or "")
        _set_campaign(facts)
    return facts


def _set_campaign(facts: InputFacts) -> None:
    if facts.is_mc is False:
        return
    stored = facts.file_metadata.get("mcCampaign")
    if stored:
        facts.campaign, facts.campaign_source = str(stored), f"FileMetaData mcCampaign '{stored}'"
        return
    for rtag in facts.tags.get("r", []):
        if rtag in CAMPAIGN_FROM_RTAG:
            facts.campaign = CAMPAIGN_FROM_RTAG[rtag]
            facts.campaign_source = f"r-tag {rtag} in AMITag '{facts.ami_tag}'"
            return
    guesses = CAMPAIGNS_FROM_RUN.get(facts.run_events or -1)
    if guesses:
        facts.campaign = guesses[0]
        facts.campaign_source = (f"guessed from runNumber {facts.run_events} (no campaign in "
                                 "the metadata" + (f"; could also be {', '.join(guesses[1:])})"
                                                   if len(guesses) > 1 else ")"))
