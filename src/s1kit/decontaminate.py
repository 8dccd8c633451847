"""Decontamination against eval sets (word n-gram overlap) and exact deduplication.

The paper's semantics (PAPER.md step 1; the official data/decontaminate_util.py, also
used by open-r1): text is lower-cased and split on whitespace, and a question is
contaminated if it shares any word 8-gram with any eval question. One addition: texts
shorter than n words have no n-gram upstream and so could never match; here their single
"gram" is the whole word sequence, so a short eval question copied verbatim is caught. n-grams are hashed into one Python set: memory is O(eval n-grams) and the
pool is streamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

def words(text: str) -> list[str]:
    return text.lower().split()


def ngrams(text: str, n: int) -> Iterator[tuple[str, ...]]:
    w = words(text)
    if 0 < len(w) < n:
        yield tuple(w)
        return
    for i in range(len(w) - n + 1):
        yield tuple(w[i : i + n])


class NgramIndex:
    def __init__(self, texts: Iterable[str], n: int = 8):
        if n < 1:
            raise ValueError(f"decontaminate.ngram must be >= 1, got {n}")
        self.n = n
        self.grams: set[int] = {hash(g) for t in texts for g in ngrams(t, n)}

    def overlaps(self, text: str) -> bool:
        return any(hash(g) in self.grams for g in ngrams(text, self.n))


def split_contaminated(rows: list[dict], index: NgramIndex, field: str = "question") -> tuple[list[dict], list[dict]]:
    keep, dropped = [], []
    for r in rows:
        (dropped if index.overlaps(r[field] or "") else keep).append(r)
    return keep, dropped


def dedup(rows: list[dict], key: str = "id") -> tuple[list[dict], list[dict]]:
    """Keep the first record of each key; return (kept, duplicates)."""
    seen: set[str] = set()
    keep, dups = [], []
    for r in rows:
        (dups if r[key] in seen else keep).append(r)
        seen.add(r[key])
    return keep, dups
