"""`s1kit` help, suggestions and `where`: what a person typing the commands sees."""

from __future__ import annotations

import argparse
import json
import pkgutil
import subprocess
import sys

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


def test_flags_take_type_nargs_and_default_from_their_field():
    subs = _subparsers(cli.build_parser("sources"))

    def flag(command: str, option: str) -> argparse.Action:
        return next(a for a in subs[command]._actions if option in a.option_strings)

    assert (flag("fetch", "--sources").nargs, flag("fetch", "--sources").required) == ("+", True)
    quarantine = flag("collect-pool", "--quarantine")
    assert (quarantine.nargs, quarantine.required) == ("*", False)
    assert (flag("fetch-model", "--corpus").nargs, flag("fetch-model", "--corpus").required) == ("+", False)
    n = flag("collect-source", "--n")
    assert (n.type, n.default, n.required) == (int, None, False)
    assert flag("collect-source", "--max-chars").help.endswith("(default: 50000)")
    model = flag("distill", "--model")  # an empty or {} default is not shown
    assert model.default == "" and "default" not in model.help.replace("teacher's default", "")
    assert flag("grade", "--backend").help.endswith("(default: math_verify)")
    assert flag("domains", "--backend").help.endswith("(default: metadata)")
    assert flag("select", "--featurized").required and not flag("select-overlap", "--featurized").required


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


# what a command's handler loads; none of it may load before a command runs (every rule starts the CLI)
STAGES = ("s1kit.cli.handlers.", "s1kit.collect", "s1kit.distill", "s1kit.retrace", "s1kit.features", "s1kit.select",
          "s1kit.review", "s1kit.sft", "s1kit.sources", "s1kit.tiny", "s1kit.trace", "s1kit.paper", "s1kit.evaluate",
          "pandas", "matplotlib")


@pytest.mark.parametrize("argv", [["--help"], ["where", "no-such-tree"], ["sources", "--help"], []])
def test_the_parser_and_where_load_no_stage(argv):
    code = (f"import json, sys\nfrom s1kit import cli\ntry:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({STAGES!r}))))")
    own = {"s1kit.cli.handlers.where"} if argv[:1] == ["where"] else set()
    own |= {"s1kit.features", "s1kit.features.semantics"}  # --semantics' default, stdlib only (cli/args.py)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.splitlines()[-1])) - own
    assert not loaded, f"s1kit {' '.join(argv)} loads {sorted(loaded)}"


def test_every_command_names_functions_that_exist():
    for name, cmd in cli.COMMANDS.items():
        for target in (cmd.run, cmd.flags) if isinstance(cmd.flags, str) else (cmd.run,):
            assert callable(pkgutil.resolve_name(target)), f"{name}: {target}"
