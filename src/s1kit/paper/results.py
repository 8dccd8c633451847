"""Discover and load the evaluate stage's ``results.json`` files into one DataFrame.

Layout: ``results/eval/{model}/{setting}/{task}/results.json``. Settings are named
``<method>-<parameter>`` (``bf-2000``, ``wait-2``, ``ignore-2-Hmm``, ``rs-4000``; see the
header of claims.yaml); the method is the part before the first ``-``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from s1kit.paper.io import InputError, read_json, require_keys

REQUIRED_KEYS = ("model", "task", "setting", "n", "accuracy", "avg_thinking_tokens")
COLUMNS = ["model", "setting", "task", "method", "param", "n", "accuracy_pct", "accuracy_stderr_pct",
           "avg_thinking_tokens", "max_thinking_tokens", "avg_thinking_steps", "control", "path"]
# Display names and order of the paper's benchmarks; other tasks follow alphabetically.
TASK_LABELS = {"aime24_nofigures": "AIME24", "openai_math": "MATH500", "gpqa_diamond_openai": "GPQA Diamond",
               "aime25_nofigures": "AIME25", "tiny_chains": "tiny chains"}
# Order of setting families in tables: the budget sweep first, then the variants.
METHOD_ORDER = ("bf", "nobf", "wait", "ignore", "tcc", "tccbf", "scc", "sccbf", "ccc", "rs")


def task_label(task: str) -> str:
    return TASK_LABELS.get(task, task)


def task_sort_key(task: str) -> tuple[int, str]:
    order = list(TASK_LABELS)
    return (order.index(task), task) if task in order else (len(order), task)


def split_setting(setting: str) -> tuple[str, str]:
    """``bf-2000`` -> (``bf``, ``2000``); ``nobf`` -> (``nobf``, ``""``)."""
    method, _, param = setting.partition("-")
    return method, param


def setting_sort_key(setting: str) -> tuple[int, float, str]:
    """Order settings by family (METHOD_ORDER), then numeric parameter (``auto`` last), then name."""
    method, param = split_setting(setting)
    fam = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
    m = re.match(r"^(\d+(?:\.\d+)?)", param)
    num = float(m.group(1)) if m else (math.inf if param.startswith("auto") else -1.0)
    return fam, num, setting


def is_tiny(model: str, task: str = "") -> bool:
    """True for the tiny default run's models/tasks, whose numbers are not paper numbers."""
    return model.startswith("tiny") or task.startswith("tiny")


def find_eval_results(results_dir: str | Path) -> list[Path]:
    """All ``eval/*/*/*/results.json`` under ``results_dir``, sorted."""
    return sorted(Path(results_dir).glob("eval/*/*/*/results.json"))


def _optional_number(data: dict[str, Any], key: str, path: Path) -> float:
    value = data.get(key)
    if value is None:
        return math.nan
    return _number(value, key, path)


def _number(value: Any, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path}: key {key!r} must be a number, got {value!r}")
    return float(value)


def accuracy_stderr(data: dict[str, Any], accuracy: float) -> float:
    """Standard error of the accuracy (fraction) where results.json has it, else NaN.

    ``accuracy_stderr`` if present; otherwise lm-eval's ``exact_match_stderr,<filter>`` beside
    an ``exact_match,<filter>`` equal to ``accuracy`` (lm-eval writes "N/A" when it has none).
    """
    value = data.get("accuracy_stderr")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    lm = data.get("lm_eval")
    if not isinstance(lm, dict):
        return math.nan
    for key, se in lm.items():
        metric, _, flt = str(key).partition(",")
        if not metric.endswith("_stderr") or isinstance(se, bool) or not isinstance(se, (int, float)):
            continue
        mean = lm.get(f"{metric[: -len('_stderr')]},{flt}")
        if isinstance(mean, (int, float)) and abs(float(mean) - accuracy) < 1e-9 and math.isfinite(se):
            return float(se)
    return math.nan


def load_eval_result(path: str | Path) -> dict[str, Any]:
    """One results.json as a flat row (accuracy in %); errors name the file and key."""
    path = Path(path)
    data = read_json(path)
    require_keys(data, REQUIRED_KEYS, path)
    for key in ("model", "task", "setting"):
        if not isinstance(data[key], str) or not data[key]:
            raise InputError(f"{path}: key {key!r} must be a non-empty string, got {data[key]!r}")
    # A file filed under the wrong directory would silently mislabel a table row.
    parts = path.parts
    if len(parts) >= 5 and parts[-5] == "eval":
        for key, expected in zip(("model", "setting", "task"), parts[-4:-1]):
            if data[key] != expected:
                raise InputError(f"{path}: key {key!r} is {data[key]!r} but the path says {expected!r}")
    accuracy = _number(data["accuracy"], "accuracy", path)
    if not 0 <= accuracy <= 1:
        raise InputError(f"{path}: key 'accuracy' must be a fraction in [0, 1], got {accuracy!r}")
    control = _optional_number(data, "control", path)
    if not math.isnan(control) and not 0 <= control <= 1:
        raise InputError(f"{path}: key 'control' must be a fraction in [0, 1], got {control!r}")
    method, param = split_setting(data["setting"])
    return {
        "model": data["model"], "setting": data["setting"], "task": data["task"], "method": method, "param": param,
        "n": int(_number(data["n"], "n", path)), "accuracy_pct": 100 * accuracy,
        "accuracy_stderr_pct": 100 * accuracy_stderr(data, accuracy),
        "avg_thinking_tokens": _number(data["avg_thinking_tokens"], "avg_thinking_tokens", path),
        "max_thinking_tokens": _optional_number(data, "max_thinking_tokens", path),
        "avg_thinking_steps": _optional_number(data, "avg_thinking_steps", path),
        "control": control, "path": str(path),
    }


def load_eval_results(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Rows of :func:`load_eval_result`, sorted by model, task, setting; duplicates are an error."""
    rows = [load_eval_result(p) for p in paths]
    df = pd.DataFrame(rows, columns=COLUMNS)
    dup = df.duplicated(["model", "setting", "task"], keep=False)
    if dup.any():
        raise InputError(f"two results for the same model/setting/task: {sorted(df.loc[dup, 'path'])}")
    if df.empty:
        return df
    keys = df.apply(lambda r: (r["model"], task_sort_key(r["task"]), setting_sort_key(r["setting"])), axis=1)
    return df.iloc[sorted(range(len(df)), key=lambda i: keys.iloc[i])].reset_index(drop=True)
