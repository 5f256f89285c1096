"""The standard-library ROOT reader and YAML tree-name scan inside transform_single_file.py."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import uproot
from topcp_science import transform_single_file as tsf


def test_keys_of_real_physlite_files_match_uproot(physlite_file):
    keys = tsf.read_root_keys(str(physlite_file))
    with uproot.open(physlite_file) as f:
        expected = f.classnames()
    assert {f"{k.name};{k.cycle}": k.classname for k in keys} == expected
    assert len(keys) == len(expected)


def test_tree_entries_of_real_ttree(physlite_ttree):
    (key,) = [k for k in tsf.read_root_keys(str(physlite_ttree)) if k.name == "CollectionTree"]
    assert tsf.tree_entries(str(physlite_ttree), key) == 100


@pytest.mark.parametrize("compression", [None, uproot.ZLIB(1), uproot.LZMA(1)])
def test_uproot_written_file(tmp_path, compression):
    path = tmp_path / "f.root"
    with uproot.recreate(path, compression=compression) as f:
        tree = f.mktree("reco", {"x": np.float64})
        tree.extend({"x": np.arange(1234, dtype=np.float64)})
        f["a_long_directory_name_" * 15] = (np.array([1.0]), np.array([0.0, 1.0]))
        f["particleLevel"] = {"y": np.arange(5)}  # uproot writes dicts as RNTuple
    keys = tsf.read_root_keys(str(path))
    by_name = {k.name: k for k in keys}
    assert by_name["reco"].classname == "TTree"
    assert by_name["particleLevel"].classname == "ROOT::RNTuple"
    assert ("a_long_directory_name_" * 15) in by_name  # a name longer than 255 bytes
    assert tsf.tree_entries(str(path), by_name["reco"]) == 1234


def _write_large_variant(path: Path, names: list[tuple[str, str]], keys_at: int) -> None:
    """A ROOT file in the >2 GB layout: 64-bit header fields and version>1000 keys.

    The key list sits at ``keys_at`` (beyond 2**31 in the test); the file is sparse.
    """

    def tstring(s: str) -> bytes:
        b = s.encode()
        return bytes([len(b)]) + b

    def key(classname, name, seek):
        tail = tstring(classname) + tstring(name) + tstring("")
        keylen = 18 + 16 + len(tail)
        return struct.pack(">ihiIhhqq", keylen + 10, 1004, 10, 0, keylen, 1, seek, 100) + tail

    begin = 100
    top = key("TFile", "big.root", begin)
    nbytes_name = len(top) + 2 * 9
    entries = b"".join(key(c, n, 5_000_000_000 + i) for i, (c, n) in enumerate(names))
    keylist = key("TFile", "big.root", keys_at) + struct.pack(">i", len(names)) + entries
    end = keys_at + len(keylist)
    header = b"root" + struct.pack(
        ">iiqqiiiBiqi", 1063000, begin, end, 0, 0, 0, nbytes_name, 8, 505, 0, 0
    )
    directory = struct.pack(">hIIiiqqq", 1005, 0, 0, len(keylist), nbytes_name, begin, 0, keys_at)
    with open(path, "wb") as f:
        f.write(header)
        f.seek(begin)
        f.write(top + tstring("big.root") + tstring(""))
        f.seek(begin + nbytes_name)
        f.write(directory)
        f.seek(keys_at)
        f.write(keylist)


def test_large_file_variant(tmp_path):
    path = tmp_path / "big.root"
    _write_large_variant(path, [("TTree", "reco"), ("TH1I", "metadata")], keys_at=3 * 2**30)
    assert path.stat().st_size > 2**31
    keys = tsf.read_root_keys(str(path))
    assert [(k.classname, k.name) for k in keys] == [("TTree", "reco"), ("TH1I", "metadata")]
    assert keys[0].seek == 5_000_000_000


def _uproot_file(tmp_path: Path) -> Path:
    path = tmp_path / "ok.root"
    with uproot.recreate(path) as f:
        f.mktree("reco", {"x": np.int32}).extend({"x": np.arange(3, dtype=np.int32)})
    return path


def test_unclosed_file_is_rejected(tmp_path):
    path = _uproot_file(tmp_path)
    data = bytearray(path.read_bytes())
    (begin,) = struct.unpack_from(">i", data, 8)
    (nbytes_name,) = struct.unpack_from(">i", data, 28)
    struct.pack_into(">i", data, begin + nbytes_name + 26, 0)  # fSeekKeys = 0
    path.write_bytes(bytes(data))
    with pytest.raises(tsf.RootFileError, match="not closed"):
        tsf.read_root_keys(str(path))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda b: b"xxxx" + b[4:], "no 'root' magic"),
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b[:20], "truncated"),
    ],
    ids=["magic", "half", "header-only"],
)
def test_damaged_files_are_rejected(tmp_path, mutate, match):
    path = _uproot_file(tmp_path)
    path.write_bytes(mutate(path.read_bytes()))
    with pytest.raises(tsf.RootFileError, match=match):
        tsf.read_root_keys(str(path))


@pytest.mark.parametrize(
    ("text", "trees"),
    [
        ("Output:\n  treeName: 'reco'\n  vars:\n    - 'a -> b'\n", ["reco"]),
        ("Output:\n  vars: []\n", ["analysis"]),
        ("Jets: []\n", []),
        ("include: base.yaml\nJets: []\n", None),
        ('Output: {vars: [], treeName: "truth"}\n', ["truth"]),
        ("Output:\n  - treeName: a  # first\n    vars: []\n  - vars: []\n", ["a", "analysis"]),
        ("Output:\n- vars:\n  - 'x -> y'\n  treeName: pl\nJets: []\n", ["pl"]),
        ("Output:\n  containers:\n    treeName: nested\n  treeName: top\n", ["top"]),
    ],
    ids=["mapping", "default", "no-output", "include", "flow", "list", "list-col0", "nested"],
)
def test_expected_trees(text, trees):
    assert tsf.expected_trees(text) == trees


def test_expected_trees_of_the_example_configs(ttbar_configs):
    import yaml

    for path in ttbar_configs.values():
        if not path.exists():
            pytest.skip("example configs not present")
        text = path.read_text()
        output = yaml.safe_load(text).get("Output")
        outputs = output if isinstance(output, list) else [output] if output else []
        assert tsf.expected_trees(text) == [o.get("treeName", "analysis") for o in outputs]
