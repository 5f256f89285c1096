"""Output object names follow the ServiceX sidecar, so local files are named as on a cluster."""

from __future__ import annotations

from servicex.minio_adapter import _sanitize_filename
from topcp_harness.naming import MAX_OBJECT_NAME, object_name


def test_root_output_is_the_input_path_with_colons_and_no_suffix():
    name = object_name("/data/mc23/DAOD_PHYSLITE.123._000001.pool.root.1", "root-file")
    assert name == ":data:mc23:DAOD_PHYSLITE.123._000001.pool.root.1"


def test_parquet_output_gets_the_parquet_suffix():
    assert object_name("/a/b.root", "parquet") == ":a:b.root.parquet"


def test_urls_keep_their_scheme_characters():
    name = object_name("root://eospublic.cern.ch//eos/x/f.root.1", "root-file")
    assert name == "root:::eospublic.cern.ch::eos:x:f.root.1"
    # and the client turns it into the documented local file name
    assert _sanitize_filename(name) == "root___eospublic.cern.ch__eos_x_f.root.1"


def test_long_names_become_sha1_plus_tail_of_255_characters():
    long_input = "/" + "d" * 300 + "/file.root"
    name = object_name(long_input, "root-file")
    assert len(name) == MAX_OBJECT_NAME
    assert name.startswith("_") and name.endswith(":file.root")
    assert name != object_name(long_input + "x", "root-file")
