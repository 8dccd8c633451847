"""Answer extraction and equivalence, with math_verify instead of an LLM judge.

``extract_answer`` takes the response's answer section (:func:`answer_part`), then the last
``\\boxed{...}`` (or ``\\boxed x``) in it, else the text after the last "Answer:" (any case,
spaces before the colon allowed, as the fork's ``ANSWER_PATTERN``; up to a blank line),
else the whole section. ``is_equiv`` compares with the gold answer: multiple-choice letters
A-D by letter (:func:`choice_letter`); everything else by math_verify (gold wrapped in
``$...$``), after an exact string check. The official evaluation asked gpt-4o-mini at
temperature 0.5 (eval/lm-evaluation-harness/lm_eval/tasks/aime/utils.py:146 (temperature)).

Two scorings (``evaluate.scoring``, one switch; docs/fidelity.md "Evaluation"):

- ``kit``: the answer section is what follows the last answer delimiter. A response that
  opens with thinking (``<|im_start|>``) but has no answer delimiter has no answer: a
  ``\\boxed{}`` met while thinking is not credited. A GPQA response with no letter is wrong.
- ``fork``: the fork's choice of section, as in
  eval/lm-evaluation-harness/lm_eval/tasks/aime/utils.py:247 (split_tokens) (the same in
  openai_math and gpqa/openai): after the last ``"<|im_start|>answer\\n"``; else after the
  last ``"<|im_start|>"`` minus its first line; else the whole response, so an answer found
  only in the thinking is credited. A GPQA response with no letter counts as "A"
  (eval/lm-evaluation-harness/lm_eval/tasks/gpqa/openai/utils.py:202 (Default to A)).
  config/s1.yaml uses it: the paper's numbers were scored that way.

On the reference data (tests/test_evaluate_answers.py) every gold answer, given back as
"Answer: {gold}" or "\\boxed{gold}", is judged correct (MATH500 500/500, AIME24 30/30);
gold answers shuffled across problems score about 1% on MATH500 (repeated values such as
"2" and "\\frac{1}{2}" really are equal) and 0% on AIME24. tests/test_evaluate_scoring_fork.py
runs the fork's own process_results beside these on a corpus of 500+ responses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_SCORING = "kit"  # config evaluate.scoring (workflow/schemas/config.schema.yaml)
ANSWER_DELIMITERS = ("<|im_start|>answer", "<|im_start|> answer")
THINK_MARK = "<|im_start|>"  # every thinking start (think, a step count) opens with it
_FORK_ANSWER, _FORK_ANY = "<|im_start|>answer\n", "<|im_start|>"
_SPECIAL = re.compile(r"<\|[^|>]*\|>")
_ANSWER = re.compile(r"answer\s*:", re.IGNORECASE)
_WHOLE_LETTER = re.compile(r"^\(?([A-Da-d])\)?[.:)]?$")
_LEAD_LETTER = re.compile(r"^\(?([A-D])\)?(?:[.:)\s,]|$)")
_STATED = re.compile(r"(?i:answer|option|choice)(?:\s+(?i:is|would be|should be))?\s*[:=]?\s*\(?([A-D])\)?(?![A-Za-z])")
# A lone capital A-D; "A" followed by a lower-case word is the article ("A careful check").
_LONE_LETTER = re.compile(r"(?<![A-Za-z\\])([A-D])(?![A-Za-z])(?<!A(?=\s+[a-z]))")
_DOLLAR = re.compile(r"(?<!\\)\$")  # a math delimiter, not an escaped currency sign
_TEXT_WRAP = re.compile(r"\\(?:text(?:bf)?|mathrm|mathbf)\{([^{}]*)\}")


def _kit_answer_part(text: str) -> str:
    cut = max((text.rfind(d) + len(d) for d in ANSWER_DELIMITERS if d in text), default=0)
    if cut == 0 and text.lstrip().startswith(THINK_MARK):
        return ""  # thinking that never reached an answer
    return text[cut:]


def _fork_answer_part(text: str) -> str:
    if _FORK_ANSWER in text:
        return text.split(_FORK_ANSWER)[-1]
    if _FORK_ANY in text:
        part = text.split(_FORK_ANY)[-1]
        return "\n".join(part.split("\n")[1:]) if "\n" in part else part
    return text


@dataclass(frozen=True)
class Scoring:
    """Where the two scorings differ (see the module docstring)."""

    answer_part: Callable[[str], str]  # response -> its answer section
    missing_letter: str | None  # what a multiple-choice answer without a letter counts as


SCORINGS: dict[str, Scoring] = {
    "kit": Scoring(answer_part=_kit_answer_part, missing_letter=None),
    "fork": Scoring(answer_part=_fork_answer_part, missing_letter="A"),  # the fork's "Default to A"
}


def scoring_of(name: str) -> Scoring:
    """The record of scoring ``name``, or ValueError naming the config key."""
    if name not in SCORINGS:
        raise ValueError(f"evaluate.scoring={name!r}: expected one of {list(SCORINGS)}")
    return SCORINGS[name]


def answer_part(text: str, scoring: str = DEFAULT_SCORING) -> str:
    """The response's answer section ("" when it has none; see the module docstring)."""
    return scoring_of(scoring).answer_part(text)


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced;
    ``\\boxed x`` (no braces) gives the text up to the next ``$`` or line end."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    head = text[start:].removeprefix("\\boxed").removeprefix("\\fbox")
    if head.startswith(" "):
        return re.split(r"[$\n]", head.strip(), maxsplit=1)[0].strip() or None
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


def extract_answer(text: str, scoring: str = DEFAULT_SCORING) -> str:
    """The model's final answer as a string ("" when there is nothing to take)."""
    return _extract(text, scoring_of(scoring))


def _extract(text: str, scoring: Scoring) -> str:
    part = scoring.answer_part(text)
    boxed = last_boxed(part)
    if boxed is not None:
        return _clean(boxed)
    if "\\boxed" in part or "\\fbox" in part:
        return ""  # the boxed answer was cut off (the response ran out of tokens)
    hits = list(_ANSWER.finditer(part))
    if hits:
        return _clean(part[hits[-1].end() :].strip().split("\n\n")[0])
    return _clean(part)


def normalize_gold(gold: str) -> str:
    """AIME golds are zero-padded ("023"); compare them as integers, as the fork did."""
    gold = str(gold).strip()
    return str(int(gold)) if gold.isdigit() else gold


def choice_letter(answer: str) -> str | None:
    """A-D from "C", "(C)", "c", "C.", "\\text{C}", "**C**", "The answer is C. A careful check
    ..." (a stated answer first; then a leading letter; then the last lone capital that is
    not the article "A")."""
    s = _TEXT_WRAP.sub(r"\1", answer).replace("$", "").replace("*", "").strip()
    if m := _WHOLE_LETTER.match(s):
        return m.group(1).upper()
    if stated := _STATED.findall(s):
        return stated[-1]
    if m := _LEAD_LETTER.match(s):
        if not (m.group(1) == "A" and re.match(r"A\s+[a-z]", s)):
            return m.group(1)
    hits = _LONE_LETTER.findall(s)
    return hits[-1] if hits else None


def _strip_dollars(s: str) -> str:
    s = s.strip()
    while len(s) >= 2 and s.startswith("$") and s.endswith("$"):
        s = s[1:-1].strip()
    return s


def _math_equal(pred: str, gold: str) -> bool:
    from math_verify import parse, verify  # heavy: math_verify (sympy), only for non-letter answers

    gold_parsed = parse(f"${gold}$")
    if not gold_parsed:
        return False
    # As LaTeX math first: a bare parse takes the last number ("y = 2x + 3" -> 3). The bare
    # string only when that finds nothing (prose around the answer, "$" already inside).
    parsed = parse(pred if _DOLLAR.search(pred) else f"${pred}$") or parse(pred)
    return bool(parsed) and verify(gold_parsed, parsed)


def is_equiv(pred: str, gold: str, scoring: str = DEFAULT_SCORING) -> bool:
    """Whether the extracted prediction equals the gold answer."""
    return _equiv(pred, gold, scoring_of(scoring))


def _equiv(pred: str, gold: str, scoring: Scoring) -> bool:
    gold = normalize_gold(gold)
    pred = pred.strip()
    if re.fullmatch(r"\(?[A-D]\)?", gold):
        letter = (choice_letter(pred) if pred else None) or scoring.missing_letter
        return letter == gold.strip("()")
    if not pred:
        return False
    if _strip_dollars(pred).replace(" ", "") == _strip_dollars(gold).replace(" ", ""):
        return True
    return _math_equal(pred, gold)


def score(response: str, gold: str, scoring: str = DEFAULT_SCORING) -> tuple[str, bool]:
    """Extract the answer from a full response and judge it: (extracted, correct)."""
    rules = scoring_of(scoring)
    extracted = _extract(response, rules)
    return extracted, _equiv(extracted, gold, rules)
