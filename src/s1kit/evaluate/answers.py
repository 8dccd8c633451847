"""Answer extraction and equivalence, with math_verify instead of an LLM judge.

``extract_answer`` takes the part after the last answer delimiter ("<|im_start|>answer",
or "<|im_start|> answer" as a word-level tokenizer decodes it), then the last
``\\boxed{...}`` in it, else the text after the last "Answer:" (up to a blank line), else
the whole part. ``is_equiv`` compares with the gold answer: multiple-choice letters A-D by
letter; everything else by math_verify (gold wrapped in ``$...$``), after an exact string
check. The official evaluation asked gpt-4o-mini at temperature 0.5
(eval/lm-evaluation-harness/lm_eval/tasks/aime/utils.py:146 (temperature)).

On the reference data (tests/test_evaluate_answers.py) every gold answer, given back as
"Answer: {gold}" or "\\boxed{gold}", is judged correct (MATH500 500/500, AIME24 30/30);
gold answers shuffled across problems score about 1% on MATH500 (repeated values such as
"2" and "\\frac{1}{2}" really are equal) and 0% on AIME24.
"""

from __future__ import annotations

import re

ANSWER_DELIMITERS = ("<|im_start|>answer", "<|im_start|> answer")
_SPECIAL = re.compile(r"<\|[^|>]*\|>")
_LETTER = re.compile(r"^\(?([A-Da-d])\)?(?:[.:)\s]|$)")
_LAST_LETTER = re.compile(r"(?<![A-Za-z\\])([A-D])(?![A-Za-z])")
_DOLLAR = re.compile(r"(?<!\\)\$")  # a math delimiter, not an escaped currency sign
_TEXT_WRAP = re.compile(r"\\text(?:bf)?\{([^{}]*)\}")


def answer_part(text: str) -> str:
    """The text after the last answer delimiter (all of it if there is none)."""
    cut = max((text.rfind(d) + len(d) for d in ANSWER_DELIMITERS if d in text), default=0)
    return text[cut:]


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None  # unbalanced: the answer was cut off


def _clean(answer: str) -> str:
    # The answer ends at the next special token (<|im_end|>, a new turn).
    pieces = [p.strip() for p in _SPECIAL.split(answer)]
    answer = next((p for p in pieces if p), "")
    answer = answer.lstrip("*: ").strip()  # "**Answer:** 42" leaves "** 42"
    return answer.rstrip(".").strip()


def extract_answer(text: str) -> str:
    """The model's final answer as a string ("" when there is nothing to take)."""
    part = answer_part(text)
    boxed = last_boxed(part)
    if boxed is not None:
        return _clean(boxed)
    if "Answer:" in part:
        after = part[part.rfind("Answer:") + len("Answer:") :]
        return _clean(after.strip().split("\n\n")[0])
    return _clean(part)


def normalize_gold(gold: str) -> str:
    """AIME golds are zero-padded ("023"); compare them as integers, as the fork did."""
    gold = str(gold).strip()
    return str(int(gold)) if gold.isdigit() else gold


def choice_letter(answer: str) -> str | None:
    """A-D from "C", "(C)", "C.", "\\text{C}", "The answer is C" (the last lone capital)."""
    s = _TEXT_WRAP.sub(r"\1", answer).replace("$", "").strip()
    m = _LETTER.match(s)
    if m:
        return m.group(1).upper()
    hits = _LAST_LETTER.findall(s)
    return hits[-1] if hits else None


def _strip_dollars(s: str) -> str:
    s = s.strip()
    while len(s) >= 2 and s.startswith("$") and s.endswith("$"):
        s = s[1:-1].strip()
    return s


def _math_equal(pred: str, gold: str) -> bool:
    from math_verify import parse, verify

    gold_parsed = parse(f"${gold}$")
    if not gold_parsed:
        return False
    # As LaTeX math first: a bare parse takes the last number ("y = 2x + 3" -> 3). The bare
    # string only when that finds nothing (prose around the answer, "$" already inside).
    parsed = parse(pred if _DOLLAR.search(pred) else f"${pred}$") or parse(pred)
    return bool(parsed) and verify(gold_parsed, parsed)


def is_equiv(pred: str, gold: str) -> bool:
    """Whether the extracted prediction equals the gold answer."""
    gold = normalize_gold(gold)
    pred = pred.strip()
    if not pred:
        return False
    if re.fullmatch(r"\(?[A-D]\)?", gold):
        return choice_letter(pred) == gold.strip("()")
    if _strip_dollars(pred).replace(" ", "") == _strip_dollars(gold).replace(" ", ""):
        return True
    return _math_equal(pred, gold)


def score(response: str, gold: str) -> tuple[str, bool]:
    """Extract the answer from a full response and judge it: (extracted, correct)."""
    extracted = extract_answer(response)
    return extracted, is_equiv(extracted, gold)
