"""`s1kit` help, suggestions and `where`: what a person typing the commands sees."""

from __future__ import annotations

import argparse

import pytest

from s1kit import cli


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_and_option_has_help(capsys):
    parser = cli.build_parser()  # None: every subcommand built, evaluate and paper included
    subs = _subparsers(parser)
    assert set(subs) == set(cli.COMMAND_HELP), "COMMAND_HELP and the subcommands differ"
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    top = capsys.readouterr().out
    for name in subs:
        assert name in top and cli.COMMAND_HELP[name][:30] in " ".join(top.split()), name
    missing = [f"{name} {'/'.join(a.option_strings) or a.dest}" for name, p in subs.items() for a in p._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert not missing, f"options without help: {missing}"


def test_cost_help_explains_flags_and_prices(capsys):
    with pytest.raises(SystemExit):
        cli.main(["cost", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for flag in ("--config", "--pool", "--sample-jsonl", "--questions", "--grading-prompt", "--rubric", "--out"):
        assert flag in out
    assert "s1kit.llm.client.PRICES" in out and "featurize.cost.prices" in out and "per million" in out


@pytest.mark.parametrize("typo, closest", [("tarin", "train"), ("evalute", "evaluate"), ("colect-pool", "collect-pool")])
def test_unknown_subcommand_suggests_the_closest(typo, closest, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([typo])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"unknown command {typo!r}; did you mean {closest}" in err
    assert "choose from" not in err  # not the list of all subcommands


def test_where_defaults_to_results_and_fails_when_absent(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["where"]) == 2
    assert "results: no such results tree" in capsys.readouterr().err
    (tmp_path / "results").mkdir()
    assert cli.main(["where"]) == 0
    out = capsys.readouterr().out
    assert "results/paper/report.html" in out and "results/paper/claims.csv" in out
    assert cli.main(["where", str(tmp_path / "elsewhere")]) == 2
