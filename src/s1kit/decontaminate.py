"""Decontamination by word n-gram overlap (arXiv 2501.19393v3 §2.1); the exact dedup is s1kit.collect's.

The official rule (`data/decontaminate_util.py:6 (normalize_string)`,
`data/decontaminate_util.py:14 (word_ngrams)`): text is lower-cased and split on
whitespace, and a question is contaminated if it shares any word n-gram (n = 8) with any
question already in the index. The official collection puts the eval sets in the index,
then each processed source's kept questions before the next source is checked
(`data/collect_data.py:475 (test_questions)`): the index grows (collect.semantics official).

``short``: upstream, a text shorter than n words has no n-gram and so can never match.
With ``short=True`` (collect.semantics kit) its single "gram" is the whole word sequence, so
a short eval question copied verbatim is caught.

Memory: every n-gram is kept as its 64-bit hash in sorted numpy arrays (segments)
with the owner of its first occurrence beside it (12 bytes per n-gram; the official dict of
n-gram strings to sets of ids takes well over 100). A hash collision could flag a question
that shares no n-gram (probability about 1e-6 for a 59K pool).
"""

from __future__ import annotations

import array
from collections.abc import Iterable, Iterator, Sequence

import numpy as np


CHUNK = 1 << 19  # n-grams per step of add_hashes / match_hashes: bounds the numpy temporaries


def words(text: str) -> list[str]:
    return text.lower().split()


def ngrams(text: str, n: int, short: bool = True) -> Iterator[tuple[str, ...]]:
    w = words(text)
    if short and 0 < len(w) < n:
        yield tuple(w)
        return
    # zip over shifted views builds each n-gram tuple in C: the hot loop of a 59K-question pool
    yield from zip(*(w[i:] for i in range(n)))


def _hashes(texts: Sequence[str | None], n: int, short: bool) -> tuple[np.ndarray, np.ndarray]:
    """(n-gram hashes, the position of the text each came from), for all texts at once.

    The hashes go straight into a C array of int64 (no Python int kept per n-gram)."""
    flat = array.array("q")
    counts = array.array("q")
    for text in texts:
        before = len(flat)
        flat.extend(map(hash, ngrams(text or "", n, short)))
        counts.append(len(flat) - before)
    keys = np.frombuffer(flat, dtype=np.int64) if flat else np.empty(0, dtype=np.int64)
    return keys, np.repeat(np.arange(len(counts), dtype=np.int32), np.frombuffer(counts, dtype=np.int64)
                           if counts else np.empty(0, dtype=np.int64))


class NgramIndex:
    """n-gram hashes -> the label of the first text that had them (an eval item, or a kept question).

    texts are strings, or (label, text) pairs so that a match names the item it came from.
    """

    def __init__(self, texts: Iterable[str | tuple[str, str]] = (), n: int = 8, short: bool = True):
        if n < 1:
            raise ValueError(f"decontaminate.ngram must be >= 1, got {n}")
        self.n, self.short = n, short
        self.labels: list[str] = []
        # sorted segments (hashes, owners = index into labels), one per chunk added; a hash is in one
        # segment only, with its first owner. Segments are never reallocated: memory does not fragment.
        self._segments: list[tuple[np.ndarray, np.ndarray]] = []
        self.add(texts)

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._segments)

    def hashes(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """(n-gram hashes, position of the text each came from): computed once, then matched and added."""
        return _hashes(texts, self.n, self.short)

    def add(self, texts: Iterable[str | tuple[str, str]]) -> None:
        """Index more texts; a hash already present keeps its first owner."""
        items = [t if isinstance(t, tuple) else (str(len(self.labels) + i), t) for i, t in enumerate(texts)]
        keys, pos = self.hashes([t for _, t in items])
        self.add_hashes(keys, pos, [label for label, _ in items])

    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, owner) per hash: whether the index holds it, and its owner there."""
        order = np.argsort(keys)  # sorted needles: searchsorted walks each segment once, in order
        needles = keys[order]
        found, owner = np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int32)
        for seg_keys, seg_owners in self._segments:
            at = np.minimum(np.searchsorted(seg_keys, needles), len(seg_keys) - 1)
            hit = seg_keys[at] == needles
            found[order[hit]] = True
            owner[order[hit]] = seg_owners[at[hit]]
        return found, owner

    def add_hashes(self, keys: np.ndarray, pos: np.ndarray, labels: Sequence[str],
                   slot: np.ndarray | None = None) -> None:
        """Index precomputed hashes (pos nondecreasing). Without slot, text pos[i] owns keys[i] as
        labels[pos[i]]; with slot, text t is labels[slot[t]], and texts with slot -1 are left out."""
        base = len(self.labels)
        self.labels.extend(labels)
        for lo in range(0, len(keys), CHUNK):  # a segment per chunk: bounded temporaries, no reallocation
            chunk, owner = keys[lo:lo + CHUNK], pos[lo:lo + CHUNK]
            if slot is not None:
                owner = slot[owner]
                chunk, owner = chunk[owner >= 0], owner[owner >= 0]
            fresh = ~self._find(chunk)[0]  # a hash already indexed keeps its older owner
            chunk, owner = chunk[fresh], (owner[fresh] + base).astype(np.int32)
            order = np.argsort(chunk, kind="stable")  # stable: at equal hashes the earlier text first
            chunk, owner = chunk[order], owner[order]
            first = np.ones(len(chunk), dtype=bool)
            first[1:] = chunk[1:] != chunk[:-1]
            if first.any():
                self._append(chunk[first], owner[first])

    def _append(self, keys: np.ndarray, owners: np.ndarray) -> None:
        """A new sorted segment, merged into the last one while both stay under CHUNK hashes (few
        segments to search; the arrays merged are small, so memory still does not fragment)."""
        if self._segments and len(self._segments[-1][0]) + len(keys) <= CHUNK:
            last_keys, last_owners = self._segments.pop()
            keys, owners = np.concatenate([last_keys, keys]), np.concatenate([last_owners, owners])
            order = np.argsort(keys, kind="stable")  # disjoint hashes: a plain merge
            keys, owners = keys[order], owners[order]
        self._segments.append((keys, owners))

    def match_many(self, texts: Sequence[str | None]) -> list[str | None]:
        """Per text, the label owning its first indexed n-gram, else None."""
        return self.match_hashes(*self.hashes(texts), len(texts))

    def match_hashes(self, keys: np.ndarray, pos: np.ndarray, count: int) -> list[str | None]:
        """match_many on precomputed hashes of `count` texts (pos nondecreasing)."""
        out: list[str | None] = [None] * count
        for lo in range(0, len(keys), CHUNK):
            found, owner = self._find(keys[lo:lo + CHUNK])
            rows, first = np.unique(pos[lo:lo + CHUNK][found], return_index=True)  # each text's first hit
            for row, o in zip(rows.tolist(), owner[found][first].tolist()):
                if out[row] is None:  # an earlier chunk holds the text's earlier n-grams
                    out[row] = self.labels[o]
        return out

    def match(self, text: str) -> str | None:
        """The label of an indexed text sharing an n-gram with text (the first n-gram's), else None."""
        return self.match_many([text])[0]

    def overlaps(self, text: str) -> bool:
        return self.match(text) is not None
