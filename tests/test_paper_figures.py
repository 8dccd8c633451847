"""Figures fit for a paper: labelled axes, readable ticks, bins at the data's resolution, 300 dpi + PDF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from s1kit.paper import figures
from s1kit.records import write_table


def test_top_domains_and_other():
    df = pd.DataFrame({"domain": [f"d{i:02d}" for i in range(48)], "questions": list(range(48, 0, -1))})
    top = figures.top_domains(df, 15)
    assert len(top) == 16 and top["domain"].iloc[-1] == "other (33 domains)"
    assert top["questions"].sum() == df["questions"].sum()
    assert list(top["domain"][:3]) == ["d00", "d01", "d02"]
    assert len(figures.top_domains(df.head(16), 15)) == 16  # one leftover domain keeps its own bar


@pytest.mark.parametrize("tokens, width", [(np.arange(5, 66, 4), 4), (np.arange(0, 40_000, 8), 1000),
                                           (np.array([7]), 1), (np.array([1000 + 37 * i for i in range(200)]), 185)])
def test_length_bins_follow_the_data_resolution(tokens, width):
    edges, got = figures.length_bins(tokens)
    assert got == width and got % int(np.gcd.reduce(np.diff(np.unique(tokens))) if tokens.size > 1 else 1) == 0
    counts, _ = np.histogram(tokens, edges)
    assert counts.sum() == tokens.size
    assert len(counts) <= 41
    # every bin holds the same number of possible values, so a uniform sample gives no comb
    if tokens.size > 1 and np.all(np.diff(tokens) == np.diff(tokens)[0]):
        assert counts[:-1].min() == counts[:-1].max()


def test_figures_are_300_dpi_png_and_vector_pdf(tmp_path: Path):
    comp = tmp_path / "composition.csv"
    comp.write_text("domain,questions,thinking_tokens\n" + "".join(f"Domain {i},{50 - i},1\n" for i in range(48)))
    caption = figures.composition_figure(comp, tmp_path / "comp", "s1K")
    assert "the largest 15 and the other 33 together" in caption
    write_table(tmp_path / "ds.parquet", [{"id": str(i), "thinking_tokens": 5 + 4 * (i % 16)} for i in range(1000)])
    caption = figures.thinking_length_figure(tmp_path / "ds.parquet", tmp_path / "len", "s1K", tiny=True)
    assert "(bins of 4 tokens)" in caption and figures.TINY_NOTE in caption
    for stem in ("comp", "len"):
        png = Image.open(tmp_path / f"{stem}.png")
        assert round(png.info["dpi"][0]) == 300
        assert png.size[0] >= 0.9 * figures.COLUMN_IN * 300  # at least a column wide at 300 dpi
        pdf = (tmp_path / f"{stem}.pdf").read_bytes()
        assert pdf[:5] == b"%PDF-" and b"/Subtype /Image" not in pdf  # vector: no embedded raster


def test_every_axis_is_labelled(monkeypatch, tmp_path: Path):
    """Capture the figures as drawn: every visible axis has x and y labels, ticks >= 7 pt."""
    import matplotlib.pyplot as plt

    seen = []
    real_save = figures._save

    def spy(fig, stem):
        seen.extend(ax for ax in fig.axes if ax.axison)
        for ax in fig.axes:
            if ax.axison:
                assert ax.get_xlabel() and ax.get_ylabel(), (stem, ax.get_title())
                sizes = {t.get_fontsize() for t in ax.get_yticklabels() + ax.get_xticklabels()}
                assert min(sizes) >= 7, (stem, sizes)
        return real_save(fig, stem)

    monkeypatch.setattr(figures, "_save", spy)
    comp = tmp_path / "composition.csv"
    comp.write_text("domain,questions,thinking_tokens\nA,3,1\nB,2,1\n")
    figures.composition_figure(comp, tmp_path / "c", "s1K")
    write_table(tmp_path / "ds.parquet", [{"id": "a", "thinking_tokens": 10}, {"id": "b", "thinking_tokens": 30}])
    figures.thinking_length_figure(tmp_path / "ds.parquet", tmp_path / "h", "s1K")
    evals = pd.DataFrame({"model": ["m"] * 3, "task": ["aime24_nofigures"] * 3, "method": ["bf", "bf", "wait"],
                          "avg_thinking_tokens": [500.0, 1000.0, 1500.0], "accuracy_pct": [10.0, 20.0, 25.0]})
    figures.scaling_figure(evals, tmp_path / "s")
    assert len(seen) == 3
    plt.close("all")
