"""The LaTeX tables compile in a plain article with the packages they declare, and fit the text width.

Compiled with pdflatex (Debian's texlive-latex-base + texlive-latex-recommended; .ci/run
installs them); skipped with a reason where no TeX engine is installed. "Fits" is TeX's
own verdict: no Overfull \\hbox in the log.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from s1kit.paper.render import LATEX_PACKAGES
from test_paper_build import ev, paper_tree, run_cli  # noqa: F401  (fixture)

TEX = shutil.which("pdflatex")


def _with_stderr(path: Path, stderr: float) -> None:
    """Add lm-eval's own result block, as `s1kit evaluate` writes it, with a standard error."""
    data = json.loads(path.read_text())
    data["lm_eval"] = {"alias": data["task"], "exact_match,none": data["accuracy"],
                       "exact_match_stderr,none": stderr}
    path.write_text(json.dumps(data))


@pytest.fixture
def wide_tree(paper_tree: Path) -> Path:  # noqa: F811
    """Four tasks with standard errors and all Table 3 methods: the widest tables the kit writes."""
    for task, n in [("openai_math", 500), ("gpqa_diamond_openai", 198), ("aime25_nofigures", 30)]:
        for setting, acc, tok in [("bf-2000", 0.5, 1900), ("bf-4000", 0.55, 3900), ("bf-16000", 0.6, 7320.4)]:
            _with_stderr(ev(paper_tree, "s1.1-32B", setting, task, acc, tok, n=n), 0.0351)
    for method in ("tcc", "tccbf", "scc", "sccbf", "ccc", "rs"):
        for budget, acc, tok in [("2000", 0.3, 1800), ("4000", 0.4, 3700)]:
            ev(paper_tree, "s1-32B", f"{method}-{budget}", "aime24_nofigures", acc, tok, control=0.6)
    _with_stderr(paper_tree / "eval/s1-32B/bf-auto/aime24_nofigures/results.json", 0.0928)
    return paper_tree


def test_latex_declares_its_packages_and_shows_stderr(wide_tree: Path):
    assert run_cli("--results-dir", str(wide_tree)) == 0
    tables = wide_tree / "paper" / "tables"
    for tex in tables.glob("*.tex"):
        first = tex.read_text().splitlines()[0]
        assert first.startswith("% s1kit table. Needs in the preamble:"), tex
        assert all(f"\\usepackage{{{p}}}" in first for p in LATEX_PACKAGES)
    results = (tables / "results.tex").read_text()
    assert "50.0 $\\pm$ 9.3" in results  # 0.0928 -> 9.3 points, from lm-eval's stderr
    assert "(7," not in results  # tokens stay in results.md/csv: the LaTeX table fits a column
    assert "50.0 ± 9.3 (6,984)" in (tables / "results.md").read_text()
    csv = (tables / "results.csv").read_text()
    assert "aime24_nofigures.accuracy_stderr_pct" in csv.splitlines()[0]


@pytest.mark.skipif(TEX is None, reason="no TeX engine (apt-get install texlive-latex-base texlive-latex-recommended)")
@pytest.mark.parametrize("layout", ["onecolumn", "twocolumn"])
def test_latex_tables_compile_and_fit_the_text_width(wide_tree: Path, tmp_path: Path, layout: str):
    """Each table in an article of one column and of two (as a conference paper): no Overfull \\hbox.
    A table with wrapped text spans both columns (table*); one word per line in a narrow column is
    what TeX reports as overfull or underfull boxes, and the Description column is checked for both."""
    assert run_cli("--results-dir", str(wide_tree)) == 0
    texs = sorted((wide_tree / "paper" / "tables").glob("*.tex"))
    assert {t.stem for t in texs} >= {"results", "scaling_methods", "funnel", "funnel_collect", "selections"}
    for tex in texs:
        packages = re.findall(r"\\usepackage\{(\w+)\}", tex.read_text().splitlines()[0])
        doc = tmp_path / f"doc-{tex.stem}.tex"
        doc.write_text(f"\\documentclass[{layout}]{{article}}\n" + "".join(f"\\usepackage{{{p}}}\n" for p in packages)
                       + f"\\begin{{document}}\n\\input{{{tex}}}\nText.\n\\end{{document}}\n")
        proc = subprocess.run([TEX, "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        log = (tmp_path / f"doc-{tex.stem}.log").read_text(errors="replace")
        assert proc.returncode == 0, f"{tex.name} does not compile ({layout}):\n{proc.stdout[-3000:]}"
        assert "Overfull \\hbox" not in log, f"{tex.name} is wider than the text ({layout}):\n" + "\n".join(
            ln for ln in log.splitlines() if "Overfull" in ln)
        if "X}" in tex.read_text():  # wrapped text: no badly spaced one-word lines either
            assert "Underfull \\hbox (badness 10000)" not in log, f"{tex.name} ({layout}) wraps a word per line"
        assert (tmp_path / f"doc-{tex.stem}.pdf").stat().st_size > 0
