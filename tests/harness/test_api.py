"""The REST API as the servicex 3.3.1 client sees it (its own ServiceXAdapter does the calls)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import requests
from servicex.models import ResultFormat, TransformRequest
from servicex.servicex_adapter import ServiceXAdapter
from topcp_harness.server import Harness


def _run(coro):
    return asyncio.run(coro)


def _request(selection: str = "{}", **kw) -> TransformRequest:
    args = dict(title="t", selection=selection, codegen="topcp", result_destination="object-store",
                result_format=ResultFormat.root_ttree)
    args.update(kw)
    return TransformRequest(**args)


def test_info_advertises_topcp_and_local_result_polling(harness: Harness):
    info = _run(ServiceXAdapter(harness.url).get_servicex_info())
    assert "topcp" in info.code_gen_image
    assert "poll_local_transformation_results" in info.capabilities
    assert info.app_version.startswith("topcp-harness")


def test_a_rucio_dataset_is_refused_with_a_pointer_to_a_real_servicex(harness: Harness):
    req = _request(did="rucio://mc23_13p6TeV:mc23_13p6TeV.601229.PHYSLITE")
    with pytest.raises(ValueError, match=r"Invalid transform request: dataset 'rucio://mc23.*"
                                         r"needs a real ServiceX.*FileList"):
        _run(ServiceXAdapter(harness.url).submit_transform(req))


def test_relative_missing_and_outside_input_paths_are_refused_before_any_work(
        harness: Harness, tmp_path: Path):
    missing = tmp_path / "no-such-file.root"
    req = _request(file_list=["data/x.root", str(missing), "/etc/passwd", "/root/nope.root"])
    with pytest.raises(ValueError) as info:
        _run(ServiceXAdapter(harness.url).submit_transform(req))
    msg = str(info.value)
    assert "data/x.root: relative path" in msg
    assert f"{missing}: no such file" in msg
    # outside the data folders: refused the same way whether or not the file exists
    assert "/etc/passwd: outside the harness's data folders" in msg
    assert "/root/nope.root: outside the harness's data folders" in msg
    assert "--data-dir" in msg


def test_remote_inputs_are_off_unless_allowed(harness: Harness):
    req = _request(file_list=["root://eospublic.cern.ch//eos/x.root"])
    with pytest.raises(ValueError, match=r"remote inputs \(root://\) are off.*"
                                         r"--allow-remote-inputs"):
        _run(ServiceXAdapter(harness.url).submit_transform(req))


def test_another_code_generator_is_refused_as_servicex_does(harness: Harness,
                                                            physlite_ttree: Path):
    # ServiceX: 500 "Invalid Codegen Image Passed in Request: <name>" (submit.py, 2024-10),
    # which servicex 3.3.1 raises as RuntimeError
    req = _request(file_list=[str(physlite_ttree)], codegen="uproot")
    with pytest.raises(RuntimeError) as info:
        _run(ServiceXAdapter(harness.url).submit_transform(req))
    assert str(info.value).startswith(
        "ServiceX WebAPI Error during transformation submission: 500 - Invalid Codegen Image "
        "Passed in Request: uproot")
    assert "'topcp'" in str(info.value)


def test_a_codegen_rejection_reaches_the_client_as_servicex_sends_it(harness: Harness,
                                                                     physlite_ttree: Path):
    # ServiceX: 500 "Something went wrong (Failed to generate translation code: <Message>)",
    # which servicex 3.3.1 raises as RuntimeError (submit.py, code_gen_adapter.py 2024-10).
    req = _request(selection='{"reco": null}', file_list=[str(physlite_ttree)])
    with pytest.raises(RuntimeError) as info:
        _run(ServiceXAdapter(harness.url).submit_transform(req))
    assert str(info.value).startswith(
        "ServiceX WebAPI Error during transformation submission: 500 - Something went wrong "
        "(Failed to generate translation code: ")
    assert "internal" not in str(info.value).lower()


def test_unknown_request_ids_are_404_for_every_endpoint(harness: Harness):
    adapter = ServiceXAdapter(harness.url)
    with pytest.raises(ValueError, match="not found"):
        _run(adapter.get_transform_status("nope"))
    with pytest.raises(ValueError, match="not found"):
        _run(adapter.get_transformation_results("nope"))
    with pytest.raises(ValueError, match="not found"):
        _run(adapter.cancel_transform("nope"))
    with pytest.raises(ValueError, match="not found"):
        _run(adapter.delete_transform("nope"))


def test_bad_json_is_a_400_not_a_500(harness: Harness):
    r = requests.post(harness.url + "/servicex/transformation", data="{oops", timeout=10,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON object" in r.json()["message"]


def test_cancel_stops_the_request_and_delete_removes_its_outputs(harness: Harness, tmp_path: Path,
                                                                 physlite_ttree: Path,
                                                                 reco_yaml: Path):
    import shutil

    from harness_helpers import wait_for
    from servicex import query

    inputs = []
    for i in range(4):
        p = tmp_path / f"c{i}.root"
        shutil.copyfile(physlite_ttree, p)
        inputs.append(str(p))
    adapter = ServiceXAdapter(harness.url)
    sel = query.TopCP(reco=str(reco_yaml), max_events=10).generate_selection_string()
    rid = _run(adapter.submit_transform(_request(selection=sel, file_list=inputs)))
    _run(adapter.cancel_transform(rid))
    assert _run(adapter.get_transform_status(rid)).status == "Canceled"

    def settled() -> bool:
        return all(f["status"] == "pending" for f in harness.db.files(rid))

    wait_for(settled, 120, "the in-flight files of the canceled request to stop")
    status = _run(adapter.get_transform_status(rid))
    assert (status.status, status.files_completed) == ("Canceled", 0)
    assert harness.store.sizes(rid) == {}

    _run(adapter.delete_transform(rid))
    with pytest.raises(ValueError, match="not found"):
        _run(adapter.get_transform_status(rid))
    assert not (harness.config.state_dir / "requests" / rid).exists()


def test_the_server_cache_reuses_a_finished_request_only_while_its_outputs_exist(
        harness: Harness, tmp_path: Path, physlite_ttree: Path, reco_yaml: Path):
    import shutil

    from harness_helpers import wait_for
    from servicex import query

    src = tmp_path / "cached.root"
    shutil.copyfile(physlite_ttree, src)
    adapter = ServiceXAdapter(harness.url)
    sel = query.TopCP(reco=str(reco_yaml), max_events=5).generate_selection_string()

    def submit(title: str) -> str:
        return _run(adapter.submit_transform(_request(selection=sel, file_list=[str(src)],
                                                      title=title)))

    first = submit("first")
    wait_for(lambda: harness.db.request(first)["status"] == "Complete", 120, "the transform")
    assert submit("same query, other title") == first

    # a different format of the same query is a different request
    with pytest.raises(ValueError, match="writes root-file, not parquet"):
        _run(adapter.submit_transform(_request(selection=sel, file_list=[str(src)],
                                               result_format=ResultFormat.parquet)))

    harness.store.delete_bucket(first)  # outputs gone: transform again
    second = submit("after cleanup")
    assert second != first
    wait_for(lambda: harness.db.request(second)["status"] == "Complete", 120, "the transform")
    assert harness.db.counts(second)["completed"] == 1


def test_only_the_status_of_one_request_carries_its_s3_key(harness: Harness, tmp_path: Path,
                                                           physlite_ttree: Path,
                                                           reco_yaml: Path):
    # ServiceX's listing (get_all.py: TransformRequest.to_json) has no minio-* keys; here a
    # listing must not hand out every request's read-only key in one call either
    import shutil

    from servicex import query

    mine = tmp_path / "listed.root"
    shutil.copyfile(physlite_ttree, mine)
    adapter = ServiceXAdapter(harness.url)
    sel = query.TopCP(reco=str(reco_yaml), max_events=1).generate_selection_string()
    rid = _run(adapter.submit_transform(_request(selection=sel, file_list=[str(mine)])))
    _run(adapter.cancel_transform(rid))
    one = _run(adapter.get_transform_status(rid))
    assert one.minio_access_key and one.minio_secret_key
    listed = requests.get(harness.url + "/servicex/transformation", timeout=10).json()
    (entry,) = [r for r in listed["requests"] if r["request_id"] == rid]
    assert entry["minio-endpoint"] and "minio-access-key" not in entry
    assert not any("minio-secret-key" in r for r in listed["requests"])
    assert rid in {t.request_id for t in _run(adapter.get_transforms())}  # the client reads it
