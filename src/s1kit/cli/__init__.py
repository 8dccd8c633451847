"""`s1kit <stage>`: one subcommand per Snakemake rule; flags map onto the stage functions."""

from __future__ import annotations

import argparse
import difflib
import pkgutil
import re
import sys
import traceback
from functools import partial
from typing import Any

from s1kit.cli.args import add_arguments, parsed
from s1kit.cli.commands import COMMANDS, Command
from s1kit.llm.spend import SpendCapReached
from s1kit.progress import configure_tqdm
from s1kit.provenance import record
from s1kit.secrets import scrub

SPEND_CAP_EXIT = 3  # a stage stopped at its spend cap (s1kit.llm.spend): raise the cap and rerun

# One line per subcommand for `s1kit --help`.
COMMAND_HELP = {name: cmd.help for name, cmd in COMMANDS.items()}


class _Parser(argparse.ArgumentParser):
    """An unknown subcommand gets the closest one suggested instead of the list of all of them."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if "invalid choice" in message and self.prog == "s1kit":
            m = re.search(r"invalid choice: '([^']*)'", message)
            wrong = m.group(1) if m else ""
            close = difflib.get_close_matches(wrong, list(COMMAND_HELP), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            self.exit(2, f"s1kit: unknown command {wrong!r}{hint} (s1kit --help lists them)\n")
        super().error(message)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `s1kit` parser; of the commands whose module adds its own flags, only ``command`` gets them (all
    when None)."""
    parser = _Parser(prog="s1kit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="s1kit <command> --help describes each command's flags.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for name, cmd in COMMANDS.items():
        if isinstance(cmd.flags, type):
            epilog = getattr(cmd.flags, "EPILOG", None)
            fmt = argparse.RawDescriptionHelpFormatter if epilog else argparse.HelpFormatter
            p = sub.add_parser(name, help=cmd.help, description=cmd.help, epilog=epilog, formatter_class=fmt)
            add_arguments(p, cmd.flags)
        elif command in (name, None):
            p = sub.add_parser(name, help=cmd.help, description=cmd.help)
            _load(cmd.flags)(p)
        else:
            sub.add_parser(name, add_help=False, help=cmd.help)
            continue
        p.set_defaults(func=partial(_run, cmd))
    return parser


def _run(cmd: Command, args: argparse.Namespace) -> Any:
    """Run ``cmd`` on its flags: as its dataclass, or as the namespace where its module added them."""
    run = _load(cmd.run)
    return run(parsed(cmd.flags, args) if isinstance(cmd.flags, type) else args)


def _load(name: str) -> Any:
    """The function a "module:function" string names."""
    # heavy: a command's stage (pyarrow, pandas, matplotlib, lm_eval, ...) loads only when that command runs
    return pkgutil.resolve_name(name)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else "").parse_args(argv)  # "": no command, only its usage error follows
    configure_tqdm()  # progress bars as clean lines when stderr is a log file, live on a terminal
    try:
        # every subcommand leaves a provenance record beside each output (s1kit/provenance.py)
        rc = record(argv, args, lambda: args.func(args))
    except SpendCapReached as e:
        print(f"s1kit {args.command}: {scrub(str(e))}", file=sys.stderr)
        return SPEND_CAP_EXIT
    except (ValueError, KeyError, OSError) as e:
        print(f"s1kit {args.command}: error: {scrub(str(e))}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - a bug: the traceback, without any secret in it
        print(scrub(traceback.format_exc()), file=sys.stderr, end="")
        return 1
    return int(rc or 0)

