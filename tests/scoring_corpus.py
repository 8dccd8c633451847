"""A corpus of model responses for scoring conformance (tests/test_evaluate_scoring_fork.py).

Each item: class, task kind (aime, math, gpqa), the response text, the gold answer and
``truth``, the verdict a careful human grader gives (the response's final answer, in its
answer section, equals the gold). Targets are real MATH500 and AIME24 items from
../shared/data; GPQA golds cycle through A-D (the letter is all GPQA scoring reads).
Responses are written in the shapes the fork's budget forcing and plain generation return
(``<|im_start|>think ... <|im_start|>answer\\n ...``; eval/lm-evaluation-harness/lm_eval/
models/vllm_causallms.py:412 (thinking_end)).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

THINK = "<|im_start|>think\nLet me work through this carefully.\n"
ANS = "<|im_start|>answer\n"


@dataclass(frozen=True)
class Item:
    cls: str
    kind: str  # aime | math | gpqa
    response: str
    gold: str
    truth: bool


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _frac(gold: str) -> tuple[str, str] | None:
    m = re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", gold)
    return (m.group(1), m.group(2)) if m else None


def math_items(math500: list[dict], aime24: list[dict]) -> list[Item]:
    golds = [("math", str(r["answer"])) for r in math500]
    ints = [g for _, g in golds if re.fullmatch(r"-?\d+", g)]
    fracs = [g for _, g in golds if _frac(g)]
    aime = [("aime", str(r["answer"])) for r in aime24]
    padded = [g for _, g in aime if g.startswith("0")]
    some = golds[::12] + aime[::3]  # 42 MATH500 golds (every kind of answer) and 10 AIME24
    items: list[Item] = []

    def add(cls, kind, response, gold, truth=True):
        items.append(Item(cls, kind, response, gold, truth))

    for kind, g in some:
        add("boxed", kind, f"{THINK}{ANS}Therefore the answer is $\\boxed{{{g}}}$.", g)
        add("final_answer_forced", kind, f"{THINK}\n{ANS}Final Answer: {g}", g)
        add("answer_colon", kind, f"{THINK}{ANS}Answer: {g}", g)
        add("answer_any_case", kind, f"{THINK}{ANS}ANSWER : {g}", g)
        add("trailing_text", kind, f"{THINK}{ANS}Answer: {g}\n\nThis follows from the computation above.", g)
        add("trailing_newline", kind, f"{THINK}{ANS}Answer: {g}\n", g)
        add("several_answer_lines", kind, f"{THINK}{ANS}Answer: 1000001\nOn reflection that is wrong.\nAnswer: {g}", g)
        add("answer_in_thinking_and_section", kind, f"{THINK}Answer: 1000001 maybe\n{ANS}Answer: {g}", g)
        add("plain_no_markers", kind, f"We compute step by step. The final answer is $\\boxed{{{g}}}$.", g)
        cut = f"{THINK}So the answer should be \\boxed{{{g}}}. Let me double check"
        add("missing_answer_section", kind, cut, g, False)
        add("truncated_answer", kind, f"{THINK}{ANS}The answer is $\\boxed{{{g}", g, False)
    for g in ints[:40]:
        add("boxed_no_braces", "math", f"{THINK}{ANS}So $\\boxed {g}$.", g)
        add("wrong_answer", "math", f"{THINK}{ANS}Answer: {int(g) + 1}", g, False)
        add("equivalent_decimal", "math", f"{THINK}{ANS}Answer: {g}.0", g)
    for g in padded + [g for _, g in aime if not g.startswith("0")][:6]:
        add("zero_padding", "aime", f"{THINK}{ANS}Answer: {int(g)}", g)  # gold 023, answer 23
        add("zero_padding", "aime", f"{THINK}{ANS}Answer: {int(g):03d}", str(int(g)))  # answer 023, gold 23
    for g in fracs[:30]:
        a, b = _frac(g)
        add("latex_fraction_forms", "math", f"{THINK}{ANS}Answer: $\\dfrac{{{a}}}{{{b}}}$", g)
        add("latex_fraction_forms", "math", f"{THINK}{ANS}Answer: {a}/{b}", g)
        add("latex_fraction_forms", "math", f"{THINK}{ANS}Answer: \\frac{a}{b}" if len(a) == len(b) == 1 else
            f"{THINK}{ANS}Answer: \\tfrac{{{a}}}{{{b}}}", g)
    return items


GPQA_FORMS = {
    # class: (the answer section, with @ for the stated letter and @l for it in lower case;
    # truth when that letter is the gold)
    "gpqa_answer_letter": (ANS + "Answer: @", True),
    "gpqa_boxed": (ANS + "The answer is $\\boxed{@}$", True),
    "gpqa_lowercase": (ANS + "Answer: @l", True),
    "gpqa_parenthesised": (ANS + "Answer: (@)", True),
    "gpqa_boxed_text": (ANS + "$\\boxed{\\text{@}}$", True),
    "gpqa_letter_and_content": (ANS + "Answer: @) the second option, 4.2 m", True),
    "gpqa_bold": (ANS + "**Answer: @**", True),
    "gpqa_sentence_then_article": (ANS + "The answer is @. A careful check confirms it.", True),
    "gpqa_only_letter_line": (ANS + "@", True),
    "gpqa_final_answer_forced": ("\n" + ANS + "Final Answer: @", True),
    "gpqa_option_word": (ANS + "The correct option is @.", True),
    "gpqa_letter_first_then_text": (ANS + "(@) 4.2 m is the answer.", True),
    "gpqa_missing_letter": (ANS + "I cannot decide between the options.", False),
    "gpqa_missing_answer_section": ("The answer is \\boxed{@} but let me verify", False),
    "gpqa_truncated": (ANS + "The answer is $\\boxed{", False),
}


def gpqa_items(per_class: int = 12) -> list[Item]:
    items = []
    for cls, (form, truth) in GPQA_FORMS.items():
        for i in range(per_class):
            gold = "ABCD"[i % 4]
            text = THINK + form.replace("@l", gold.lower()).replace("@", gold)
            items.append(Item(cls, "gpqa", text, gold, truth))
    for i in range(per_class):  # a clearly stated wrong letter
        gold, said = "ABCD"[i % 4], "ABCD"[(i + 1) % 4]
        items.append(Item("gpqa_wrong_letter", "gpqa", f"{THINK}{ANS}Answer: {said}", gold, False))
    return items


def corpus(data_dir: Path) -> list[Item]:
    math500 = _rows(data_dir / "math500" / "test.jsonl")
    aime24 = _rows(data_dir / "aime24" / "aime24_nofigures.jsonl")
    return math_items(math500, aime24) + gpqa_items()
