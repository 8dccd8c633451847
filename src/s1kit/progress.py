"""Progress a person can read: live bars on a terminal, clean lines in log files.

Every rule runs ``s1kit <subcommand> ... > {log} 2>&1``. tqdm redraws its bar with carriage
returns, which a log file keeps: one "line" of hundreds of overwritten bars. When stderr is
not a terminal, :func:`configure_tqdm` makes every tqdm bar (ours and the libraries':
transformers, datasets, lm-eval, huggingface_hub) write one plain line per update, at most
every ``LOG_INTERVAL_S`` seconds, and the final state. On a terminal nothing changes.
Snakemake's own progress ("N of M steps") is Snakemake's and is left alone.

A job's output goes to its log, so a long job (training) would leave the console at "18 of
31 steps" for minutes: :func:`console` also writes its progress lines (step, loss, ETA) to
the terminal Snakemake was started from, when ``S1KIT_CONSOLE_PROGRESS=1`` (``make demo``
sets it) and there is one. Under Slurm or CI there is no terminal and nothing changes.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from typing import IO

from tqdm import std

LOG_INTERVAL_S = 30.0  # a bar in a log file: a line at most this often (plus the last)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LineWriter:
    """A file for tqdm that turns each redraw (``\\r`` + bar) into one ``\\n``-terminated line."""

    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, text: str) -> int:
        for part in text.replace("\r", "\n").split("\n"):
            line = _ANSI.sub("", part).rstrip()
            if line:
                self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def configure_tqdm(stream: IO[str] | None = None) -> bool:
    """Patch tqdm for a log file when ``stream`` (default stderr) is not a terminal; True if patched.

    The patch sets defaults only: a bar that names its own ``file`` or ``mininterval`` keeps them.
    """
    stream = sys.stderr if stream is None else stream
    if getattr(stream, "isatty", lambda: False)():
        return False
    if getattr(std.tqdm.__init__, "_s1kit_lines", False):
        return True
    init = functools.partialmethod(std.tqdm.__init__, file=LineWriter(stream), mininterval=LOG_INTERVAL_S,
                                   ascii=True, dynamic_ncols=False, ncols=100)
    std.tqdm.__init__ = init  # type: ignore[method-assign]
    std.tqdm.__init__._s1kit_lines = True  # type: ignore[attr-defined]
    return True


def duration(seconds: float) -> str:
    """``3725`` -> ``1h02m05s``; ``65`` -> ``1m05s``; ``4.2`` -> ``4s``."""
    s = int(round(max(0.0, seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def eta_text(done: int, total: int, elapsed_s: float, session_steps: int, session_s: float) -> str:
    """``elapsed 1m05s, 3.84 steps/s, ETA 9m46s``: the rate over this session's steps (a resumed
    run's earlier steps are in ``elapsed_s`` but not in the rate)."""
    rate = session_steps / session_s if session_s > 0 and session_steps > 0 else 0.0
    eta = duration((total - done) / rate) if rate else "?"
    return f"elapsed {duration(elapsed_s)}, {rate:.2f} steps/s, ETA {eta}"


CONSOLE_ENV = "S1KIT_CONSOLE_PROGRESS"  # "1": mirror progress lines to the controlling terminal


def console(line: str, env: dict[str, str] | None = None, tty: str = "/dev/tty") -> bool:
    """Write ``[rule] line`` to the terminal Snakemake runs in; True if written.

    Only when ``S1KIT_CONSOLE_PROGRESS=1`` and stdout is not itself that terminal (a job
    whose output goes to its log file); silently nothing where there is no controlling
    terminal (Slurm, CI, nohup). The log keeps the same line: this is a copy for the eye.
    """
    env = os.environ if env is None else env
    if env.get(CONSOLE_ENV) != "1" or sys.stdout.isatty():
        return False
    tag = env.get("S1KIT_RULE", "s1kit")
    try:
        with open(tty, "w", encoding="utf-8") as term:
            term.write(f"    [{tag}] {line}\n")
    except OSError:  # no controlling terminal
        return False
    return True
