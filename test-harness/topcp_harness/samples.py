"""Bigger PHYSLITE-like inputs for tests and benchmarks, made from a real small file.

The shared test files hold 100 events: too few to keep a worker busy long enough to kill it,
or to measure throughput. ``enlarge_physlite`` replicates a TTree file's events (every branch
uproot can round-trip: flat and singly-jagged numbers) into a new file of any size.
"""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak
import uproot


def _copyable_branches(tree) -> list[str]:
    keys = []
    for name, branch in tree.items():
        if branch.branches or branch.num_entries != tree.num_entries:
            continue
        try:
            t = str(branch.array(library="ak", entry_stop=1).type)
        except Exception:  # noqa: BLE001 - uproot raises many types for unreadable branches
            continue
        if "var * var" in t or "string" in t or "{" in t:
            continue
        keys.append(name)
    return keys


def enlarge_physlite(source: Path, dest: Path, events: int, tree: str = "CollectionTree") -> Path:
    """Write ``dest`` with ``events`` events, the source's events repeated; atomic."""
    with uproot.open(source) as f:
        t = f[tree]
        keys = _copyable_branches(t)
        data = t.arrays(keys, library="ak")
    block = ak.concatenate([data] * max(1, 5_000 // len(data)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    with uproot.recreate(tmp) as out:
        written = 0
        while written < events:
            take = min(len(block), events - written)
            chunk = {k: block[k][:take] for k in keys}
            if written == 0:
                out[tree] = chunk
            else:
                out[tree].extend(chunk)
            written += take
    os.replace(tmp, dest)
    return dest
