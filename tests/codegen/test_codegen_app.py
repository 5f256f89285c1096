"""The HTTP API, exercised the way ServiceX uses it: real servicex 3.3.1 queries in, replies
decoded by position with requests_toolbelt's MultipartDecoder, zips unpacked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from topcp_codegen import __version__, create_app
from topcp_codegen.validation import SCHEMA_RELEASE

DEFAULT_IMAGE = "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
ROUTE = "/servicex/generated-code"


def manifest_of(reply) -> dict:
    return json.loads(reply.text("run_manifest.json"))


def test_reco_only_query_gets_the_four_part_reply(post_code, decode, sx_query, example_texts):
    reply = decode(post_code(sx_query({"reco": example_texts["reco"]})))
    assert reply.image == DEFAULT_IMAGE
    assert reply.language == "python"
    assert reply.command == "/generated/transform_single_file.py"
    names = [h[b"Content-Disposition"] for h in reply.part_headers]
    assert names == [
        b'form-data; name="transformer_image"',
        b'form-data; name="language"',
        b'form-data; name="command"',
        b'form-data; name="zip_data"',
    ]
    # as servicex-code-gen-lib writes it: no filename, no Content-Type on any part
    assert all(list(h) == [b"Content-Disposition"] for h in reply.part_headers)
    assert reply.zip.namelist() == [
        "transformer_capabilities.json",
        "transform_single_file.py",
        "reco.yaml",
        "run_manifest.json",
    ]
    assert reply.text("reco.yaml") == example_texts["reco"]
    assert manifest_of(reply)["levels"] == {"reco": "reco.yaml", "particle": None, "parton": None}


def test_all_three_levels(post_code, decode, sx_query, example_texts):
    reply = decode(post_code(sx_query(example_texts)))
    for level in ("reco", "particle", "parton"):
        assert reply.text(f"{level}.yaml") == example_texts[level]
    assert manifest_of(reply)["levels"] == {
        "reco": "reco.yaml",
        "particle": "particle.yaml",
        "parton": "parton.yaml",
    }


def test_max_events_and_systematics_reach_the_manifest(post_code, decode, sx_query, example_texts):
    reply = decode(
        post_code(sx_query({"reco": example_texts["reco"]}, max_events=250, no_systematics=False))
    )
    manifest = manifest_of(reply)
    assert (manifest["max_events"], manifest["no_systematics"]) == (250, False)


def test_no_filter_query(post_code, decode, sx_query, example_texts):
    reply = decode(post_code(sx_query({"reco": example_texts["reco"]}, no_filter=True)))
    manifest = manifest_of(reply)
    assert manifest["no_filter"] is True
    assert manifest["no_filter_injected"] == [
        "reco.yaml:EventCleaning[0]",
        "reco.yaml:EventSelection[0]",
    ]
    assert yaml.safe_load(reply.text("reco.yaml"))["EventCleaning"]["noFilter"] is True


def test_allowed_custom_image_becomes_part_one(post_code, decode, sx_query, example_texts):
    image = "sslhep/servicex_science_image_topcp:25.2.66-v2.17.0"
    reply = decode(post_code(sx_query({"reco": example_texts["reco"]}, image=image)))
    assert reply.image == image


def test_refused_image_is_a_400_saying_what_is_allowed(post_code, sx_query, example_texts):
    resp = post_code(sx_query({"reco": example_texts["reco"]}, image="evil/miner:latest"))
    assert resp.status_code == 400
    assert "'evil/miner:latest' is not allowed" in resp.json["Message"]
    assert "sslhep/servicex_science_image_topcp:" in resp.json["Message"]


def test_default_image_comes_from_the_environment(monkeypatch, sx_query, example_texts, decode):
    monkeypatch.setenv("TRANSFORMER_SCIENCE_IMAGE", "registry.example/topcp:9")
    monkeypatch.delenv("ALLOWED_DOCKER_REGISTRIES", raising=False)
    client = create_app().test_client()
    reply = decode(
        client.post(ROUTE, json={"code": sx_query({"reco": example_texts["reco"]})})
    )
    assert reply.image == "registry.example/topcp:9"


def test_parsed_mapping_form(post_code, decode, example_texts):
    mapping = yaml.safe_load(example_texts["reco"])
    reply = decode(post_code(json.dumps({"reco": mapping, "max_events": 5})))
    assert yaml.safe_load(reply.text("reco.yaml")) == mapping
    assert manifest_of(reply)["max_events"] == 5


def test_an_empty_config_is_refused_alike_as_text_and_as_mapping(post_code):
    """'' (servicex 3.3.1 sending an empty file) and {} (the parsed form) mean the same."""
    messages = []
    for reco in ("", "{}", {}):
        resp = post_code(json.dumps({"reco": reco}))
        assert resp.status_code == 400, reco
        messages.append(resp.json["Message"])
        (err,) = resp.json["errors"]
        assert (err["file"], err["line"], err["column"]) == ("reco.yaml", 1, 1)
    assert len(set(messages)) == 1
    assert "reco.yaml:1:1: the config has no blocks" in messages[0]


def test_values_python_cannot_hold_are_a_400_not_a_500(post_code):
    for reco in ("CommonServices:\n  runSystematics: " + "7" * 5000 + "\n",
                 "CommonServices:\n  filterSystematics: 2024-13-45\n"):
        resp = post_code(json.dumps({"reco": reco}))
        assert resp.status_code == 400
        assert "reco.yaml:2:" in resp.json["Message"] and "cannot read the value" in resp.json["Message"]


def test_acceptance_one_reply_lists_all_four_mistakes(
    post_code, sx_query, acceptance_reco, check_acceptance
):
    """Misspelled option, bad JES model, unknown block, dangling selection: one 400, all four."""
    text, expected = acceptance_reco
    resp = post_code(sx_query({"reco": text}))
    check_acceptance(resp.status_code, resp.json, expected)


def test_healthz_and_info(client):
    assert client.get("/healthz").json == {"status": "ok"}
    info = client.get("/servicex/info").json
    assert info["name"] == "topcp"
    assert info["version"] == __version__
    assert info["schema_release"] == SCHEMA_RELEASE
    assert info["default_image"] == DEFAULT_IMAGE
    assert "sslhep/servicex_science_image_topcp:" in info["custom_images"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "the body is empty"),
        (b"not json", "not valid JSON"),
        (b"[1]", "got a JSON array"),
        (b"null", "got a JSON null"),
        (b'{"query": "x"}', "'code' key is missing"),
        (b'{"code": {"reco": "a: 1"}}', "'code' must be a string"),
        (b'{"code": "not json"}', "the TopCP query is not valid JSON"),
        (b'{"code": "{\\"reco\\": \\"a: 1\\", \\"max_event\\": 3}"}', "did you mean 'max_events'"),
        (b"\xff\xfe\xfa", "not UTF-8"),
    ],
)
def test_user_mistakes_are_400_with_a_message(client, body, fragment):
    resp = client.post(ROUTE, data=body, content_type="application/json")
    assert resp.status_code == 400
    assert fragment in resp.json["Message"]


def test_get_on_the_post_route_is_405_with_message(client):
    resp = client.get(ROUTE)
    assert resp.status_code == 405
    assert resp.json["Message"] == f"GET is not allowed on {ROUTE}; use POST"


def test_unknown_path_is_404_with_message(client):
    resp = client.post("/servicex/generated_code", json={"code": "{}"})
    assert resp.status_code == 404
    assert "POST /servicex/generated-code" in resp.json["Message"]


def test_body_over_the_limit_is_413(client, app_config):
    resp = client.post(ROUTE, data=b'{"code": "' + b"x" * (1024 * 1024) + b'"}')
    assert resp.status_code == 413
    assert "1048576 bytes" in resp.json["Message"]
    small = create_app({**app_config, "TOPCP_CODEGEN_MAX_BODY_BYTES": "2048"}).test_client()
    resp = small.post(ROUTE, json={"code": json.dumps({"reco": "a: 1\n" * 1000})})
    assert resp.status_code == 413
    assert "2048 bytes" in resp.json["Message"]


def test_operator_mistakes_stop_start_up(app_config):
    with pytest.raises(ValueError, match="ALLOWED_DOCKER_REGISTRIES"):
        create_app({**app_config, "ALLOWED_DOCKER_REGISTRIES": "{not json"})
    with pytest.raises(ValueError, match="TOPCP_CODEGEN_MAX_BODY_BYTES"):
        create_app({**app_config, "TOPCP_CODEGEN_MAX_BODY_BYTES": "lots"})


@pytest.mark.parametrize("image", [":", "sslhep/servicex_science_image_topcp:", ":25.2.74",
                                   "Not An Image"])
def test_a_default_image_servicex_could_not_run_stops_start_up(app_config, image):
    """The helm chart renders "<image>:<tag>", so values without them give ":" (and pods
    would fail with InvalidImageName)."""
    with pytest.raises(ValueError, match="is not a Docker image reference") as info:
        create_app({**app_config, "TRANSFORMER_SCIENCE_IMAGE": image})
    assert "defaultScienceContainerImage and defaultScienceContainerTag" in str(info.value)


def test_a_default_image_longer_than_the_apps_column_stops_start_up(app_config):
    image = "registry.example.org/" + "a" * 100 + ":" + "1" * 10
    with pytest.raises(ValueError, match="128-character column"):
        create_app({**app_config, "TRANSFORMER_SCIENCE_IMAGE": image})


def test_importing_the_package_does_not_import_flask():
    code = (
        "import sys, topcp_codegen, topcp_codegen.validation, topcp_codegen.bundle;"
        "assert callable(topcp_codegen.create_app);"
        "sys.exit(1 if 'flask' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_codegen_config_file_is_read_and_env_overrides_it(tmp_path, monkeypatch):
    conf = tmp_path / "app.conf"
    conf.write_text(
        "TARGET_BACKEND = 'TopCP'\n"
        "TRANSFORMER_SCIENCE_IMAGE = 'from/file:1'\n"
        "TOPCP_CODEGEN_MAX_BODY_BYTES = 4096\n"
    )
    monkeypatch.setenv("CODEGEN_CONFIG_FILE", str(conf))
    monkeypatch.delenv("TRANSFORMER_SCIENCE_IMAGE", raising=False)
    monkeypatch.delenv("TOPCP_CODEGEN_MAX_BODY_BYTES", raising=False)
    monkeypatch.delenv("ALLOWED_DOCKER_REGISTRIES", raising=False)
    info = create_app().test_client().get("/servicex/info").json
    assert (info["default_image"], info["max_body_bytes"]) == ("from/file:1", 4096)
    assert info["custom_images"] is None
    monkeypatch.setenv("TRANSFORMER_SCIENCE_IMAGE", "from/env:2")
    assert create_app().test_client().get("/servicex/info").json["default_image"] == "from/env:2"
