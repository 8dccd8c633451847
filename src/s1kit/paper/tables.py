"""The paper's tables from whatever results exist: eval results, selection funnel, Table 3.

Each builder returns ``(data, display)``: ``data`` is the machine-readable frame written
as CSV (and read back by claims), ``display`` the formatted frame for Markdown/LaTeX.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from s1kit.paper.io import InputError, read_csv, read_json, require_int_column, require_keys
from s1kit.evaluate.metrics import CCC_REFERENCE, STEPS, TOKENS, run_control
from s1kit.paper.metrics import method_metrics
from s1kit.paper.results import setting_sort_key, task_label, task_sort_key

Tables = tuple[pd.DataFrame, pd.DataFrame]

# Table 3 methods by setting prefix (see the settings list in claims.yaml).
METHODS = {
    "bf": "budget forcing",
    "tcc": "token-conditional control",
    "tccbf": "token-conditional control + budget forcing",
    "scc": "step-conditional control",
    "sccbf": "step-conditional control + budget forcing",
    "ccc": "class-conditional control",
    "rs": "rejection sampling",
}
# Short method names for the LaTeX Table 3 (the caption spells them out).
METHOD_ABBREV = {"budget forcing": "BF", "token-conditional control": "TCC",
                 "token-conditional control + budget forcing": "TCC + BF", "step-conditional control": "SCC",
                 "step-conditional control + budget forcing": "SCC + BF", "class-conditional control": "CCC",
                 "rejection sampling": "RS"}
FUNNEL_STEPS = ("collected", "with_features", "after_format", "after_difficulty", "preselected", "selected")
# The first four steps are successive filters; preselected is a subset of after_difficulty and
# selected adds diversity-sampled questions to it, so "removed" is defined only along the filters.
FILTER_STEPS = FUNNEL_STEPS[:4]
COLLECT_COLUMNS = ("source", "loaded", "quarantined", "contaminated", "cross_source", "unselected", "duplicates",
                   "kept")
SUMMARY_KEYS = ("questions", "thinking_tokens", "domains", "teacher_correct_frac", "avg_thinking_tokens")


def _fmt(x: float, digits: int) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


# ---- results table -----------------------------------------------------------------------


def results_table(evals: pd.DataFrame) -> Tables:
    """Rows model/setting, columns tasks: accuracy (%) ± its standard error (where the run has it)
    and, in parentheses, average thinking tokens."""
    tasks = sorted(evals["task"].unique(), key=task_sort_key)
    keys = sorted({(m, s) for m, s in zip(evals["model"], evals["setting"])},
                  key=lambda k: (k[0], setting_sort_key(k[1])))
    by_key = {(r.model, r.setting, r.task): r for r in evals.itertuples(index=False)}
    data_rows, display_rows = [], []
    for model, setting in keys:
        data_row: dict[str, object] = {"model": model, "setting": setting}
        display_row: dict[str, object] = {"Model": model, "Setting": setting}
        for task in tasks:
            r = by_key.get((model, setting, task))
            acc = round(r.accuracy_pct, 2) if r is not None else math.nan
            se = round(r.accuracy_stderr_pct, 2) if r is not None else math.nan
            tok = round(r.avg_thinking_tokens, 1) if r is not None else math.nan
            data_row[f"{task}.accuracy_pct"] = acc
            data_row[f"{task}.accuracy_stderr_pct"] = se
            data_row[f"{task}.avg_thinking_tokens"] = tok
            data_row[f"{task}.n"] = int(r.n) if r is not None else math.nan  # questions behind the accuracy
            pm = "" if math.isnan(se) else f" ± {_fmt(se, 1)}"
            display_row[task_label(task)] = "" if r is None else f"{_fmt(acc, 1)}{pm} ({_fmt(tok, 0)})"
        data_rows.append(data_row)
        display_rows.append(display_row)
    return pd.DataFrame(data_rows), pd.DataFrame(display_rows)


def accuracy_only(display: pd.DataFrame) -> pd.DataFrame:
    """The results display without the thinking tokens in parentheses (the LaTeX table: fits a column)."""
    return display.apply(lambda col: col.map(lambda v: re.sub(r" \([\d,.]+\)$", "", v) if isinstance(v, str) else v))


# ---- selection funnel ----------------------------------------------------------------------


def funnel_table(path: str | Path) -> Tables:
    """The s1K selection funnel with what each filter removed; counts are checked for consistency."""
    df = read_csv(path, required=("step", "count", "description"))
    steps = [str(s) for s in df["step"]]
    if tuple(steps) != FUNNEL_STEPS:
        raise InputError(f"{path}: column 'step' must be {list(FUNNEL_STEPS)} in this order, got {steps}")
    counts = dict(zip(steps, require_int_column(df, "count", path).tolist()))
    for step, n in counts.items():
        if n < 0:
            raise InputError(f"{path}: step {step!r} has a negative count {n}")
    for prev, step in zip(FILTER_STEPS, FILTER_STEPS[1:]):
        if counts[step] > counts[prev]:
            raise InputError(f"{path}: step {step!r} ({counts[step]}) exceeds {prev!r} ({counts[prev]}); a filter cannot add")
    if counts["preselected"] > counts["after_difficulty"]:
        raise InputError(f"{path}: step 'preselected' ({counts['preselected']}) exceeds 'after_difficulty'")
    if not counts["preselected"] <= counts["selected"] <= counts["after_difficulty"]:
        raise InputError(f"{path}: step 'selected' ({counts['selected']}) must lie between 'preselected' "
                         f"({counts['preselected']}) and 'after_difficulty' ({counts['after_difficulty']})")
    collected = counts["collected"]
    removed: list[float] = [math.nan] + [counts[p] - counts[s] for p, s in zip(FILTER_STEPS, FILTER_STEPS[1:])]
    removed += [math.nan, math.nan]
    data = pd.DataFrame({
        "step": steps, "count": [counts[s] for s in steps], "removed": removed,
        "kept_pct": [round(100 * counts[s] / collected, 2) if collected else math.nan for s in steps],
        "description": df["description"].astype(str).tolist(),
    })
    display = pd.DataFrame({
        "Step": steps, "Questions": [_fmt(float(counts[s]), 0) for s in steps],
        "Removed": [_fmt(x, 0) for x in removed], "% of collected": [_fmt(x, 1) for x in data["kept_pct"]],
        "Description": data["description"],
    })
    return data, display


def collect_table(path: str | Path) -> Tables:
    """Per-source collection funnel (loaded -> quarantined, contaminated, cross_source, unselected,
    duplicates -> kept; s1kit.collect.FUNNEL_COLUMNS); checked."""
    df = read_csv(path, required=COLLECT_COLUMNS)
    nums = {c: require_int_column(df, c, path) for c in COLLECT_COLUMNS[1:]}
    sources = df["source"].astype(str).str.strip()
    for i, src in enumerate(sources):
        loaded, *dropped, kept = (int(nums[c].iloc[i]) for c in COLLECT_COLUMNS[1:])
        if min(loaded, *dropped, kept) < 0 or loaded - sum(dropped) != kept:
            raise InputError(f"{path}: source {src!r} needs loaded - " + " - ".join(COLLECT_COLUMNS[2:-1])
                             + f" = kept (all >= 0), got {loaded} - " + " - ".join(map(str, dropped)) + f" != {kept}")
    is_total = sources == "total"
    if is_total.sum() != 1:
        raise InputError(f"{path}: expected exactly one 'total' row in column 'source', found {int(is_total.sum())}")
    for c in COLLECT_COLUMNS[1:]:
        total, parts = int(nums[c][is_total].iloc[0]), int(nums[c][~is_total].sum())
        if total != parts:
            raise InputError(f"{path}: 'total' row column {c!r} is {total} but the sources sum to {parts}")
    data = pd.DataFrame({"source": sources, **{c: nums[c] for c in COLLECT_COLUMNS[1:]}})
    display = pd.DataFrame({"Source": data["source"], **{
        c.replace("_", " ").capitalize(): data[c].map(lambda x: _fmt(float(x), 0)) for c in COLLECT_COLUMNS[1:]}})
    return data, display


def selections_table(summaries: dict[str, Path]) -> Tables:
    """One row per selection from ``select/{selection}/summary.json``."""
    rows = []
    for selection, path in summaries.items():
        data = read_json(path)
        require_keys(data, SUMMARY_KEYS, path)
        rows.append({"selection": selection, **{k: data[k] for k in SUMMARY_KEYS}})
    data = pd.DataFrame(rows, columns=["selection", *SUMMARY_KEYS])
    display = pd.DataFrame({
        "Selection": data["selection"], "Questions": data["questions"].map(lambda x: _fmt(float(x), 0)),
        "Thinking tokens": data["thinking_tokens"].map(lambda x: _fmt(float(x), 0)),
        "Domains": data["domains"].map(lambda x: _fmt(float(x), 0)),
        "Teacher correct (%)": data["teacher_correct_frac"].map(lambda x: _fmt(100 * float(x), 1)),
        "Avg. thinking tokens": data["avg_thinking_tokens"].map(lambda x: _fmt(float(x), 0)),
    })
    return data, display


# ---- training runs ---------------------------------------------------------------------------

TRAIN_KEYS = ("steps", "train_runtime_s")  # the rest shows as empty where a metrics.json lacks it


def training_table(metrics: dict[str, Path]) -> Tables:
    """One row per training run from ``train/{run}/metrics.json``: steps, examples, cut, time, GPU-hours, loss."""
    rows = []
    for run, path in metrics.items():
        data = read_json(path)
        require_keys(data, TRAIN_KEYS, path)
        rows.append({"run": run, "steps": data["steps"], "examples": data.get("examples", math.nan),
                     "samples_cut_pct": 100 * float(data.get("samples_cut_frac") or 0.0),
                     "minutes": float(data["train_runtime_s"]) / 60,
                     "gpu_hours": math.nan if data.get("gpu_hours") is None else float(data["gpu_hours"]),
                     "devices": data.get("num_processes", 1), "final_loss": float(data.get("final_loss", math.nan))})
    data = pd.DataFrame(rows, columns=["run", "steps", "examples", "samples_cut_pct", "minutes", "gpu_hours",
                                       "devices", "final_loss"])
    display = pd.DataFrame({
        "Run": data["run"], "Steps": data["steps"].map(lambda x: _fmt(float(x), 0)),
        "Examples": data["examples"].map(lambda x: _fmt(float(x), 0)),
        "Cut (%)": data["samples_cut_pct"].map(lambda x: _fmt(x, 1)), "Minutes": data["minutes"].map(lambda x: _fmt(x, 1)),
        "GPU-hours": data["gpu_hours"].map(lambda x: _fmt(x, 1)), "Devices": data["devices"],
        "Final loss": data["final_loss"].map(lambda x: _fmt(x, 4)),
    })
    return data, display


# ---- Table 3: test-time scaling methods ------------------------------------------------------


def _run_controls(evals: pd.DataFrame, model: str, task: str, group: pd.DataFrame) -> list[float]:
    ref = evals[(evals["model"] == model) & (evals["task"] == task) & (evals["setting"] == CCC_REFERENCE)]
    ref_tokens = float(ref["avg_thinking_tokens"].iloc[0]) if len(ref) else None
    steps = group["avg_thinking_steps"] if "avg_thinking_steps" in group else [math.nan] * len(group)
    return [run_control(s, {TOKENS: float(t), STEPS: float(n)}, ref_tokens)
            for s, t, n in zip(group["setting"], group["avg_thinking_tokens"], steps)]


def scaling_methods_table(evals: pd.DataFrame) -> Tables:
    """Control (%), Scaling and Performance (%) per (model, task, method) over the method's runs.

    A method's runs are the settings with its prefix (``bf-*`` for budget forcing, ...).
    Control counts the runs within their constraint (``evaluate.metrics.run_control``; ccc
    runs against the same model and task's ``bf-auto``). Scaling needs two runs with
    positive thinking tokens, otherwise it is empty.
    """
    rows = []
    known = evals[evals["method"].isin(list(METHODS))]
    for (model, task, method), group in known.groupby(["model", "task", "method"], sort=False):
        points = list(zip(group["avg_thinking_tokens"], group["accuracy_pct"]))
        m = method_metrics(points, _run_controls(evals, model, task, group))
        rows.append({"model": model, "task": task, "method": METHODS[method],
                     **{k: round(v, 4) if not math.isnan(v) else math.nan for k, v in m.items()},
                     "runs": len(group)})
    order = list(METHODS.values())
    rows.sort(key=lambda r: (r["model"], task_sort_key(r["task"]), order.index(r["method"])))
    data = pd.DataFrame(rows, columns=["model", "task", "method", "control", "scaling", "performance", "runs"])
    display = pd.DataFrame({
        "Model": data["model"], "Task": data["task"].map(task_label), "Method": data["method"],
        "Control (%)": data["control"].map(lambda x: _fmt(x, 0)),
        "Scaling": data["scaling"].map(lambda x: _fmt(x, 0)),
        "Performance (%)": data["performance"].map(lambda x: _fmt(x, 1)), "Runs": data["runs"],
    })
    return data, display


def scaling_methods_latex(display: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Table 3 for LaTeX: abbreviated method names and headers so that it fits a column; the caption's legend."""
    short = display.assign(Method=display["Method"].map(lambda m: METHOD_ABBREV.get(m, m)))
    short = short.rename(columns={"Performance (%)": "Perf. (%)"})
    used = [f"{a} {m}" for m, a in METHOD_ABBREV.items() if m in set(display["Method"])]
    return short, "; ".join(used)


def questions_text(evals: pd.DataFrame) -> str:
    """``n = 30 (AIME24), 500 (MATH500)``: the questions behind each benchmark's accuracies
    (a range where runs differ, e.g. with --limit)."""
    parts = []
    for task in sorted(evals["task"].unique(), key=task_sort_key):
        ns = sorted({int(n) for n in evals.loc[evals["task"] == task, "n"]})
        parts.append(f"{ns[0]:,}" + (f"-{ns[-1]:,}" if len(ns) > 1 else "") + f" ({task_label(task)})")
    return "n = " + ", ".join(parts) if parts else ""
