"""Metrics over several samples per question: majority vote (maj@k), coverage (cov@k) and
the unbiased pass@k estimator, with answers grouped by equivalence, not by string.

The official fork (lm_eval/tasks/*/utils.py, ``process_results``) replaced every correct
extracted answer by the gold string and took ``Counter.most_common`` over the strings, so
"1/2" and "\\frac{1}{2}" were two votes for two answers when both were wrong. Here the
same rule is kept for correct answers (they form one group, "the gold answer") and the
wrong ones are grouped by ``answers.is_equiv``: an answer joins the first group whose first
member it is equivalent to. Empty answers (nothing extracted) never form a group. Ties go
to the group whose first member came first, as ``Counter.most_common`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import comb

from s1kit.evaluate.answers import is_equiv

Equiv = Callable[[str, str], bool]


def group_answers(answers: Sequence[str], correct: Sequence[bool], equiv: Equiv | None = None) -> list[list[int]]:
    """Sample indices grouped by answer, in order of each group's first sample. All correct
    samples form one group; wrong non-empty answers are grouped by ``equiv`` (default
    ``answers.is_equiv``) against each group's first member; empty answers are left out.

    Grouping is greedy in sample order, so the groups of the first k samples are these
    groups cut to indices < k: one pass serves every k."""
    if len(answers) != len(correct):
        raise ValueError(f"{len(answers)} answers but {len(correct)} correctness flags")
    equiv = equiv or is_equiv
    groups: list[list[int]] = []
    gold_group: list[int] | None = None
    by_text: dict[str, list[int]] = {}  # the same string never needs a second comparison
    for i, (ans, ok) in enumerate(zip(answers, correct)):
        if ok:
            if gold_group is None:
                gold_group = []
                groups.append(gold_group)
            gold_group.append(i)
            continue
        ans = str(ans).strip()
        if not ans:
            continue
        group = by_text.get(ans)
        if group is None:
            reps = (g for g in groups if g is not gold_group)
            group = next((g for g in reps if equiv(ans, str(answers[g[0]]).strip())), None)
            if group is None:
                group = []
                groups.append(group)
            by_text[ans] = group
        group.append(i)
    return groups


def _vote(groups: list[list[int]], correct: Sequence[bool], k: int) -> tuple[int | None, bool]:
    sizes = [(sum(1 for i in g if i < k), g[0]) for g in groups if g[0] < k]
    if not sizes:
        return None, False
    _, first = max(sizes, key=lambda t: t[0])  # max keeps the first of equal-sized groups
    return first, bool(correct[first])


def majority_vote(
    answers: Sequence[str], correct: Sequence[bool], equiv: Equiv | None = None
) -> tuple[int | None, bool]:
    """(index of the first sample of the winning group, whether that group is correct);
    (None, False) when no sample has an answer."""
    return _vote(group_answers(answers, correct, equiv), correct, len(answers))


def maj_at_k(answers: Sequence[str], correct: Sequence[bool], k: int, equiv: Equiv | None = None) -> bool:
    """Majority vote over the first ``k`` samples is correct."""
    _check_k(k, len(answers))
    return majority_vote(answers[:k], correct[:k], equiv)[1]


def cov_at_k(correct: Sequence[bool], k: int) -> bool:
    """Coverage: at least one of the first ``k`` samples is correct (the fork's cov@k)."""
    _check_k(k, len(correct))
    return any(correct[:k])


def avg_at_k(correct: Sequence[bool], k: int) -> float:
    """Mean accuracy of the first ``k`` samples."""
    _check_k(k, len(correct))
    return sum(bool(c) for c in correct[:k]) / k


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples with ``c`` correct (Chen et al. 2021):
    1 - C(n-c, k) / C(n, k). Unlike cov@k it does not depend on the samples' order."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def powers_of_two(n: int) -> list[int]:
    """The k of the fork's @k metrics for n samples: 2, 4, ... up to n (64 -> 2..64)."""
    return [2**i for i in range(1, n.bit_length()) if 2**i <= n]


def sample_metrics(answers: Sequence[str], correct: Sequence[bool], equiv: Equiv | None = None) -> dict[str, float]:
    """The fork's per-question metrics for n samples: ``exact_match`` (first sample) and,
    for k = 2, 4, ... <= n, ``avg@k``, ``maj@k`` and ``cov@k``."""
    n = len(correct)
    if n == 0:
        raise ValueError("no samples")
    groups = group_answers(answers, correct, equiv)
    out: dict[str, float] = {"exact_match": float(bool(correct[0]))}
    for k in powers_of_two(n):
        out[f"avg@{k}"] = avg_at_k(correct, k)
        out[f"maj@{k}"] = float(_vote(groups, correct, k)[1])
        out[f"cov@{k}"] = float(cov_at_k(correct, k))
    return out


def _check_k(k: int, n: int) -> None:
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must be between 1 and the number of samples {n}")
