"""bundle.generate / unpack_bundle: contents, manifest, determinism, limits, safety."""

from __future__ import annotations

import io
import json
import zipfile
from importlib import resources
from pathlib import Path

import pytest
from topcp_codegen import __version__
from topcp_codegen.bundle import MAX_BUNDLE_BYTES, QueryError, generate, unpack_bundle
from topcp_codegen.query import parse_query
from topcp_codegen.validation import SCHEMA_RELEASE

DEFAULT = "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
ALLOWED = '{"docker.io": {"allowedImagePrefixes": ["sslhep/servicex_science_image_topcp:"]}}'


def gen(code, allowed=ALLOWED):
    return generate(code, default_image=DEFAULT, allowed_registries=allowed)


def names(zip_bytes: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(zip_bytes)).namelist()


def member(zip_bytes: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(zip_bytes)).read(name)


def test_reco_only_bundle_contents_and_manifest(sx_query, example_texts) -> None:
    code = sx_query({"reco": example_texts["reco"]})
    result = gen(code)
    assert (result.image, result.language, result.command) == (
        DEFAULT,
        "python",
        "/generated/transform_single_file.py",
    )
    assert names(result.zip_bytes) == [
        "transformer_capabilities.json",
        "transform_single_file.py",
        "reco.yaml",
        "run_manifest.json",
    ]
    caps = json.loads(member(result.zip_bytes, "transformer_capabilities.json"))
    assert caps["language"] == "python"
    assert caps["command"] == "/generated/transform_single_file.py"
    assert caps["file-formats"] == ["root-file"]
    # RawUprootStats: in every sidecar since ServiceX v1.5.0 and reads our Transform stats line
    assert caps["stats-parser"] == "RawUprootStats"
    assert {"name", "description", "limitations"} <= set(caps)
    script = resources.files("topcp_science").joinpath("transform_single_file.py").read_bytes()
    assert member(result.zip_bytes, "transform_single_file.py") == script
    assert member(result.zip_bytes, "reco.yaml").decode() == example_texts["reco"]
    manifest = json.loads(member(result.zip_bytes, "run_manifest.json"))
    assert manifest == {
        "manifest_version": 1,
        "generator": f"servicex-topcp {__version__}",
        "schema_release": SCHEMA_RELEASE,
        "levels": {"reco": "reco.yaml", "particle": None, "parton": None},
        "max_events": -1,
        "no_systematics": True,
        "no_filter": False,
        "no_filter_injected": [],
        "query_hash": parse_query(code).query_hash(),
    }
    assert list(manifest) == list(result.manifest)
    assert len(result.zip_bytes) < 100 * 1024


def test_all_levels_are_bundled_and_listed(sx_query, example_texts) -> None:
    result = gen(sx_query(example_texts, max_events=500, no_systematics=False))
    assert names(result.zip_bytes)[2:5] == ["reco.yaml", "particle.yaml", "parton.yaml"]
    for level in ("reco", "particle", "parton"):
        assert member(result.zip_bytes, f"{level}.yaml").decode() == example_texts[level]
    manifest = json.loads(member(result.zip_bytes, "run_manifest.json"))
    assert manifest["levels"] == {
        "reco": "reco.yaml",
        "particle": "particle.yaml",
        "parton": "parton.yaml",
    }
    assert (manifest["max_events"], manifest["no_systematics"]) == (500, False)


def test_particle_level_alone_is_a_valid_request(sx_query, example_texts) -> None:
    result = gen(sx_query({"particle": example_texts["particle"]}))
    manifest = json.loads(member(result.zip_bytes, "run_manifest.json"))
    assert manifest["levels"] == {"reco": None, "particle": "particle.yaml", "parton": None}


def test_same_query_gives_a_byte_identical_zip(sx_query, example_texts) -> None:
    code = sx_query(example_texts, no_filter=True)
    first = gen(code).zip_bytes
    assert gen(code).zip_bytes == first
    assert gen(json.loads(code)).zip_bytes == first  # decoded-object form, in process
    assert zipfile.ZipFile(io.BytesIO(first)).testzip() is None  # every CRC checks out
    for info in zipfile.ZipFile(io.BytesIO(first)).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 in (0o100644, 0o100755)


def test_a_different_query_gives_a_different_hash(sx_query, example_texts) -> None:
    a = gen(sx_query({"reco": example_texts["reco"]})).manifest["query_hash"]
    b = gen(sx_query({"reco": example_texts["reco"]}, max_events=1)).manifest["query_hash"]
    assert a != b


def test_no_filter_sets_noFilter_in_every_filtering_block(sx_query, example_texts) -> None:
    import yaml

    result = gen(sx_query({"reco": example_texts["reco"]}, no_filter=True))
    manifest = result.manifest
    assert manifest["no_filter"] is True
    assert manifest["no_filter_injected"] == [
        "reco.yaml:EventCleaning[0]",
        "reco.yaml:EventSelection[0]",
    ]
    data = yaml.safe_load(member(result.zip_bytes, "reco.yaml"))
    assert data["EventCleaning"]["noFilter"] is True
    assert all(sel["noFilter"] is True for sel in data["EventSelection"])


def test_without_no_filter_the_yaml_is_verbatim(sx_query) -> None:
    text = "EventCleaning:\n  runEventCleaning: True   # odd spacing kept\n"
    result = gen(sx_query({"reco": text}))
    assert member(result.zip_bytes, "reco.yaml").decode() == text
    assert result.manifest["no_filter_injected"] == []


def test_config_errors_come_back_all_at_once(sx_query, example_texts) -> None:
    broken = example_texts["reco"].replace("minPt: 25000.0", "minPt: '25000'")
    with pytest.raises(QueryError) as info:
        gen(sx_query({"reco": broken}))
    err = info.value
    assert len(err.errors) >= 3  # three PtEtaSelection blocks use minPt (a str is refused)
    lines = err.message.splitlines()
    assert lines[0].startswith("TopCP config validation failed with")
    errors = [str(e) for e in err.errors if e.severity == "error"]
    assert lines[1 : 1 + len(errors)] == errors
    assert f"failed with {len(errors)} errors" in lines[0]
    assert all(e.file == "reco.yaml" and e.line > 0 for e in err.errors)


def test_custom_image_policy_applies(sx_query, example_texts) -> None:
    ok = "sslhep/servicex_science_image_topcp:25.2.66-v2.17.0"
    assert gen(sx_query({"reco": example_texts["reco"]}, image=ok)).image == ok
    with pytest.raises(QueryError, match="is not allowed"):
        gen(sx_query({"reco": example_texts["reco"]}, image="someone/else:1"))
    with pytest.raises(QueryError, match="not allowed on this ServiceX deployment"):
        gen(sx_query({"reco": example_texts["reco"]}, image=ok), allowed=None)
    # a refused image and config errors are reported in one go
    broken = example_texts["reco"].replace("minPt: 25000.0", "minPt: '25000'")
    with pytest.raises(QueryError) as info:
        gen(sx_query({"reco": broken}, image="someone/else:1"))
    first, second = info.value.message.splitlines()[:2]
    assert "'someone/else:1' is not allowed" in first
    assert second.startswith("TopCP config validation failed with 3 errors")
    # in-process callers may pass the policy decoded, or as registry -> prefixes
    code = sx_query({"reco": example_texts["reco"]}, image=ok)
    assert gen(code, allowed={"docker.io": {"allowedImagePrefixes": ["sslhep/"]}}).image == ok
    assert gen(code, allowed={"docker.io": ["sslhep/"]}).image == ok


def test_a_bundle_too_large_for_a_configmap_is_refused(example_texts) -> None:
    padding = "# " + "x" * 98 + "\n"
    text = example_texts["reco"] + padding * (MAX_BUNDLE_BYTES // 100 + 10)
    with pytest.raises(QueryError, match="ConfigMap"):
        gen({"reco": text})


def test_unpack_round_trip(tmp_path: Path, example_texts) -> None:
    result = gen({"reco": example_texts["reco"], "parton": example_texts["parton"]})
    dest = unpack_bundle(result.zip_bytes, tmp_path / "bundle")
    assert sorted(p.name for p in dest.iterdir()) == sorted(names(result.zip_bytes))
    assert (dest / "reco.yaml").read_text() == example_texts["reco"]
    assert (dest / "transform_single_file.py").stat().st_mode & 0o100
    assert json.loads((dest / "run_manifest.json").read_text()) == result.manifest


def test_unpack_refuses_an_occupied_folder(tmp_path: Path, example_texts) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep").write_text("x")
    with pytest.raises(FileExistsError):
        unpack_bundle(gen({"reco": example_texts["reco"]}).zip_bytes, tmp_path / "b")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["keep"]


@pytest.mark.parametrize("bad_name", ["../evil.py", "/etc/passwd", "sub/dir.yaml", "a\\b"])
def test_unpack_refuses_paths_and_leaves_nothing(tmp_path: Path, bad_name: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("reco.yaml", "a: 1\n")
        zf.writestr(bad_name, "boom")
    with pytest.raises(ValueError, match="not a flat file name"):
        unpack_bundle(buf.getvalue(), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_unpack_refuses_garbage(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a zip"):
        unpack_bundle(b"not a zip at all", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_zip_is_identical_across_processes(tmp_path: Path, example_texts) -> None:
    """Nothing process-specific (hash seed, time, umask) leaks into the bundle."""
    import hashlib
    import os
    import subprocess
    import sys

    query = json.dumps({"reco": example_texts["reco"], "parton": example_texts["parton"],
                        "no_filter": True})
    (tmp_path / "q.json").write_text(query)
    script = (
        "import hashlib, sys; from topcp_codegen.bundle import generate;"
        "z = generate(open(sys.argv[1]).read(), default_image='i', allowed_registries=None);"
        "print(hashlib.sha256(z.zip_bytes).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "q.json")],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(gen(query).zip_bytes).hexdigest()}
