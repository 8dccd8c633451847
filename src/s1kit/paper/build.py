"""`s1kit paper`: tables, figures and the claims report from whatever results exist.

    s1kit paper --results-dir results --out-dir results/paper
    s1kit paper --results-dir results --tiny-results-dir demo/results   # paper run + tiny beside it
    s1kit paper --eval-results results/eval/s1-32B/bf-*/*/results.json  # explicit inputs

Writes (under --out-dir): tables/{results,scaling_methods}.{csv,md,html,tex}, figures/scaling.{png,pdf},
claims.csv, report.md, report.html (self-contained: figures inlined), verdict.txt (what `make demo`
prints last; a tiny run also writes typical_run.md, README's table); and, when their inputs exist,
tables/funnel.*, tables/funnel_collect.*, tables/selections.*, tables/training.*,
figures/composition-{selection}.{png,pdf},
figures/thinking-lengths-{selection}.{png,pdf}.
A tiny results tree (tiny*-named models, runs, sources or eval sets; or --mode tiny) is
detected and its numbers are shown as tiny values only, never compared with the paper.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import io
import socket
import sys
from pathlib import Path

import pandas as pd
from PIL import Image

from s1kit.paper import figures, metrics, report, tables
from s1kit.paper.claims import ClaimError, load_claims
from s1kit.paper.requires import PAPER_CONFIG, REVIEW_CONFIG, eval_rules, review_claim_ids
from s1kit.paper.verdict import load_typical, paper_verdict, tiny_verdict, typical_markdown, typical_table
from s1kit.paper.io import InputError, write_text
from s1kit.paper.render import cell, to_html, to_markdown, write_table
from s1kit.paper.results import find_eval_results, load_eval_results
from s1kit.provenance import code_version, package_versions
from s1kit.sidecar import load_record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``s1kit paper``."""
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="results tree to read (eval/, select/, data/, train/)")
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write (default: <results-dir>/paper)")
    parser.add_argument("--eval-results", type=Path, nargs="*", default=None,
                        help="explicit results.json files (default: every <results-dir>/eval/*/*/*/results.json)")
    parser.add_argument("--claims", type=Path, default=None, help="claims registry (default: the packaged claims.yaml)")
    parser.add_argument("--mode", choices=("auto", "paper", "tiny"), default="auto",
                        help="auto: tiny if the results hold tiny*-named models/runs/sources, else paper")
    parser.add_argument("--tiny-results-dir", type=Path, default=None,
                        help="a tiny default run's results tree, shown beside a paper run")
    parser.add_argument("--strict", action="store_true",
                        help="fail (instead of marking the claim 'error') when a target lacks its field")
    parser.add_argument("--review-config", type=Path, default=Path(REVIEW_CONFIG),
                        help="the review config whose grade.claims say which claims are re-gradable on a CPU "
                             "(skipped if absent)")
    parser.add_argument("--paper-config", type=Path, default=Path(PAPER_CONFIG),
                        help="the paper config whose evaluate.batches name the rules of a released checkpoint's "
                             "evaluation (the --allowed-rules of the printed commands)")
    parser.add_argument("--config-hash", default="",
                        help="sha256 of the run's Snakemake config (the paper_build rule passes it), shown in the header")


# Where the tiny default run leaves tiny*-named outputs, from the first stage on, so that a
# partial tiny run (no eval yet) is not mistaken for a paper run. --mode overrides.
_TINY_MARKERS = ("eval/tiny*", "train/tiny*", "models/tiny*", "data/raw/tiny*", "data/eval/tiny*")


def detect_mode(results_dir: Path) -> str:
    """``tiny`` when the tree holds tiny*-named models, runs, sources or eval sets, else ``paper``."""
    return "tiny" if any(any(results_dir.glob(g)) for g in _TINY_MARKERS) else "paper"


def _tables(evals: pd.DataFrame, results_dir: Path, out: Path) -> list[tuple[str, str, str]]:
    """Write every table whose inputs exist; returns (title, markdown, html) for the report."""
    built = []

    def emit(name: str, title: str, pair: tables.Tables, caption: str,
             latex: tuple[pd.DataFrame, str] | None = None) -> None:
        data, display = pair
        write_table(data, display, out / "tables" / name, caption, f"tab:{name}", latex)
        shown = display.loc[:, [c for c in display.columns if (display[c].map(cell) != "").any() or display.empty]]
        built.append((title, f"{caption}\n\n" + to_markdown(shown), f"<p>{html.escape(caption)}</p>" + to_html(shown)))

    if evals.empty:
        empty = pd.DataFrame(columns=["model", "setting"])
        emit("results", "Eval results", (empty, empty.rename(columns=str.capitalize)), "Eval results: none yet.")
    else:
        pair = tables.results_table(evals)
        n = tables.questions_text(evals)  # accuracy with its n (the SE is the binomial one over them)
        emit("results", "Eval results", pair,
             f"Accuracy (%) ± standard error (where the run has it; {n} questions) and, in parentheses, average "
             "thinking tokens per model and setting.",
             latex=(tables.accuracy_only(pair[1]), f"Accuracy (%) ± standard error (where the run has it; {n} "
                    "questions) per model and setting; average thinking tokens are in results.csv and results.md."))
    caption = ("Control (% of runs whose average thinking is within the run's budget), "
               "Scaling (slope of accuracy per doubling of thinking tokens) and "
               f"Performance (best accuracy, %) per method; metrics from {metrics.SOURCE}.")
    pair = tables.scaling_methods_table(evals)
    short, legend = tables.scaling_methods_latex(pair[1])
    emit("scaling_methods", "Test-time scaling methods (built Table 3)", pair, caption,
         latex=(short, caption + (f" Methods: {legend}." if legend else "")))
    funnel = results_dir / "select" / "funnel.csv"
    if funnel.exists():
        emit("funnel", "Selection funnel", tables.funnel_table(funnel), "s1K selection funnel.")
    collect = results_dir / "data" / "funnel_collect.csv"
    if collect.exists():
        emit("funnel_collect", "Collection by source", tables.collect_table(collect),
             "Questions per source: raw, after decontamination, after deduplication.")
    summaries = {p.parent.name: p for p in sorted(results_dir.glob("select/*/summary.json"))}
    if summaries:
        emit("selections", "Selections", tables.selections_table(summaries), "Training selections.")
    runs = {p.parent.name: p for p in sorted(results_dir.glob("train/*/metrics.json"))}
    if runs:
        emit("training", "Training runs", tables.training_table(runs),
             "Training runs: optimizer steps, examples, share of examples cut by the block size, wall-clock "
             "minutes, GPU-hours (GPU runs), devices and the final training loss.")
    return built


def _figures(evals: pd.DataFrame, results_dir: Path, out: Path, tiny: bool) -> list[tuple[str, str]]:
    """Write the figures; returns (relative png path, caption) for the report."""
    built = [("figures/scaling.png", figures.scaling_figure(evals, out / "figures" / "scaling"))]
    for comp in sorted(results_dir.glob("select/*/composition.csv")):
        selection = comp.parent.name
        stem = out / "figures" / f"composition-{selection}"
        built.append((f"figures/{stem.name}.png", figures.composition_figure(comp, stem, selection, tiny=tiny)))
    for dataset in sorted(results_dir.glob("select/*/dataset.parquet")):
        selection = dataset.parent.name
        stem = out / "figures" / f"thinking-lengths-{selection}"
        built.append((f"figures/{stem.name}.png", figures.thinking_length_figure(dataset, stem, selection, tiny=tiny)))
    return built


INLINE_WIDTH = 1100  # px of an inlined figure: the report shows figures at most ~1200 px wide


def data_uri(png: Path) -> str:
    """A PNG as a ``data:`` URI, scaled down to INLINE_WIDTH and 64 colours: the 300 dpi files would make
    the page too big for ``snakemake --report``, which shows it from a data URI (Chromium caps URLs at
    2 MB). Pillow comes with matplotlib."""
    with Image.open(png) as im:
        small = im.convert("RGB")
        if small.width > INLINE_WIDTH:
            small = small.resize((INLINE_WIDTH, round(small.height * INLINE_WIDTH / small.width)), Image.LANCZOS)
        buf = io.BytesIO()
        small.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def run_meta(results_dir: Path, evals: pd.DataFrame, config_hash: str = "") -> dict[str, str]:
    """The header of the report: code, config, packages, when and where the results were made.

    Read from the results' provenance records (the newest evaluation's end and host), so that
    rebuilding the report from the same results gives the same bytes."""
    code = code_version()
    sha = (code.get("git_sha") or "not a git checkout")[:12] + (" (uncommitted changes)" if code.get("dirty") else "")
    pkgs = package_versions()
    when, host = "", ""
    if not evals.empty:  # the newest evaluation's record only
        path = sorted(evals["path"], key=lambda p: Path(p).stat().st_mtime)[-1]
        try:
            rec = load_record(path) or {}
        except (OSError, ValueError):
            rec = {}
        when = str(rec.get("ended") or dt.datetime.fromtimestamp(Path(path).stat().st_mtime, dt.timezone.utc)
                   .strftime("%Y-%m-%dT%H:%M:%SZ"))
        host = str(rec.get("host") or "")
    return {
        "results": str(results_dir), "git SHA": sha, "config sha256": config_hash[:16],
        # the stack that makes the numbers (provenance records keep every package)
        "packages": ", ".join(f"{k} {pkgs[k]}" for k in ("s1kit", "torch", "transformers", "lm_eval", "vllm",
                                                        "snakemake") if pkgs.get(k)),
        "evaluated": when, "host": host or socket.gethostname(),
    }


def run(results_dir: Path, out_dir: Path, eval_paths: list[Path] | None = None, claims_path: Path | None = None,
        mode: str = "auto", tiny_results_dir: Path | None = None, strict: bool = False,
        review_config: Path | None = Path(REVIEW_CONFIG), config_hash: str = "",
        paper_config: Path = Path(PAPER_CONFIG)) -> pd.DataFrame:
    """Build everything; returns the claims frame."""
    claims = load_claims(claims_path)
    mode = detect_mode(results_dir) if mode == "auto" else mode
    evals = load_eval_results(find_eval_results(results_dir) if eval_paths is None else eval_paths)
    built_tables = _tables(evals, results_dir, out_dir)
    built_figures = _figures(evals, results_dir, out_dir, tiny=mode == "tiny")
    # Tables first: Table 3 claims read the scaling_methods.csv written above.
    here = report.Sources(results_dir, out_dir)
    if mode == "tiny":
        own, tiny = None, here
        header = f"results in {results_dir}/"
    else:
        own = here
        tiny = report.Sources(tiny_results_dir, tiny_results_dir / "paper") if tiny_results_dir else None
        header = f"Results: {results_dir} (paper-scale run)" + (
            f"; tiny values from {tiny_results_dir}." if tiny_results_dir else ".")
    reviewable = review_claim_ids(review_config) if review_config else set()
    frame = report.claims_frame(claims, own, tiny, strict=strict, reviewable=reviewable,
                                eval_rules=eval_rules(paper_config))
    report.write_claims(frame, out_dir / "claims.csv")
    page = out_dir / "report.html"
    if mode == "tiny":
        verdict = tiny_verdict(evals, frame, str(page), load_typical())
        table = typical_table(evals)
        write_text(out_dir / "typical_run.md", typical_markdown(table) if table else "no tiny-s1 budget runs\n")
    else:
        verdict = paper_verdict(frame, str(page))
    write_text(out_dir / "verdict.txt", verdict.text())
    meta = run_meta(results_dir, evals, config_hash)
    md_sections = [(t, md) for t, md, _ in built_tables]
    md_sections += [("Figures", "\n\n".join(f"![{c}]({src})\n\n{c}" for src, c in built_figures))]
    provenance = report.provenance_map(frame, tiny if mode == "tiny" else own, "tiny_target" if mode == "tiny" else "target")
    report.write_report(
        report.report_markdown(frame, header, md_sections, tiny=mode == "tiny", verdict=verdict.text(), meta=meta),
        # figures inlined: the page stays whole when copied, mailed or shown by `snakemake --report`
        report.report_html(frame, header, [(Path(src).stem, data_uri(out_dir / src), c) for src, c in built_figures],
                           [(t, h) for t, _, h in built_tables],
                           tiny=mode == "tiny", provenance=provenance, verdict=verdict.text(), verdict_ok=verdict.ok,
                           meta=meta),
        out_dir,
    )
    return frame


def main(args: argparse.Namespace) -> int:
    """Entry point of ``s1kit paper``; returns the exit status."""
    out_dir = args.out_dir or args.results_dir / "paper"
    try:
        frame = run(args.results_dir, out_dir, args.eval_results, args.claims, args.mode,
                    args.tiny_results_dir, args.strict, args.review_config, args.config_hash, args.paper_config)
    except (InputError, ClaimError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{n} {s}" for s, n in report.status_counts(frame).items())
    print(f"paper: {len(frame)} claims ({counts}); wrote {out_dir}/claims.csv, report.md, report.html")
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="s1kit paper", description=__doc__.splitlines()[0])
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
