"""Figures: the test-time scaling curve (Figure 1 style), the s1K domain composition (Figure 2,
left) and each selection's thinking-length histogram.

Each builder writes ``<stem>.png`` and ``<stem>.pdf`` atomically and returns its caption;
figures of the tiny default run say so in the title and the caption.
"""

from __future__ import annotations

import textwrap
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
FORMATS = ("png", "pdf")  # 300 dpi raster for slides and the HTML report, vector for the paper
DPI = 300
COLUMN_IN = 3.4  # one column of a two-column paper (inches); FULL_IN spans both
FULL_IN = 7.0
TOP_DOMAINS = 15  # the composition figure shows the largest domains and one "other" bar
# Sizes read at print size: 8 pt text, 7 pt ticks and legends.
STYLE = {"font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
         "legend.fontsize": 7, "savefig.dpi": DPI, "figure.dpi": 100, "axes.spines.top": False,
         "axes.spines.right": False, "pdf.fonttype": 42}


def _save(fig: plt.Figure, stem: str | Path) -> list[Path]:
    try:
        return [save_figure(fig, Path(f"{stem}.{fmt}")) for fmt in FORMATS]
    finally:
        plt.close(fig)


def _tiny_title(title: str, tiny: bool) -> str:
    """The title, with the tiny-run note on its own lines (it must not widen a column figure)."""
    return f"{title}\n" + "\n".join(textwrap.wrap(TINY_NOTE, 60)) if tiny else title


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
        with plt.rc_context(STYLE):
            fig, ax = plt.subplots(figsize=(COLUMN_IN, 2.4))
            ax.text(0.5, 0.5, "no budget-forcing results yet", ha="center", va="center")
            ax.set_axis_off()
            _save(fig, stem)
        return "Test-time scaling: no bf-* or wait-* eval results with thinking tokens yet."
    tasks = sorted(pts["task"].unique(), key=task_sort_key)
    models = sorted(pts["model"].unique())
    colors = {m: f"C{i % 10}" for i, m in enumerate(models)}
    width = COLUMN_IN if len(tasks) == 1 else min(FULL_IN, 2.4 * len(tasks))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(tasks), figsize=(width, 2.5), squeeze=False, layout="constrained")
        for ax, task in zip(axes[0], tasks):
            for model in models:
                sub = pts[(pts["task"] == task) & (pts["model"] == model)]
                bf, wait = sub[sub["method"] == "bf"], sub[sub["method"] == "wait"]
                if not bf.empty:
                    ax.plot(bf["avg_thinking_tokens"], bf["accuracy_pct"], "o-", ms=3.5, lw=1.2, color=colors[model],
                            label=f"{model} (budget forcing)")
                if not wait.empty:
                    ax.plot(wait["avg_thinking_tokens"], wait["accuracy_pct"], "^", ms=4.5, mfc="none",
                            color=colors[model], label=f'{model} ("Wait" extrapolation)')
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_tokens_tick))
            ax.set_title(task_label(task))
            ax.set_xlabel("Average thinking tokens (log scale)")
            ax.set_ylabel("Accuracy (%)")
            ax.grid(alpha=0.3, lw=0.5)
        # One legend for the figure: a panel may lack a model's wait-* points.
        handles = {}
        for ax in axes[0]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(lab, h)
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=min(2, len(handles)),
                   frameon=False)
        tiny = any(is_tiny(m, t) for m, t in zip(pts["model"], pts["task"]))
        if tiny:
            fig.suptitle(_tiny_title("", True).strip(), fontsize=7)
        _save(fig, stem)
    dropped = len(evals[evals["method"].isin(["bf", "wait"])]) - len(pts)
    caption = ("Test-time scaling with budget forcing: accuracy against average thinking tokens "
               "(log2 axis); lines join budget-forcing runs (bf-*), open triangles mark \"Wait\" extrapolation (wait-*).")
    if dropped:
        caption += f" {dropped} run(s) with no thinking tokens (e.g. bf-0) are omitted from the log axis."
    return f"{caption} {TINY_NOTE}" if tiny else caption


def _tokens_tick(value: float, _pos: int) -> str:
    """Log-axis ticks as plain token counts: 512, 2K, 16K."""
    return f"{value / 1024:g}K" if value >= 1024 else f"{value:g}"


def top_domains(df: pd.DataFrame, n: int = TOP_DOMAINS) -> pd.DataFrame:
    """The ``n`` largest domains (ties by name) and, if more, one ``other (k domains)`` row summing the rest."""
    df = df.sort_values(["questions", "domain"], ascending=[False, True])
    if len(df) <= n + 1:  # an "other" bar for a single domain would hide its name for nothing
        return df.reset_index(drop=True)
    rest = df.iloc[n:]
    other = pd.DataFrame({"domain": [f"other ({len(rest)} domains)"], "questions": [int(rest["questions"].sum())]})
    return pd.concat([df.iloc[:n][["domain", "questions"]], other], ignore_index=True)


def composition_figure(path: str | Path, stem: str | Path, selection: str, tiny: bool = False) -> str:
    """Horizontal bars of questions per domain (the largest TOP_DOMAINS and "other") from
    ``composition.csv``; returns the caption.

    ``tiny`` marks a tiny-run selection (the path alone cannot tell: both runs write select/s1K).
    """
    df = read_csv(path, required=("domain", "questions"))
    df = df.assign(questions=require_int_column(df, "questions", path), domain=df["domain"].astype(str))
    total = int(df["questions"].sum())
    shown = top_domains(df)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(COLUMN_IN + 1.2, 0.17 * len(shown) + 1.0), layout="constrained")
        colors = ["0.6" if d.startswith("other (") and i == len(shown) - 1 else "C0"
                  for i, d in enumerate(shown["domain"])]
        ax.barh(shown["domain"][::-1], shown["questions"][::-1], color=colors[::-1], height=0.7)
        for y, q in enumerate(shown["questions"][::-1]):
            ax.text(q, y, f" {q:,}", va="center", fontsize=7)
        ax.set_xlabel("Questions")
        ax.set_ylabel("Domain")
        ax.margins(x=0.12)
        title = f"{selection}: {total:,} questions over {len(df)} domains"
        ax.set_title(_tiny_title(title, tiny))
        _save(fig, stem)
    more = f"; the largest {TOP_DOMAINS} and the other {len(df) - TOP_DOMAINS} together" if len(shown) < len(df) else ""
    caption = (f"Domain composition of {selection}: questions per domain ({total:,} questions, "
               f"{len(df)} domains{more}).")
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


def length_bins(tokens: np.ndarray, target: int = 40) -> tuple[np.ndarray, int]:
    """Histogram edges at the data's resolution: the values' step (gcd of the gaps between
    distinct values, e.g. 4 when every length is 4k+1) times a whole factor giving about
    ``target`` bins, centred on the values so that no bin is an empty sliver. Returns (edges, width)."""
    values = np.unique(tokens)
    step = int(np.gcd.reduce(np.diff(values))) if values.size > 1 else 1
    span = int(values[-1] - values[0])
    width = step * max(1, -(-span // (step * target)))
    start = values[0] - width / 2 if width == step else values[0] - step / 2
    edges = np.arange(start, values[-1] + width, width)
    if edges[-1] <= values[-1]:
        edges = np.append(edges, edges[-1] + width)
    return edges, width


def thinking_length_figure(path: str | Path, stem: str | Path, selection: str, tiny: bool = False) -> str:
    """Histogram of thinking tokens per question from a selection's ``dataset.parquet``, with
    the mean and median marked; returns the caption."""
    tokens = read_thinking_tokens(path)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(COLUMN_IN, 2.4), layout="constrained")
        if tokens.size == 0:
            ax.text(0.5, 0.5, "no questions", ha="center", va="center")
            ax.set_axis_off()
            _save(fig, stem)
            return f"Thinking lengths of {selection}: no questions."
        mean, median = float(tokens.mean()), float(np.median(tokens))
        edges, width = length_bins(tokens)
        ax.hist(tokens, bins=edges, color="C0", edgecolor="white", linewidth=0.3)
        ax.axvline(mean, color="C1", ls="-", lw=1, label=f"mean {mean:,.0f}")
        ax.axvline(median, color="C2", ls="--", lw=1, label=f"median {median:,.0f}")
        ax.set_xlabel("Thinking tokens per question")
        ax.set_ylabel("Questions")
        ax.legend(frameon=False)
        title = f"{selection}: thinking lengths of {tokens.size:,} questions"
        ax.set_title(_tiny_title(title, tiny))
        _save(fig, stem)
    caption = (f"Thinking lengths of {selection}: {tokens.size:,} questions, {int(tokens.sum()):,} thinking tokens, "
               f"mean {mean:,.0f}, median {median:,.0f}, max {int(tokens.max()):,} (bins of {width:,} tokens).")
    return f"{caption} {TINY_NOTE}" if tiny else caption
