"""A synthetic featurized pool for the selection's conformance tests (tests/test_select_notebook.py),
and the figures of docs/fidelity.md's selection rows.

6,000 questions over 56 domains (Zipf sizes: a few domains hold a handful of hard questions
and run dry), thinking lengths on a 100-token grid (many ties in every domain), AIME / GPQA
/ MATH source types that preselect a few hundred, AIME and GPQA concentrated on a few
domains (two of them small, so benchmark domains run dry after uniform_until), missing
features (the teacher grade alone among them), and every format case in which the official
notebook's filters and the kit's regexes disagree, labelled in ``case``.

Figures (PYTHONHASHSEED fixes the notebook's set-ordered domain list):

    PYTHONHASHSEED=0 .venv/bin/python tests/select_pool.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from s1kit.records import question_hash

ROOT = Path(__file__).resolve().parents[1]
N_DOMAINS = 56
AIME = "qq8933/AIME_1983_2024"
GPQA = "Idavidrein/gpqa"
# case -> text planted in the question. Each is dropped by one filter set and kept by the other
# (the "(kit|nb) drops" note), except the first four, which both drop.
FORMATS = {
    "asy": "[asy] draw((0,0)--(1,1)); [/asy]",
    "image": "![Image](fig.png)",
    "enum": "p1. first part p2. second part",
    "bold": "compute **12x** first",
    "image_lower": "![image](fig.png)",             # kit drops (case-insensitive), notebook keeps
    "enum_in_word": "see step3. of the proof",      # notebook drops ("p3." occurs), kit keeps (\b)
    "enum_zero": "part p01. first",                 # kit drops (\d{1,3}), notebook keeps (no "p1.")
    "asy_plus_enum": "[asy] x; [/asy] then p1. more",  # on AIME: notebook keeps (asy exemption), kit drops
    "bold_plain": "a **bold** word",                # both keep
}


def synthetic_pool(n: int = 6000, seed: int = 0, attempt_models: tuple[str, str] = ("qwen7b", "qwen32b")
                   ) -> list[dict[str, Any]]:
    """Rows in the kit's featurized schema, plus ``case`` (the planted format case or '')."""
    rng = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, N_DOMAINS + 1) ** 1.1
    names = [f"{i:02d} Domain {i}" for i in range(N_DOMAINS)]
    aime_domains, gpqa_domains = [0, 1, 2, 50, 51], [3, 0, 52, 53]
    rows = []
    for i in range(n):
        u = rng.random()
        if u < 0.07:
            stype, dom = AIME, aime_domains[int(rng.integers(len(aime_domains)))]
        elif u < 0.12:
            stype, dom = GPQA, gpqa_domains[int(rng.integers(len(gpqa_domains)))]
        else:
            stype = str(rng.choice(["qfq/openaimath/Algebra", "qfq/openaimath/Geometry",
                                    "AI-MO/NuminaMath-CoT/aops_forum", "AI-MO/NuminaMath-CoT/olympiads",
                                    "Hothan/OlympiadBench/AIME_style", "aime_lowercase/mirror"],
                                   p=[0.12, 0.08, 0.4, 0.3, 0.05, 0.05]))
            dom = int(rng.choice(N_DOMAINS, p=zipf / zipf.sum()))
        case = str(rng.choice(list(FORMATS))) if rng.random() < 0.12 else ""
        if stype == AIME and rng.random() < 0.3:
            case = "asy_plus_enum" if rng.random() < 0.5 else "asy"
        q = f"Problem {i} ({stype}): find the value. " + (FORMATS[case] if case else "")
        tokens = int(rng.integers(1, 80)) * 100  # 100..7900 on a grid: many ties
        hard = rng.random() < 0.55
        row = {"id": question_hash(q), "question": q, "source": stype.split("/")[0], "source_type": stype,
               "solution": f"answer {i}", "cot_type": "math", "metadata": "{}", "case": case,
               "domain": names[dom], "thinking": "...", "thinking_tokens": tokens,
               "teacher_correct": bool(rng.random() < 0.6),
               f"{attempt_models[0]}_correct": bool(not hard and rng.random() < 0.6),
               f"{attempt_models[1]}_correct": bool(not hard)}
        miss = rng.random()
        if miss < 0.03:
            row["thinking"] = row["thinking_tokens"] = None
        elif miss < 0.05:
            row["domain"] = None
        elif miss < 0.08:
            row["teacher_correct"] = None  # kept by the kit's feature filter, dropped by the notebook's
        elif miss < 0.10:
            row[f"{attempt_models[int(rng.integers(2))]}_correct"] = None
        rows.append(row)
    return rows


def figures(seed: int = 0) -> None:
    """Both semantics on the pool with config/s1.yaml's select section: funnels and overlap."""
    import dataclasses

    import yaml

    from s1kit.select import BenchmarkSource, SelectConfig, select_s1k
    from s1kit.settings import from_dict

    raw = yaml.safe_load((ROOT / "config" / "s1.yaml").read_text())["select"]
    raw = {k: v for k, v in raw.items() if k != "selections"}
    raw["benchmark_sources"] = {k: from_dict(BenchmarkSource, v, k) for k, v in raw["benchmark_sources"].items()}
    nb = from_dict(SelectConfig, {**raw, "attempt_models": ("qwen7b", "qwen32b"), "seed": seed}, "select")
    rows = synthetic_pool()
    out = {}
    for cfg in (nb, dataclasses.replace(nb, semantics="kit")):
        selection, funnel = select_s1k(rows, cfg)
        out[cfg.semantics] = {r["id"] for r in selection}
        print(f"{cfg.semantics}: " + " -> ".join(f"{f['count']:,}" for f in funnel))
    both = out["notebook"] & out["kit"]
    print(f"selections of seed {seed}: {len(both)} ids in common (Jaccard "
          f"{len(both) / len(out['notebook'] | out['kit']):.2f})")


if __name__ == "__main__":
    figures(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
