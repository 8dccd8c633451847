"""s1kit.decontaminate: word 8-gram overlap (arXiv 2501.19393v3 §2.1) and exact dedup."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest

from s1kit.decontaminate import NgramIndex, ngrams, words

EVAL = "alpha beta gamma delta epsilon zeta eta theta iota kappa"  # 10 words


def test_words_lowercase_whitespace_only():
    assert words("  Foo\tBAR\nbaz,  qux. ") == ["foo", "bar", "baz,", "qux."]  # punctuation stays on the word


def test_ngrams_counts_and_short_texts():
    assert len(list(ngrams(EVAL, 8))) == 3
    assert list(ngrams("a b c", 8)) == [("a", "b", "c")]  # short text: one gram, the whole text
    assert list(ngrams("", 8)) == []
    assert list(ngrams("   ", 8)) == []
    assert list(ngrams("a b c d e f g h", 8)) == [tuple("abcdefgh")]


def test_eight_word_shared_span_is_contamination():
    idx = NgramIndex([EVAL], n=8)
    text = "unrelated words here " + " ".join(EVAL.split()[1:9]) + " and more"
    assert idx.overlaps(text)


def test_seven_word_shared_span_is_not_contamination():
    idx = NgramIndex([EVAL], n=8)
    seven = " ".join(EVAL.split()[2:9])
    assert not idx.overlaps(f"one two three {seven} four five six")
    assert not idx.overlaps(f"{seven} x")


def test_case_insensitive_whitespace_normalised():
    idx = NgramIndex([EVAL], n=8)
    assert idx.overlaps("ALPHA   Beta\tgamma\nDELTA epsilon zeta eta theta")


def test_punctuation_makes_a_different_word():
    idx = NgramIndex([EVAL], n=8)
    assert not idx.overlaps("alpha, beta gamma delta epsilon zeta eta theta.")


def test_short_eval_question_caught_only_verbatim():
    idx = NgramIndex(["What is 2+2?"], n=8)
    assert idx.overlaps("what IS 2+2?")
    assert not idx.overlaps("what is 2+3?")


def test_empty_text_never_contaminated():
    idx = NgramIndex([EVAL, "short one"], n=8)
    assert not idx.overlaps("")


def test_smaller_n():
    idx = NgramIndex(["a b c d"], n=2)
    assert idx.overlaps("x c d y") and not idx.overlaps("x b d c")


def test_bad_n():
    with pytest.raises(ValueError, match="ngram"):
        NgramIndex([EVAL], n=0)


OFFICIAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "official-s1" / "data"


def _official_contaminated(train: list[str], evals: list[str], n: int) -> list[bool]:
    """The official functions themselves (data/decontaminate_util.py), as decontaminate_train_data calls them."""
    sys.path.insert(0, str(OFFICIAL_DATA))
    try:
        import decontaminate_util as official
    finally:
        sys.path.remove(str(OFFICIAL_DATA))
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        dropped = official.find_contaminated_questions(official.build_ngram_lookup(train, n),
                                                       official.build_ngram_lookup(evals, n))
    return [i in dropped for i in range(len(train))]


@pytest.mark.skipif(not (OFFICIAL_DATA / "decontaminate_util.py").exists(), reason="../shared/official-s1 absent")
@pytest.mark.parametrize("seed", range(25))
def test_matches_the_official_functions_on_random_corpora(seed):
    """short=False is the official rule exactly; short=True adds only verbatim copies of texts under n words."""
    import random

    pytest.importorskip("tqdm")
    rng = random.Random(seed)
    vocab = [w for w in "a b c d The the A x1 y2 ∑ é".split()][: rng.randint(2, 11)]
    n = rng.choice([1, 2, 3, 8])

    def text() -> str:
        sep = rng.choice([" ", "  ", "\n", "\t "])
        return sep.join(rng.choice(vocab) for _ in range(rng.randint(0, 14)))

    evals = [text() for _ in range(rng.randint(0, 6))]
    train = [text() for _ in range(60)] + [f"prefix {e} suffix" for e in evals[:2]]
    official = _official_contaminated(train, evals, n)
    strict = NgramIndex(((f"e{i}", e) for i, e in enumerate(evals)), n=n, short=False)
    assert [strict.overlaps(t) for t in train] == official
    short_evals = {tuple(e.lower().split()) for e in evals if 0 < len(e.split()) < n}
    index = NgramIndex(((f"e{i}", e) for i, e in enumerate(evals)), n=n)
    assert [index.overlaps(t) for t in train] == [
        hit or tuple(t.lower().split()) in short_evals for hit, t in zip(official, train)]
    for t in train:
        hit = index.match(t)
        if hit is not None and not 0 < len(t.split()) < n:  # the named eval item really shares an n-gram
            assert _official_contaminated([t], [evals[int(hit[1:])]], n) == [True]


def test_index_grows_and_keeps_the_first_owner():
    idx = NgramIndex([("eval:1", EVAL)], n=8)
    later = "one two three four five six seven eight nine"
    assert idx.match(later) is None
    idx.add([("pool:src:a", later), ("pool:src:b", EVAL)])
    assert idx.match("x " + later) == "pool:src:a" and idx.match(EVAL) == "eval:1"
    assert idx.match_many(["", None, later]) == [None, None, "pool:src:a"]
