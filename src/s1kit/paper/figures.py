"""Figures: the test-time scaling curve (Figure 1 style), the s1K domain composition (Figure 2,
left) and each selection's thinking-length histogram.

Each builder writes ``<stem>.png`` and ``<stem>.pdf`` atomically and returns its caption;
figures of the tiny default run say so in the title and the caption.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: builds run on login nodes and CI without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from s1kit.paper.io import InputError, read_csv, require_int_column, save_figure  # noqa: E402
from s1kit.paper.results import is_tiny, task_label, task_sort_key  # noqa: E402

TINY_NOTE = "Tiny default run (make demo): shows the pipeline works; not paper numbers."
FORMATS = ("png", "pdf")


def _save(fig: plt.Figure, stem: str | Path) -> list[Path]:
    try:
        return [save_figure(fig, Path(f"{stem}.{fmt}")) for fmt in FORMATS]
    finally:
        plt.close(fig)


def scaling_points(evals: pd.DataFrame) -> pd.DataFrame:
    """The plotted points: bf-* and wait-* runs with positive thinking tokens (log axis)."""
    pts = evals[evals["method"].isin(["bf", "wait"]) & (evals["avg_thinking_tokens"] > 0)]
    return pts.sort_values(["task", "model", "avg_thinking_tokens"])


def scaling_figure(evals: pd.DataFrame, stem: str | Path) -> str:
    """Accuracy vs average thinking tokens (log2 x), one panel per task, one line per model.

    Lines join a model's budget-forcing runs (bf-*); "Wait" extrapolation runs (wait-*) are
    open triangles in the line's colour. Returns the caption.
    """
    pts = scaling_points(evals)
    if pts.empty:  # still write the file: it is a declared output of the paper rule
        fig, ax = plt.subplots(figsize=(4.2, 3.6))
        ax.text(0.5, 0.5, "no budget-forcing results yet", ha="center", va="center")
        ax.set_axis_off()
        _save(fig, stem)
        return "Test-time scaling: no bf-* or wait-* eval results with thinking tokens yet."
    tasks = sorted(pts["task"].unique(), key=task_sort_key)
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    models = sorted(pts["model"].unique())
    colors = {m: f"C{i % 10}" for i, m in enumerate(models)}
    for ax, task in zip(axes[0], tasks):
        for model in models:
            sub = pts[(pts["task"] == task) & (pts["model"] == model)]
            bf, wait = sub[sub["method"] == "bf"], sub[sub["method"] == "wait"]
            if not bf.empty:
                ax.plot(bf["avg_thinking_tokens"], bf["accuracy_pct"], "o-", color=colors[model], label=f"{model} (budget forcing)")
            if not wait.empty:
                ax.plot(wait["avg_thinking_tokens"], wait["accuracy_pct"], "^", mfc="none", color=colors[model],
                        label=f'{model} ("Wait" extrapolation)')
        ax.set_xscale("log", base=2)
        ax.set_title(task_label(task))
        ax.set_xlabel("Average thinking tokens (log2)")
        ax.set_ylabel("Accuracy (%)")
        ax.grid(alpha=0.3)
    # One legend for the figure: a panel may lack a model's wait-* points.
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(handles.values(), handles.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.03),
               ncol=min(4, len(handles)), fontsize=7, frameon=False)
    tiny = any(is_tiny(m, t) for m, t in zip(pts["model"], pts["task"]))
    if tiny:
        fig.suptitle(TINY_NOTE, fontsize=9)
    _save(fig, stem)
    dropped = len(evals[evals["method"].isin(["bf", "wait"])]) - len(pts)
    caption = ("Test-time scaling with budget forcing: accuracy against average thinking tokens "
               "(log2 axis); lines join budget-forcing runs (bf-*), open triangles mark \"Wait\" extrapolation (wait-*).")
    if dropped:
        caption += f" {dropped} run(s) with no thinking tokens (e.g. bf-0) are omitted from the log axis."
    return f"{caption} {TINY_NOTE}" if tiny else caption


def composition_figure(path: str | Path, stem: str | Path, selection: str, tiny: bool = False) -> str:
    """Horizontal bars of questions per domain from ``composition.csv``; returns the caption.

    ``tiny`` marks a tiny-run selection (the path alone cannot tell: both runs write select/s1K).
    """
    df = read_csv(path, required=("domain", "questions"))
    df = df.assign(questions=require_int_column(df, "questions", path), domain=df["domain"].astype(str))
    df = df.sort_values(["questions", "domain"], ascending=[True, False])
    fig, ax = plt.subplots(figsize=(6, max(2.0, 0.18 * len(df) + 1)))
    ax.barh(df["domain"], df["questions"], color="C0")
    ax.set_xlabel("Questions")
    ax.tick_params(axis="y", labelsize=6 if len(df) > 25 else 8)
    total = int(df["questions"].sum())
    title = f"{selection}: {total:,} questions over {len(df)} domains"
    ax.set_title(f"{title}\n{TINY_NOTE}" if tiny else title, fontsize=9)  # a suptitle would overlap short figures
    _save(fig, stem)
    caption = f"Domain composition of {selection}: questions per domain ({total:,} questions, {len(df)} domains)."
    return f"{caption} {TINY_NOTE}" if tiny else caption



def read_thinking_tokens(path: str | Path) -> np.ndarray:
    """The ``thinking_tokens`` column of a selection's ``dataset.parquet`` (nulls are an error)."""
    try:
        table = pq.read_table(path, columns=["thinking_tokens"])
    except (OSError, pa.ArrowInvalid, KeyError) as e:
        raise InputError(f"{path}: cannot read column 'thinking_tokens' ({e})") from None
    values = table.column("thinking_tokens")
    if values.null_count:
        raise InputError(f"{path}: column 'thinking_tokens' has {values.null_count} null(s)")
    return np.asarray(values.to_pylist(), dtype=np.int64)


def thinking_length_figure(path: str | Path, stem: str | Path, selection: str, tiny: bool = False) -> str:
    """Histogram of thinking tokens per question from a selection's ``dataset.parquet``, with
    the mean and median marked; returns the caption."""
    tokens = read_thinking_tokens(path)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    if tokens.size == 0:
        ax.text(0.5, 0.5, "no questions", ha="center", va="center")
        ax.set_axis_off()
        _save(fig, stem)
        return f"Thinking lengths of {selection}: no questions."
    mean, median = float(tokens.mean()), float(np.median(tokens))
    width = max(1, -(-int(tokens.max() + 1) // 40))  # about 40 bins, whole tokens wide: no empty slivers
    ax.hist(tokens, bins=np.arange(0, int(tokens.max()) + width + 1, width), color="C0")
    ax.axvline(mean, color="C1", ls="-", lw=1, label=f"mean {mean:,.0f}")
    ax.axvline(median, color="C2", ls="--", lw=1, label=f"median {median:,.0f}")
    ax.set_xlabel("Thinking tokens per question")
    ax.set_ylabel("Questions")
    ax.legend(fontsize=7, frameon=False)
    title = f"{selection}: thinking lengths of {tokens.size:,} questions"
    ax.set_title(f"{title}\n{TINY_NOTE}" if tiny else title, fontsize=9)
    _save(fig, stem)
    caption = (f"Thinking lengths of {selection}: {tokens.size:,} questions, {int(tokens.sum()):,} thinking tokens, "
               f"mean {mean:,.0f}, median {median:,.0f}, max {int(tokens.max()):,} (bins of {width:,} tokens).")
    return f"{caption} {TINY_NOTE}" if tiny else caption
