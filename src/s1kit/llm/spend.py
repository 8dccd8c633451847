"""The spend cap: a stage stops sending new requests once its dollars, or the run's, reach a limit.

Spend is the *priced usage* of the answers a stage uses, whether paid in this run or
earlier and now served from the cache: the same number on every rerun, so a cap that
stopped a run still holds when the run is resumed with the same cap, and raising it lets
exactly the remaining requests through. Two limits, either may be unset (None):

- the stage's own, ``<stage>.llm.max_cost_usd`` (``featurize.*.llm.client.max_cost_usd``):
  the priced usage of this stage's answers;
- the run's total, config ``llm.max_cost_usd`` (the workflow passes it to every job as
  ``S1KIT_LLM_MAX_COST_USD``): the priced usage of every answer in every stage ledger
  under the same ``results/`` directory (``*ledger.jsonl`` and the live
  ``*ledger.jsonl.partial`` of stages running beside this one, re-read at most every
  second), counted once per request key, plus this stage's.

A request is sent only while both are below their limit; requests already in flight
finish and are cached, so a cap can be passed by at most the cost of ``workers`` calls.
Unknown prices are an error before anything is sent when a cap is set (a missing price
would count as $0 and the cap would not hold).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

TOTAL_ENV = "S1KIT_LLM_MAX_COST_USD"
TOTAL_KEY = "llm.max_cost_usd"
REFRESH_S = 1.0


class SpendCapReached(RuntimeError):
    """Raised after the in-flight requests finished: some requests were not sent."""


def total_cap_from_env() -> float | None:
    raw = os.environ.get(TOTAL_ENV, "").strip()
    if not raw or raw.lower() in ("none", "null"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"config {TOTAL_KEY} (environment {TOTAL_ENV}): not a number: {raw!r}") from None
    if value < 0:
        raise ValueError(f"config {TOTAL_KEY}: must be >= 0, got {value}")
    return value


def results_root(ledger_path: str | Path | None) -> Path | None:
    """The ``results`` directory above a stage's ledger (else its parent): where the run's ledgers are."""
    if ledger_path is None:
        return None
    p = Path(ledger_path).resolve()
    for parent in p.parents:
        if parent.name == "results":
            return parent
    return p.parent


class LedgerMeter:
    """Priced usage per request key across the ledgers under ``root``, read incrementally and
    handed to ``note(key, dollars)``."""

    def __init__(self, root: Path, note: Callable[[str, float], None]):
        self.root, self.note = root, note
        self._files: dict[Path, tuple[int, int, int]] = {}  # path -> (inode, mtime_ns, offset)
        self._last = 0.0

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < REFRESH_S:
            return
        self._last = now
        for path in sorted(self.root.rglob("*ledger.jsonl*")):
            if not (path.name.endswith(".jsonl") or path.name.endswith(".jsonl.partial")):
                continue
            try:
                st = path.stat()
            except OSError:
                continue  # renamed or deleted since the listing
            ino, mtime, offset = self._files.get(path, (st.st_ino, -1, 0))
            if (ino, mtime) == (st.st_ino, st.st_mtime_ns):
                continue
            if ino != st.st_ino or st.st_size < offset:
                offset = 0  # rewritten: read again (keys make re-reading harmless)
            offset = self._read(path, offset)
            self._files[path] = (st.st_ino, st.st_mtime_ns, offset)

    def _read(self, path: Path, offset: int) -> int:
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return offset
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for line in data[:end].splitlines():
            try:
                rec = json.loads(line)
                key = rec["key"]
            except (ValueError, KeyError, TypeError):
                continue
            self.note(key, float(rec.get("priced_usd", rec.get("cost_usd")) or 0.0))
        return offset + end


class Budget:
    """The stage's and the run's caps, and the spend counted against them (thread-safe).
    Sums are kept as keys come in, so a check costs the same at the first request and the
    59,000th."""

    def __init__(self, stage_cap: float | None, stage_key: str, total_cap: float | None = None,
                 ledger_root: Path | None = None):
        for key, cap in ((stage_key, stage_cap), (TOTAL_KEY, total_cap)):
            if cap is not None and cap < 0:
                raise ValueError(f"config {key}: must be >= 0, got {cap}")
        self.stage_cap, self.stage_key, self.total_cap = stage_cap, stage_key, total_cap
        self.own: dict[str, float] = {}  # this stage's answers
        self.run: dict[str, float] = {}  # every answer in the run's ledgers, this stage's included
        self._own_sum = self._run_sum = 0.0
        self.meter = LedgerMeter(ledger_root, self._note_run) \
            if total_cap is not None and ledger_root is not None else None
        self._lock = threading.RLock()

    @property
    def active(self) -> bool:
        return self.stage_cap is not None or self.total_cap is not None

    def _note_run(self, key: str, priced: float) -> None:
        old = self.run.get(key, 0.0)
        if priced > old:
            self.run[key] = priced
            self._run_sum += priced - old

    def add(self, key: str, priced: float) -> None:
        with self._lock:
            old = self.own.get(key, 0.0)
            if priced > old:
                self.own[key] = priced
                self._own_sum += priced - old
            self._note_run(key, priced)

    def stage_spent(self) -> float:
        return self._own_sum

    def total_spent(self) -> float:
        return self._run_sum

    def admit(self) -> bool:
        """May one more request be sent?"""
        with self._lock:
            if self.stage_cap is not None and self._own_sum >= self.stage_cap:
                return False
            if self.total_cap is not None:
                if self.meter is not None:
                    self.meter.refresh()
                if self._run_sum >= self.total_cap:
                    return False
            return True

    def report(self, answered: int, not_sent: int, ledger: Path | None) -> str:
        """What was spent, what is left, and how to go on."""
        lines = []
        if self.stage_cap is not None:
            spent = self.stage_spent()
            lines.append(f"{self.stage_key} = ${self.stage_cap:.4f}: spent ${spent:.4f} on this stage's answers, "
                         f"${max(0.0, self.stage_cap - spent):.4f} left")
        if self.total_cap is not None:
            if self.meter is not None:
                with self._lock:
                    self.meter.refresh(force=True)
            spent = self.total_spent()
            lines.append(f"{TOTAL_KEY} = ${self.total_cap:.4f}: spent ${spent:.4f} in this run's ledgers, "
                         f"${max(0.0, self.total_cap - spent):.4f} left")
        where = f"; completed calls are listed in {ledger}" if ledger else ""
        caps = ((self.stage_key, self.stage_cap), (TOTAL_KEY, self.total_cap))
        raised = {k: cap for k, cap in caps if cap is not None}
        keys = " and/or ".join(raised)
        return ("spend cap reached: " + "; ".join(lines) + f". {answered} request(s) answered and cached{where}; "
                f"{not_sent} not sent. To go on, raise {keys} in the config (or add "
                f"{config_flag({k: max(2 * cap, cap + 1) for k, cap in raised.items()})} to the snakemake command) "
                "and rerun the same command: cached answers are not paid again.")


def config_flag(values: dict[str, float]) -> str:
    """One `--config` flag that sets dotted config keys: Snakemake takes top-level keys only
    (`--config a.b=1` is refused), so each key is written as a nested YAML mapping, and all in
    one flag (a second --config flag replaces the first). Tested by running it (tests/test_config_cli.py)."""
    def nested(parts: list[str], value: float) -> str:
        return f"{value:g}" if not parts else "{" + parts[0] + ": " + nested(parts[1:], value) + "}"

    def parts(key: str) -> list[str]:  # a retrace name may hold dots: retrace.<name>.llm.max_cost_usd
        if key.startswith("retrace.") and key.endswith(".llm.max_cost_usd"):
            return ["retrace", key[len("retrace."):-len(".llm.max_cost_usd")], "llm", "max_cost_usd"]
        return key.split(".")

    return "--config " + " ".join(
        f"'{parts(key)[0]}={nested(parts(key)[1:], round(value, 2))}'" for key, value in values.items())
