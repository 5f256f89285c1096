"""parse_query: the query forms we accept and the messages for the ones we do not."""

from __future__ import annotations

import json

import pytest
import yaml
from topcp_codegen.query import QUERY_KEYS, QueryError, parse_query

RECO = "CommonServices: {}\nPileupReweighting: {}\n"


def q(**kw) -> str:
    base = {
        "reco": RECO,
        "parton": None,
        "particle": None,
        "max_events": -1,
        "no_systematics": True,
        "no_filter": False,
    }
    base.update(kw)
    return json.dumps(base)


def error_of(code) -> str:
    with pytest.raises(QueryError) as info:
        parse_query(code)
    return info.value.message


def test_servicex_3_3_1_selection_string_is_accepted(sx_query) -> None:
    code = sx_query({"reco": RECO, "particle": "PL_Jets: {}\n"}, max_events=100)
    req = parse_query(code)
    assert req.configs == {"reco": RECO, "particle": "PL_Jets: {}\n"}
    assert (req.max_events, req.no_systematics, req.no_filter, req.image) == (100, True, False, None)
    assert not req.parsed_form
    assert list(req.config_files()) == ["reco.yaml", "particle.yaml"]


def test_servicex_image_and_flags_are_passed_through(sx_query) -> None:
    image = "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
    req = parse_query(
        sx_query({"parton": "PartonHistory: {}\n"}, image=image, no_systematics=False,
                 no_filter=True)
    )
    assert req.image == image
    assert req.no_systematics is False and req.no_filter is True
    assert list(req.configs) == ["parton"]


def test_parsed_mapping_form_is_dumped_to_yaml_with_types_intact() -> None:
    mapping = {"Jets": [{"containerName": "AnaJets", "PtEtaSelection": {"minPt": 25000.0}}]}
    req = parse_query(json.dumps({"reco": mapping, "max_events": 10}))
    assert req.parsed_form
    assert yaml.safe_load(req.configs["reco"]) == mapping
    # the float stays a float, so validation sees what the real reader would see
    assert "minPt: 25000.0" in req.configs["reco"]


def test_an_already_decoded_object_is_accepted_in_process() -> None:
    req = parse_query({"reco": RECO})
    assert req.configs == {"reco": RECO}
    assert (req.max_events, req.no_systematics, req.no_filter) == (-1, True, False)


def test_null_options_mean_what_they_mean_upstream() -> None:
    """Upstream's query_translate.py skips None entries: no -e, no --no-systematics, no
    --no-filter, so runTop_el.py runs all events WITH systematics."""
    req = parse_query(q(max_events=None, no_systematics=None, no_filter=None))
    assert (req.max_events, req.no_systematics, req.no_filter) == (-1, False, False)


def test_missing_options_take_the_client_defaults() -> None:
    req = parse_query(json.dumps({"reco": RECO}))
    assert (req.max_events, req.no_systematics, req.no_filter) == (-1, True, False)


def test_unknown_key_is_named_with_suggestion_and_accepted_keys() -> None:
    msg = error_of(q(max_event=5))
    assert "unknown query key 'max_event'" in msg
    assert "did you mean 'max_events'" in msg
    assert "accepted keys: " + ", ".join(QUERY_KEYS) in msg


def test_all_problems_are_reported_together() -> None:
    msg = error_of(q(max_events="10", no_filter=1, bogus=True))
    assert msg.count("\n- ") == 3
    assert "max_events" in msg and "no_filter" in msg and "'bogus'" in msg


def test_at_least_one_level_is_required() -> None:
    msg = error_of(q(reco=None))
    assert "at least one of reco, particle, parton" in msg


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "got boolean true"),
        (1.5, "got number 1.5"),
        ("10", "got string '10'"),
        (-2, "must be >= -1"),
        (2**64, "is larger than"),
    ],
)
def test_max_events_must_be_an_integer_of_at_least_minus_one(value, fragment) -> None:
    assert fragment in error_of(q(max_events=value)).replace("True", "true")


def test_max_events_zero_and_large_values_are_fine() -> None:
    assert parse_query(q(max_events=0)).max_events == 0
    assert parse_query(q(max_events=2**62)).max_events == 2**62


@pytest.mark.parametrize("value", [1, 0, "true", "False", [], {}])
@pytest.mark.parametrize("flag", ["no_systematics", "no_filter"])
def test_booleans_are_strict(flag, value) -> None:
    assert f"{flag}: expected true or false" in error_of(q(**{flag: value}))


@pytest.mark.parametrize("value", [5, ["a: 1"], True])
def test_a_config_must_be_text_a_mapping_or_null(value) -> None:
    assert "reco: expected the YAML text of reco.yaml" in error_of(q(reco=value))


@pytest.mark.parametrize("image", [5, "", "   ", "x" * 600])
def test_image_must_be_a_sensible_string(image) -> None:
    assert "image:" in error_of(q(image=image))


def test_image_fits_the_apps_128_character_column() -> None:
    """ServiceX stores the image in requests.image VARCHAR(128) (models.py)."""
    fits = "registry.example.org/atlas/topcp:" + "1" * (128 - 33)
    assert len(fits) == 128 and parse_query(q(image=fits)).image == fits
    message = error_of(q(image=fits + "2"))
    assert "image: 129 characters is longer than the 128 that ServiceX stores" in message


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"reco"', "must be a JSON object"),
        ('{"reco": NaN}', "not valid JSON"),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
        ('{"max_events": ' + "9" * 5000 + "}", "not valid JSON"),
    ],
)
def test_malformed_json_is_a_query_error(code, fragment) -> None:
    assert fragment in error_of(code)


def test_absurd_nesting_in_parsed_form_is_rejected() -> None:
    deep: dict = {}
    node = deep
    for _ in range(200):
        node["a"] = {}
        node = node["a"]
    assert "nested deeper than" in error_of({"reco": {"Block": deep}})


def test_lone_surrogate_in_yaml_text_is_rejected() -> None:
    assert "not valid Unicode" in error_of('{"reco": "a: \\ud800"}')


def test_query_hash_depends_on_content_only() -> None:
    a = parse_query(q())
    b = parse_query(json.loads(q()))
    assert a.query_hash() == b.query_hash()
    assert a.query_hash() != parse_query(q(max_events=3)).query_hash()
    assert len(a.query_hash()) == 64
