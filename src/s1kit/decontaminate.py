"""Decontamination against eval sets (word n-gram overlap) and exact deduplication.

The paper's semantics (arXiv 2501.19393v3 §2.1, Appendix C.5; the official
data/decontaminate_util.py:14 (word_ngrams), also used by open-r1): text is lower-cased and split on whitespace, and a question is
contaminated if it shares any word 8-gram with any eval question. One addition: texts
shorter than n words have no n-gram upstream and so could never match; here their single
"gram" is the whole word sequence, so a short eval question copied verbatim is caught.
Eval n-grams are hashed into one dict (memory O(eval n-grams)); the pool is streamed, and
each dropped question records the eval item it matched.
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
    # zip over shifted views builds each n-gram tuple in C: the hot loop of a 59K-question pool
    yield from zip(*(w[i:] for i in range(n)))


class NgramIndex:
    """Eval n-grams (as hashes) -> the first eval item that has them.

    texts are eval question strings, or (item id, text) pairs so that a match names the
    eval item it came from.
    """

    def __init__(self, texts: Iterable[str | tuple[str, str]], n: int = 8):
        if n < 1:
            raise ValueError(f"decontaminate.ngram must be >= 1, got {n}")
        self.n = n
        self.grams: dict[int, str] = {}
        for i, item in enumerate(texts):
            item_id, text = item if isinstance(item, tuple) else (str(i), item)
            for g in ngrams(text, n):
                self.grams.setdefault(hash(g), item_id)

    def match(self, text: str) -> str | None:
        """The id of an eval item sharing an n-gram with text (the first n-gram's), else None."""
        grams = self.grams
        for h in map(hash, ngrams(text, self.n)):
            if h in grams:
                return grams[h]
        return None

    def overlaps(self, text: str) -> bool:
        return self.match(text) is not None


def split_contaminated(rows: list[dict], index: NgramIndex, field: str = "question") -> tuple[list[dict], list[dict]]:
    """(kept, dropped); each dropped row gets "matched_eval", the eval item it overlaps."""
    keep, dropped = [], []
    for r in rows:
        hit = index.match(r[field] or "")
        if hit is None:
            keep.append(r)
        else:
            dropped.append({**r, "matched_eval": hit})
    return keep, dropped


def dedup(rows: list[dict], key: str = "id") -> tuple[list[dict], list[dict]]:
    """Keep the first record of each key; return (kept, duplicates)."""
    seen: set[str] = set()
    keep, dups = [], []
    for r in rows:
        (dups if r[key] in seen else keep).append(r)
        seen.add(r[key])
    return keep, dups
