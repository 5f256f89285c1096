"""Python API (`validate`, `check_query`) and `deliver` up to the point of submission."""

from __future__ import annotations

import pytest
from servicex.query import TopCP
from topcp_client import ConfigValidationError, check_query, ensure_valid_query, validate
from topcp_client.cli import app
from topcp_client.delivery import check_spec, load_spec, make_dataset, spec_from_flags
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture
def bad_reco(tmp_path, ttbar_configs):
    p = tmp_path / "reco.yaml"
    p.write_text(ttbar_configs["reco"].read_text().replace("\nJets:", "\nJetz:", 1))
    return p


def test_validate_api(ttbar_configs, bad_reco):
    assert [e for e in validate(*ttbar_configs.values()) if e.severity == "error"] == []
    errors = validate(reco=bad_reco)
    assert any(e.file == str(bad_reco) and e.path == "Jetz" for e in errors)


def test_check_query_on_a_servicex_topcp_object(ttbar_configs, bad_reco):
    good = TopCP(reco=str(ttbar_configs["reco"]), max_events=10)
    assert ensure_valid_query(good) is good
    bad = TopCP(reco=str(bad_reco), particle=str(ttbar_configs["particle"]))
    assert any(e.path == "Jetz" for e in check_query(bad))
    with pytest.raises(ConfigValidationError, match=r"reco\.yaml:\d+:1: Jetz"):
        ensure_valid_query(bad)


def test_dataset_choice(tmp_path, physlite_ttree):
    from servicex import dataset

    assert isinstance(make_dataset(["mc23_13p6TeV:DAOD_PHYSLITE.x"]), dataset.Rucio)
    fl = make_dataset([str(physlite_ttree), "root://h//f.root"])
    assert isinstance(fl, dataset.FileList) and str(physlite_ttree.resolve()) in fl.files


def test_spec_from_flags_and_yaml_spec_are_checked(tmp_path, ttbar_configs, bad_reco,
                                                   physlite_ttree, monkeypatch):
    spec = spec_from_flags(name="s", datasets=[str(physlite_ttree)], reco=bad_reco,
                           particle=None, parton=None, max_events=5, systematics=True,
                           no_filter=False, image=None)
    assert spec.Sample[0].Query.no_systematics is False
    with pytest.raises(ConfigValidationError):
        check_spec(spec)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "Sample:\n  - Name: s\n    Dataset: !FileList ['/data/x.root']\n"
        '    Query: !TopCP \'reco="reco.yaml"\'\n')
    with pytest.raises(ConfigValidationError):
        check_spec(load_spec(tmp_path / "spec.yaml"))


def test_deliver_refuses_bad_configs_before_submitting(tmp_path, bad_reco, physlite_ttree,
                                                      monkeypatch):
    import servicex

    def no_submit(*a, **k):
        raise AssertionError("must not submit")

    monkeypatch.setattr(servicex, "deliver", no_submit)
    res = runner.invoke(app, ["deliver", "--reco", str(bad_reco), "-d", str(physlite_ttree)])
    assert res.exit_code == 1
    assert "unknown block 'Jetz'" in res.stderr and "nothing was submitted" in res.stderr
    usage = runner.invoke(app, ["deliver", "--reco", str(bad_reco)])
    assert usage.exit_code == 2 and "--dataset" in usage.stderr


def test_every_command_documents_every_option():
    import typer

    group = typer.main.get_command(app)
    assert set(group.commands) == {"validate", "run", "deliver", "inspect", "plot", "sample",
                                   "serve", "summary", "check", "estimate"}
    for name, command in group.commands.items():
        assert command.help, f"{name} has no description"
        for param in command.params:
            if param.name != "help":
                assert getattr(param, "help", None), f"{name} {param.name} lacks help"
        assert runner.invoke(app, [name, "--help"]).exit_code == 0
