"""`s1kit review-grade`: re-grade the published evaluation samples (lm-eval 0.4 output of
``simplescaling/results``) with s1kit.evaluate.answers, and compare with the stored
exact_match and the paper's claims (docs/review.md)."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1kit.evaluate.answers import answer_part, score
from s1kit.paper.claims import load_claims
from s1kit.records import atomic_write_text, write_csv
from s1kit.review.inputs import make_counter

ANSWER_DELIMITER = "<|im_start|>answer"
THINK_START = "<|im_start|>think"
# lm-eval task -> the claim column of the paper tables (claims.yaml ids end in it).
TASK_CLAIMS = {"aime24_nofigures": "aime24", "aime25_nofigures": "aime25", "openai_math": "math500",
               "gpqa_diamond_openai": "gpqa"}
GRADE_COLUMNS = [
    "run", "model", "task", "n", "responses_per_doc", "published_accuracy", "published_samples_accuracy",
    "regraded_accuracy", "delta_published", "sample_agreement", "disagreements", "kit_only_correct",
    "published_only_correct", "avg_thinking", "thinking_unit", "thinking_delimited", "claim", "paper_value",
    "delta_paper", "tolerance", "status_published", "status_paper",
]
DISAGREEMENT_COLUMNS = ["run", "task", "doc_id", "gold", "published_extracted", "published_correct",
                        "kit_extracted", "kit_correct", "answer_tail"]


@dataclass(frozen=True)
class PublishedRun:
    """One lm-eval output: results_<stamp>.json and its samples_<task>_<stamp>.jsonl files."""

    name: str  # folder relative to the snapshot root, e.g. "forcing500/qfq__1k_qr_bt_dm_po"
    results: Path
    samples: dict[str, Path]  # task -> samples file

    @property
    def group(self) -> str:
        """The top folder: the official --output_path (the experiment), e.g. "forcing500"."""
        return self.name.split("/", 1)[0]


def find_runs(root: str | Path) -> list[PublishedRun]:
    """Every results_<stamp>.json under root with the samples files of the same stamp."""
    root = Path(root)
    runs = []
    for res in sorted(root.rglob("results_*.json")):
        stamp = res.name[len("results_"):-len(".json")]
        samples = {}
        for s in sorted(res.parent.glob(f"samples_*_{stamp}.jsonl")):
            task = s.name[len("samples_"):-len(f"_{stamp}.jsonl")]
            if task:
                samples[task] = s
        rel = res.parent.relative_to(root).as_posix()
        runs.append(PublishedRun("." if rel == "." else rel, res, samples))
    if not runs:
        raise ValueError(f"{root}: no lm-eval results_*.json found (is this the simplescaling/results snapshot?)")
    return runs


def read_results(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read lm-eval results ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ValueError(f"{path}: not an lm-eval results file (no 'results' mapping)")
    return data


def published_accuracy(results: Mapping[str, Any], task: str) -> float | None:
    """The stored exact_match of a task (lm-eval's "exact_match,<filter>" key), as a fraction."""
    entry = results["results"].get(task) or {}
    for key, value in entry.items():
        if key.split(",")[0] == "exact_match" and isinstance(value, (int, float)):
            return float(value)
    return None


def model_name(results: Mapping[str, Any]) -> str:
    """The model of a results file: model_name, else pretrained= of config.model_args."""
    if results.get("model_name"):
        return str(results["model_name"])
    args = str((results.get("config") or {}).get("model_args") or "")
    m = re.search(r"pretrained=([^,]+)", args)
    return m.group(1) if m else ""


def read_samples(path: str | Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not JSON ({e.msg})") from None
            if not isinstance(rec, dict) or "doc_id" not in rec:
                raise ValueError(f"{path}:{n}: not an lm-eval sample record (no doc_id)")
            out.append(rec)
    if not out:
        raise ValueError(f"{path}: no sample records")
    return out


def responses(rec: Mapping[str, Any], where: str) -> list[str]:
    """The generations of one sample record.

    lm-eval 0.4 logs ``resps`` as one list per request ([[text]]; [[t1, ..., tk]] with k
    repeats) and ``filtered_resps`` as one entry per request ([text] or [[t1, ..., tk]]).
    """
    for key in ("resps", "filtered_resps"):
        value = rec.get(key)
        if isinstance(value, list) and value:
            first = value[0]
            texts = first if isinstance(first, list) else [first]
            if texts and all(isinstance(t, str) for t in texts):
                return texts
    raise ValueError(f"{where}: no text in resps or filtered_resps")


def gold(rec: Mapping[str, Any], where: str) -> str:
    """The gold answer: lm-eval's logged ``target``, else doc["answer"]. For GPQA this is the
    letter in the published run's own choice order, which the fork's code does not pin
    (docs/fidelity.md, "GPQA choice order"): the order is read from the samples, never
    recomputed."""
    target = rec.get("target")
    if target is None or target == "":
        target = (rec.get("doc") or {}).get("answer")
    if target is None or str(target).strip() == "":
        raise ValueError(f"{where}: no gold answer (target or doc.answer)")
    return str(target)


def split_thinking(text: str) -> tuple[str, bool]:
    """(thinking, delimited): the text before the first answer delimiter, without a leading
    think delimiter. Without a delimiter (a plain, non-thinking run) the whole response."""
    cut = text.find(ANSWER_DELIMITER)
    thinking = text if cut < 0 else text[:cut]
    thinking = thinking.removeprefix(THINK_START).lstrip("\n")
    return thinking, cut >= 0



def grade_samples(records: Iterable[Mapping[str, Any]], count: Callable[[str], int],
                  where: str) -> list[dict[str, Any]]:
    """One row per record: the kit's verdict on the first response (exact_match's) and the stored one."""
    rows = []
    for rec in records:
        here = f"{where} doc {rec.get('doc_id')}"
        texts = responses(rec, here)
        target = gold(rec, here)
        extracted, correct = score(texts[0], target)
        thinking, delimited = split_thinking(texts[0])
        stored = rec.get("exact_match")
        published_extracted = rec.get("extracted_answers")
        if isinstance(published_extracted, list):
            published_extracted = published_extracted[0] if published_extracted else None
        rows.append({
            "doc_id": rec["doc_id"], "gold": target, "responses": len(texts),
            "kit_extracted": extracted, "kit_correct": bool(correct),
            "published_correct": None if stored is None else bool(stored),
            "published_extracted": None if published_extracted is None else str(published_extracted),
            "thinking": count(thinking), "delimited": delimited,
            "answer_tail": answer_part(texts[0])[-200:],
        })
    return rows


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 2)


def _claim_lookup(claims_path: str | Path | None) -> dict[str, Any]:
    return {c.id: c for c in load_claims(claims_path)}


def summarize(run: PublishedRun, task: str, rows: list[dict[str, Any]], stored: float | None, model: str,
              unit: str, claim: Any = None) -> dict[str, Any]:
    """The report row of one run x task."""
    n = len(rows)
    kit = sum(r["kit_correct"] for r in rows)
    with_stored = [r for r in rows if r["published_correct"] is not None]
    pub_n = sum(r["published_correct"] for r in with_stored)
    agree = sum(r["kit_correct"] == r["published_correct"] for r in with_stored)
    regraded = kit / n
    reference = stored if stored is not None else (pub_n / len(with_stored) if with_stored else None)
    delta = None if reference is None else round(100 * (regraded - reference), 2)
    one_question = 100 / n  # a disagreement of one question is not a discrepancy of the grader
    row = {
        "run": run.name, "model": model, "task": task, "n": n,
        "responses_per_doc": max(r["responses"] for r in rows),
        "published_accuracy": _pct(stored),
        "published_samples_accuracy": _pct(pub_n / len(with_stored)) if with_stored else None,
        "regraded_accuracy": _pct(regraded), "delta_published": delta,
        "sample_agreement": _pct(agree / len(with_stored)) if with_stored else None,
        "disagreements": len(with_stored) - agree if with_stored else None,
        "kit_only_correct": sum(r["kit_correct"] and not r["published_correct"] for r in with_stored),
        "published_only_correct": sum(r["published_correct"] and not r["kit_correct"] for r in with_stored),
        "avg_thinking": round(sum(r["thinking"] for r in rows) / n, 1), "thinking_unit": unit,
        "thinking_delimited": _pct(sum(r["delimited"] for r in rows) / n),
        "claim": "", "paper_value": None, "delta_paper": None, "tolerance": None,
        "status_published": "no stored metric" if delta is None else
        ("agree" if abs(delta) <= one_question + 1e-9 else "differ"),
        "status_paper": "no claim",
    }
    if claim is not None:
        paper = min(claim.versions.values(), key=lambda v: abs(v - 100 * regraded))  # the closest version
        dp = round(100 * regraded, claim.decimals) - paper
        row.update(claim=claim.id, paper_value=paper, delta_paper=round(dp, 2), tolerance=claim.allowed(paper),
                   status_paper="match" if abs(dp) < 1e-9 else
                   ("within tolerance" if abs(dp) <= claim.allowed(paper) + 1e-9 else "off"))
    return row


def select_runs(runs: list[PublishedRun], include: list[str]) -> list[PublishedRun]:
    """Runs whose folder (or top folder) matches one of the fnmatch patterns."""
    return [r for r in runs if any(fnmatch.fnmatch(r.name, p) or fnmatch.fnmatch(r.group, p) for p in include)]


def grade_runs(root: str | Path, tasks: list[str], count: Callable[[str], int], unit: str,
               claims: Mapping[str, str | None] | None = None, include: list[str] | None = None,
               claims_path: str | Path | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Report rows (one per run x task) and disagreement rows for the snapshot under root.

    claims maps a run's top folder to a claim prefix ("nottc": "table1.s1-32B-noBF"); the
    claim of a task is <prefix>.<TASK_CLAIMS[task]> when the registry holds it.
    """
    claims = dict(claims or {})
    known = _claim_lookup(claims_path) if any(claims.values()) else {}
    runs = select_runs(find_runs(root), include if include is not None else ["*"])
    if not runs:
        raise ValueError(f"{root}: no published run matches review.grade.include {include}")
    report, disagreements = [], []
    for run in runs:
        results = read_results(run.results)
        model = model_name(results)
        for task in tasks:
            if task not in run.samples:
                continue
            rows = grade_samples(read_samples(run.samples[task]), count, f"{run.samples[task]}")
            prefix = claims.get(run.group)
            claim = known.get(f"{prefix}.{TASK_CLAIMS.get(task, task)}") if prefix else None
            report.append(summarize(run, task, rows, published_accuracy(results, task), model, unit, claim))
            disagreements += [{"run": run.name, "task": task, **{k: r[k] for k in DISAGREEMENT_COLUMNS[2:]}}
                              for r in rows if r["published_correct"] is not None
                              and r["kit_correct"] != r["published_correct"]]
    if not report:
        raise ValueError(f"{root}: the selected runs have no samples for the tasks {tasks}")
    return report, disagreements


def _md_value(v: Any) -> str:
    return "" if v is None else str(v).replace("|", "\\|")


def grade_markdown(report: list[dict[str, Any]], disagreements: list[dict[str, Any]], unit: str) -> str:
    cols = ["run", "task", "n", "published_accuracy", "regraded_accuracy", "delta_published", "sample_agreement",
            "disagreements", "avg_thinking", "claim", "paper_value", "status_published", "status_paper"]
    lines = [
        "# Review: the published evaluation samples, re-graded",
        "",
        "Accuracies in %. `published_accuracy`: the stored exact_match of results_*.json (graded by the fork "
        "with gpt-4o-mini); `regraded_accuracy`: s1kit.evaluate.answers (math-verify) on the first response "
        "of every sample against its logged target. `status_published` is `agree` when the two differ by at "
        "most one question. `status_paper` compares the regraded accuracy with the paper's claim "
        "(src/s1kit/paper/claims.yaml) within the claim's tolerance.",
        "",
        f"Thinking length (`avg_thinking`) is in **{unit}**, counted on the text before the first "
        "`<|im_start|>answer` of the first response.",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    lines += ["| " + " | ".join(_md_value(r[c]) for c in cols) + " |" for r in report]
    lines += ["", f"{len(disagreements)} sample(s) graded differently: disagreements.csv lists each "
              "(run, task, doc_id, gold, both extractions)."]
    return "\n".join(lines) + "\n"


def run_grade(results_dir: str | Path, out_dir: str | Path, tasks: list[str], thinking_count: str = "words",
              tokenizer_dir: str | Path | None = None, claims: Mapping[str, str | None] | None = None,
              include: list[str] | None = None, claims_path: str | Path | None = None) -> dict[str, Any]:
    """`s1kit review-grade`: grade.csv, disagreements.csv and grade.md under out_dir."""
    count, unit = make_counter(thinking_count, tokenizer_dir)
    report, disagreements = grade_runs(results_dir, tasks, count, unit, claims, include, claims_path)
    out = Path(out_dir)
    write_csv(out / "grade.csv", report, GRADE_COLUMNS)
    write_csv(out / "disagreements.csv", disagreements, DISAGREEMENT_COLUMNS)
    atomic_write_text(out / "grade.md", grade_markdown(report, disagreements, unit))
    return {"runs_x_tasks": len(report), "disagreements": len(disagreements), "thinking_unit": unit,
            "agree": sum(r["status_published"] == "agree" for r in report)}
