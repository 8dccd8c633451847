"""Decontamination (word n-gram overlap; arXiv 2501.19393v3 §2.1) and exact deduplication.

The official rule (`data/decontaminate_util.py:6 (normalize_string)`,
`data/decontaminate_util.py:14 (word_ngrams)`): text is lower-cased and split on
whitespace, and a question is contaminated if it shares any word n-gram (n = 8) with any
question already in the index. The official collection puts the eval sets in the index,
then each processed source's kept questions before the next source is checked
(`data/collect_data.py:475 (test_questions)`): the index grows (collect.semantics official).

``short``: upstream, a text shorter than n words has no n-gram and so can never match.
With ``short=True`` (collect.semantics kit) its single "gram" is the whole word sequence, so
a short eval question copied verbatim is caught.

Memory: every n-gram is kept as its 64-bit hash in one sorted numpy array with the owner of
its first occurrence beside it (12 bytes per n-gram; the official dict of n-gram strings to
sets of ids takes well over 100). Adding a source merges two sorted runs. A hash collision could
flag a question that shares no n-gram (probability about 1e-6 for a 59K pool).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np


def words(text: str) -> list[str]:
    return text.lower().split()


def ngrams(text: str, n: int, short: bool = True) -> Iterator[tuple[str, ...]]:
    w = words(text)
    if short and 0 < len(w) < n:
        yield tuple(w)
        return
    # zip over shifted views builds each n-gram tuple in C: the hot loop of a 59K-question pool
    yield from zip(*(w[i:] for i in range(n)))


def _hashes(texts: Iterable[str | None], n: int, short: bool) -> tuple[np.ndarray, np.ndarray]:
    """(n-gram hashes, the position of the text each came from), for all texts at once."""
    flat: list[int] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        before = len(flat)
        flat.extend(map(hash, ngrams(text or "", n, short)))
        owner.extend([i] * (len(flat) - before))
    return np.array(flat, dtype=np.int64), np.array(owner, dtype=np.int64)


class NgramIndex:
    """n-gram hashes -> the label of the first text that had them (an eval item, or a kept question).

    texts are strings, or (label, text) pairs so that a match names the item it came from.
    """

    def __init__(self, texts: Iterable[str | tuple[str, str]] = (), n: int = 8, short: bool = True):
        if n < 1:
            raise ValueError(f"decontaminate.ngram must be >= 1, got {n}")
        self.n, self.short = n, short
        self.labels: list[str] = []
        self._keys = np.empty(0, dtype=np.int64)  # sorted, unique
        self._owners = np.empty(0, dtype=np.int64)  # index into labels
        self.add(texts)

    def __len__(self) -> int:
        return len(self._keys)

    def hashes(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """(n-gram hashes, position of the text each came from): computed once, then matched and added."""
        return _hashes(texts, self.n, self.short)

    def add(self, texts: Iterable[str | tuple[str, str]]) -> None:
        """Index more texts; a hash already present keeps its first owner."""
        items = [t if isinstance(t, tuple) else (str(len(self.labels) + i), t) for i, t in enumerate(texts)]
        keys, pos = self.hashes([t for _, t in items])
        self.add_hashes(keys, pos, [label for label, _ in items])

    def add_hashes(self, keys: np.ndarray, pos: np.ndarray, labels: Sequence[str]) -> None:
        """Index precomputed hashes; pos[i] indexes labels, the owner of keys[i]."""
        if not len(labels):
            return
        order = np.argsort(keys, kind="stable")
        owners = pos[order] + len(self.labels)
        self.labels.extend(labels)
        # two sorted runs: the stable sort (timsort) merges them in linear time, the older owner first
        keys, owners = np.concatenate([self._keys, keys[order]]), np.concatenate([self._owners, owners])
        order = np.argsort(keys, kind="stable")
        keys, owners = keys[order], owners[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        self._keys, self._owners = keys[first], owners[first]

    def match_many(self, texts: Sequence[str | None]) -> list[str | None]:
        """Per text, the label owning its first indexed n-gram, else None."""
        return self.match_hashes(*self.hashes(texts), len(texts))

    def match_hashes(self, keys: np.ndarray, pos: np.ndarray, count: int) -> list[str | None]:
        """match_many on precomputed hashes of `count` texts."""
        out: list[str | None] = [None] * count
        if not len(self._keys) or not len(keys):
            return out
        at = np.searchsorted(self._keys, keys)
        hit = self._keys[np.minimum(at, len(self._keys) - 1)] == keys
        hit_pos, hit_at = pos[hit], at[hit]
        rows, first = np.unique(hit_pos, return_index=True)  # each text's first hit, in n-gram order
        for row, j in zip(rows.tolist(), first.tolist()):
            out[row] = self.labels[int(self._owners[hit_at[j]])]
        return out

    def match(self, text: str) -> str | None:
        """The label of an indexed text sharing an n-gram with text (the first n-gram's), else None."""
        return self.match_many([text])[0]

    def overlaps(self, text: str) -> bool:
        return self.match(text) is not None


def split_contaminated(rows: list[dict], index: NgramIndex, field: str = "question") -> tuple[list[dict], list[dict]]:
    """(kept, dropped) in row order; each dropped row gets "matched_eval", the item it overlaps."""
    keep, dropped = [], []
    for r, hit in zip(rows, index.match_many([r[field] for r in rows])):
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
