"""What does the paper's featurization cost in API dollars, with and without prompt caching?

Estimates (no call is made) the full s1 featurization of 59,029 questions as the paper ran
it: Claude 3.5 Sonnet grading the teacher's attempt and the Qwen2.5-7B/32B-Instruct
attempts with the official grading prompt (3 x 59,029 = 177,087 calls when every question
has a solution) and classifying every question into an MSC domain with the official rubric
(59,029 calls); the teacher (Gemini 2.0 Flash Thinking, experimental, free) is listed at $0.

Prompts are built by the same code as the jobs (s1kit.features.grading / domains) from the
official files; question and solution lengths are measured on a sample (default: MATH500,
../shared/data/math500/test.jsonl, a proxy for the 59K pool) and scaled to 59,029;
attempt and output lengths are the assumptions below. Tokens = chars/4.

Three layouts of the MSC classifier are compared: the rubric in the system prompt with
prompt caching (the kit's default), the same without caching, and the official layout
(rubric after the question: nothing to cache). The grading prompt (about 200 tokens) is
below Anthropic's 1,024-token cache minimum, so caching never changes the grading cost.

    .venv/bin/python benchmarks/bench_llm_cost.py
    .venv/bin/python benchmarks/bench_llm_cost.py --sample-jsonl my59k.jsonl --question-field question
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

from s1kit.features.cost import estimate, format_report
from s1kit.records import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CLAUDE = "claude-3-5-sonnet-20241022"
JUDGE = {"backend": "anthropic", "model": CLAUDE, "params": {"max_tokens": 8192}, "client": {"workers": 16}}
# The paper's featurize settings (what config/s1.yaml sets), plus the cost assumptions.
PAPER = {
    "distill": {"teacher": "gemini", "backend": "gemini", "model": "gemini-2.0-flash-thinking-exp"},
    "featurize": {
        "attempt_models": ["Qwen2.5-7B-Instruct", "Qwen2.5-32B-Instruct"],
        "grader": {"backend": "llm", "llm": JUDGE},
        "domains": {"backend": "llm", "llm": {**JUDGE, "rubric_in": "system"}},
        "cost": {
            "prices": {CLAUDE: {"input": 3.0, "output": 15.0, "cached_input": 0.30, "cache_write": 3.75}},
            "min_cacheable_tokens": 1024,
            "assumptions": {"teacher_output_tokens": 3000, "teacher_attempt_tokens": 400, "attempt_tokens": 1000,
                            "grader_output_tokens": 300, "classifier_output_tokens": 200},
        },
    },
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=59029)
    ap.add_argument("--sample-jsonl", default=str(SHARED / "math500" / "test.jsonl"))
    ap.add_argument("--question-field", default="problem")
    ap.add_argument("--solution-field", default="solution")
    ap.add_argument("--official-dir", default=str(SHARED / "s1-official"))
    ap.add_argument("--out", help="write the three reports as JSON here")
    a = ap.parse_args(argv)
    official = Path(a.official_dir)
    if not (official / "grading.txt").exists() or not Path(a.sample_jsonl).exists():
        print(f"needs {official}/grading.txt, msc.json and {a.sample_jsonl}", file=sys.stderr)
        return 2
    sample = [{"question": r[a.question_field], "solution": r.get(a.solution_field)}
              for r in read_jsonl(a.sample_jsonl)]
    prompt = (official / "grading.txt").read_text(encoding="utf-8")
    reports = {}
    for name, rubric_in, caching in [("rubric in system, cached", "system", True),
                                     ("rubric in system, no caching", "system", False),
                                     ("official layout (rubric after the question)", "user", False)]:
        cfg = copy.deepcopy(PAPER)
        cfg["featurize"]["domains"]["llm"]["rubric_in"] = rubric_in
        rep = estimate(cfg, sample, a.questions, grading_prompt=prompt, rubric_path=official / "msc.json")
        rep["usd"] = rep["usd_cache"] if caching else rep["usd_no_cache"]
        reports[name] = rep
    first = next(iter(reports.values()))
    print(format_report(first))
    print(f"\nsample: {len(sample)} rows of {a.sample_jsonl}; assumptions: {json.dumps(first['assumptions'])}\n")
    print(f"{'MSC classifier layout':<46} {'grading $':>10} {'domains $':>10} {'total $':>10}")
    for name, rep in reports.items():
        key = "usd_cache" if "cached" in name else "usd_no_cache"
        grading = sum(g[key] for g in rep["groups"] if g["stage"].startswith("grade"))
        domains = sum(g[key] for g in rep["groups"] if g["stage"] == "domains msc")
        print(f"{name:<46} {grading:>10.0f} {domains:>10.0f} {rep['usd']:>10.0f}")
    if a.out:
        Path(a.out).write_text(json.dumps(reports, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
