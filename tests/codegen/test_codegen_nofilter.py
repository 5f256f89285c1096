"""no_filter: noFilter is set in every filtering block, in the user's own text where possible."""

from __future__ import annotations

import yaml
from topcp_codegen.nofilter import inject_no_filter


def test_block_mapping_gets_the_option_at_its_indentation_and_keeps_comments() -> None:
    text = "EventCleaning:\n  # keep me\n  runEventCleaning: True\nJets: []\n"
    new, found = inject_no_filter(text, "reco.yaml")
    assert found == ["reco.yaml:EventCleaning[0]"]
    assert new == "EventCleaning:\n  # keep me\n  noFilter: true\n  runEventCleaning: True\nJets: []\n"


def test_every_list_entry_is_covered_and_existing_values_are_overwritten() -> None:
    text = (
        "EventSelection:\n"
        "  - name: a\n"
        "    noFilter: False\n"
        "  - {name: b}\n"
        "Trigger: {}\n"
    )
    new, found = inject_no_filter(text, "reco.yaml")
    assert found == ["reco.yaml:EventSelection[0]", "reco.yaml:EventSelection[1]", "reco.yaml:Trigger[0]"]
    assert yaml.safe_load(new) == {
        "EventSelection": [{"name": "a", "noFilter": True}, {"noFilter": True, "name": "b"}],
        "Trigger": {"noFilter": True},
    }
    assert "noFilter: False" not in new


def test_other_blocks_and_nested_keys_are_left_alone() -> None:
    text = "Jets:\n  - containerName: AnaJets\nOutput:\n  EventSelection: 1\n"
    assert inject_no_filter(text, "reco.yaml") == (text, [])


def test_aliases_are_edited_once_and_data_stays_equivalent() -> None:
    text = "Trigger: &t\n  triggerChainsPerYear: {}\nEventSelection: [*t]\n"
    new, found = inject_no_filter(text, "reco.yaml")
    assert found == ["reco.yaml:Trigger[0]", "reco.yaml:EventSelection[0]"]
    data = yaml.safe_load(new)
    assert data["Trigger"] == {"noFilter": True, "triggerChainsPerYear": {}}
    assert data["EventSelection"] == [data["Trigger"]]


def test_example_reco_config(example_texts) -> None:
    new, found = inject_no_filter(example_texts["reco"], "reco.yaml")
    original = yaml.safe_load(example_texts["reco"])
    data = yaml.safe_load(new)
    assert found == ["reco.yaml:EventCleaning[0]", "reco.yaml:EventSelection[0]"]
    assert data["EventCleaning"]["noFilter"] is True
    assert data["EventSelection"][0]["noFilter"] is True
    for block in ("EventCleaning", "EventSelection"):
        original.pop(block)
        data.pop(block)
    assert data == original
