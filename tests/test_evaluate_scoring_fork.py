"""The kit's scoring beside the official fork's task code, on a corpus of 1,000 responses.

The fork's own ``process_results`` (eval/lm-evaluation-harness/lm_eval/tasks/aime/utils.py,
openai_math/utils.py, gpqa/openai/utils.py at 77272c6, loaded from ../shared/official-s1)
runs with no LLM judge: ``PROCESSOR`` unset for AIME and GPQA. openai_math raises without
a judge (openai_math/utils.py:259), so it runs with ``PROCESSOR=gpt-4o-mini`` and its
``ChatCompletionSampler`` replaced by a judge that always answers "-1" (no option matches),
which leaves the extracted answer to the exact comparison, as aime/utils.py does without a
judge; the test checks that the two files then agree on every MATH response. Only the
imports that cannot load here are stubbed (``openai``, ``lm_eval.utils.eval_logger``).

Per class of response (tests/scoring_corpus.py) the table in docs/fidelity.md gives the
agreement of the fork with the kit's ``fork`` scoring (config/s1.yaml) and with the kit's
``kit`` scoring; every disagreement class is explained there and asserted here: the kit is
then the one that matches the truth label, or the class is one the switch exists for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import types
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from s1kit.evaluate.answers import score
from scoring_corpus import Item, corpus

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TASKS = SHARED / "official-s1" / "eval" / "lm-evaluation-harness" / "lm_eval" / "tasks"
DATA = SHARED / "data"
pytestmark = pytest.mark.skipif(
    not (TASKS / "aime" / "utils.py").is_file() or not (DATA / "math500" / "test.jsonl").is_file(),
    reason="../shared/official-s1 (the pinned official code) or ../shared/data is absent",
)

# Classes where the fork without a judge and the kit's fork scoring disagree, and why. In
# each, the kit's verdict is the truth label (asserted): the fork compared the raw extracted
# string exactly and left everything else to gpt-4o-mini, which math_verify and the letter
# parser stand in for.
JUDGE_CLASSES = {
    "trailing_text", "trailing_newline", "several_answer_lines", "equivalent_decimal", "latex_fraction_forms",
    "gpqa_parenthesised", "gpqa_boxed_text", "gpqa_letter_and_content", "gpqa_bold", "gpqa_sentence_then_article",
    "gpqa_option_word", "gpqa_letter_first_then_text",
}
# Classes the switch exists for: the kit's kit scoring differs from the fork on purpose.
SWITCH_CLASSES = {"missing_answer_section", "gpqa_missing_answer_section", "gpqa_missing_letter", "gpqa_truncated"}


class _NullJudge:
    """Stands in for ChatCompletionSampler: the judge finds no matching option."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, messages):
        return "-1"


def _load(name: str, path: Path, monkeypatch) -> types.ModuleType:
    openai = types.ModuleType("openai")
    openai.OpenAI = object
    openai.BadRequestError = type("BadRequestError", (Exception,), {})
    lm_utils = types.ModuleType("lm_eval.utils")
    lm_utils.eval_logger = None
    monkeypatch.setitem(sys.modules, "openai", openai)
    monkeypatch.setitem(sys.modules, "lm_eval.utils", lm_utils)
    for var in ("PROMPTSTEP", "PROMPTTOKEN", "PROMPTLONG", "PROMPTSHORT", "PROCESSOR"):
        monkeypatch.delenv(var, raising=False)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fork():
    mp = pytest.MonkeyPatch()
    try:
        aime = _load("fork_aime_utils", TASKS / "aime" / "utils.py", mp)
        math = _load("fork_openai_math_utils", TASKS / "openai_math" / "utils.py", mp)
        gpqa = _load("fork_gpqa_utils", TASKS / "gpqa" / "openai" / "utils.py", mp)
        math.ChatCompletionSampler = _NullJudge
        yield {"aime": aime, "math": math, "gpqa": gpqa}
    finally:
        mp.undo()


def fork_verdict(fork, item: Item, monkeypatch=None) -> bool:
    """The fork's exact_match for one response (its printing silenced)."""
    import os

    with contextlib.redirect_stdout(io.StringIO()):
        if item.kind == "gpqa":
            doc = {"Question": "q", "choice1": "w", "choice2": "x", "choice3": "y", "choice4": "z", "answer": item.gold}
            return bool(fork["gpqa"].process_results(doc, [item.response])["exact_match"])
        if item.kind == "aime":
            return bool(fork["aime"].process_results({"answer": item.gold}, [item.response])["exact_match"])
        os.environ["PROCESSOR"] = "gpt-4o-mini"  # the null judge above, never the API
        try:
            return bool(fork["math"].process_results({"answer": item.gold}, [item.response])["exact_match"])
        finally:
            del os.environ["PROCESSOR"]


@pytest.fixture(scope="module")
def verdicts(fork):
    items = corpus(DATA)
    return [(it, fork_verdict(fork, it), score(it.response, it.gold, "fork")[1], score(it.response, it.gold, "kit")[1])
            for it in items]


def agreement_table(verdicts) -> str:
    """docs/fidelity.md's table: per class n, agreement of the fork with each kit scoring."""
    rows: dict[str, Counter] = defaultdict(Counter)
    for it, f, kf, kk in verdicts:
        c = rows[it.cls]
        c["n"] += 1
        c["agree_fork"] += f == kf
        c["agree_kit"] += f == kk
    lines = ["| class | n | agree (scoring: fork) | disagree (scoring: fork) | agree (scoring: kit) "
             "| disagree (scoring: kit) |",
             "|---|---|---|---|---|---|"]
    for cls in sorted(rows):
        c = rows[cls]
        lines.append(f"| {cls} | {c['n']} | {c['agree_fork']} | {c['n'] - c['agree_fork']} | "
                     f"{c['agree_kit']} | {c['n'] - c['agree_kit']} |")
    total = sum(c["n"] for c in rows.values())
    af, ak = sum(c["agree_fork"] for c in rows.values()), sum(c["agree_kit"] for c in rows.values())
    lines.append(f"| **all** | {total} | {af} | {total - af} | {ak} | {total - ak} |")
    return "\n".join(lines)


def test_corpus_covers_every_class_with_500_responses(verdicts):
    assert len(verdicts) >= 500
    kinds = Counter(it.kind for it, *_ in verdicts)
    assert kinds["math"] >= 300 and kinds["aime"] >= 50 and kinds["gpqa"] >= 100


def test_openai_math_with_a_null_judge_equals_aime_without_one(fork):
    """The two fork files extract and compare alike once no judge intervenes."""
    import os

    for it in (it for it in corpus(DATA) if it.kind == "math"):
        with contextlib.redirect_stdout(io.StringIO()):
            plain = fork["aime"].process_results({"answer": it.gold}, [it.response])["exact_match"]
        assert fork_verdict(fork, it) == bool(plain), it
    assert "PROCESSOR" not in os.environ


def test_kit_scoring_matches_the_truth_label(verdicts):
    """kit scoring is right on every response; fork scoring only where the switch says."""
    wrong_kit = [it for it, f, kf, kk in verdicts if kk != it.truth]
    assert wrong_kit == []
    wrong_fork = {it.cls for it, f, kf, kk in verdicts if kf != it.truth}
    assert wrong_fork <= SWITCH_CLASSES, wrong_fork


def test_every_disagreement_with_the_fork_is_an_explained_class(verdicts):
    fork_mode = {it.cls for it, f, kf, kk in verdicts if f != kf}
    assert fork_mode <= JUDGE_CLASSES, fork_mode - JUDGE_CLASSES
    kit_mode = {it.cls for it, f, kf, kk in verdicts if f != kk}
    assert kit_mode <= JUDGE_CLASSES | SWITCH_CLASSES, kit_mode - JUDGE_CLASSES - SWITCH_CLASSES
    # In a judge class the kit is the one that is right (the fork left these to gpt-4o-mini).
    assert all(kf == it.truth for it, f, kf, kk in verdicts if f != kf)
    # Where the switch matters the kit's fork scoring reproduces the fork exactly.
    assert all(f == kf for it, f, kf, kk in verdicts if it.cls in SWITCH_CLASSES)


def test_agreement_table_is_the_one_in_docs(verdicts):
    table = agreement_table(verdicts)
    docs = (REPO / "docs" / "fidelity.md").read_text(encoding="utf-8")
    assert table in docs, "docs/fidelity.md's scoring table is stale; the current one:\n" + table


@pytest.mark.parametrize(
    "response, fork_letter_correct",
    [
        ("<|im_start|>answer\nThe answer is C. A careful check confirms it.", True),
        ("<|im_start|>answer\nAnswer: C. A careful check confirms it.", True),
    ],
)
def test_gpqa_last_capital_bug_is_fixed(response, fork_letter_correct):
    """"...is C. A careful check..." is C in both scorings (the old parser took the article A)."""
    assert score(response, "C", "kit") == (score(response, "C", "kit")[0], fork_letter_correct)
    assert score(response, "C", "fork")[1] and not score(response, "A", "fork")[1]
