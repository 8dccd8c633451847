"""s1kit.retrace: a selection's questions re-distilled by another teacher (s1K-1.1), offline (oracle)."""

from __future__ import annotations

import json
import os

import pytest

from s1kit.records import QUESTION_SCHEMA, make_question, read_table, write_table
from s1kit.retrace import retrace


@pytest.fixture
def base(tmp_path, chain_corpus, tiny_tokenizer):
    from s1kit.tiny.tokenizer import save

    chains = chain_corpus[:12]
    pool = [make_question(c.question(), "tiny_math", "tiny_math/mixed", "math", solution=c.answer(),
                          metadata={"domain": f"k{c.k}"}) for c in chains]
    pool.append(make_question("not selected", "tiny_math", "tiny_math/mixed", "math", solution="0"))
    write_table(tmp_path / "pool.parquet", pool, schema=QUESTION_SCHEMA)
    # the base selection (in selection order), with the first teacher's traces
    picked = [dict(r, domain=json.loads(r["metadata"])["domain"], thinking="old", attempt="old", thinking_tokens=1,
                   teacher_correct=False, selection_rank=i) for i, r in enumerate(reversed(pool[:10]))]
    write_table(tmp_path / "s1K" / "dataset.parquet", picked)
    save(tiny_tokenizer, tmp_path / "tok")
    return tmp_path, picked


def test_same_questions_new_traces(base, monkeypatch):
    tmp, picked = base
    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp / "cache"))
    info = retrace(tmp / "s1K" / "dataset.parquet", tmp / "pool.parquet", tmp / "tok", tmp / "s1K-1.1",
                   tmp / "work", "oracle-2", "oracle", {"error_rate": 0.0, "seed": 1})
    rows = read_table(tmp / "s1K-1.1" / "dataset.parquet").to_pylist()
    assert [r["id"] for r in rows] == [r["id"] for r in picked]  # same questions, same order
    assert all(r["teacher"] == "oracle-2" and r["thinking"] != "old" and r["thinking_tokens"] > 1 for r in rows)
    assert all(r["teacher_correct"] for r in rows)  # an exact oracle: math-verify grades every attempt right
    assert (tmp / "s1K-1.1" / "ids.txt").read_text().split() == [r["id"] for r in picked]
    summary = json.loads((tmp / "s1K-1.1" / "summary.json").read_text())
    assert summary["questions"] == 10 and summary["failed_traces"] == 0 and summary["teacher_correct_frac"] == 1.0
    assert info["calls"] == {"questions": 10, "ok": 10, "failed": 0}
    assert len(read_table(tmp / "work" / "traces.parquet")) == 10  # only the selected questions are distilled
    ledger = [json.loads(line) for line in (tmp / "work" / "ledger.jsonl").read_text().splitlines()]
    assert len(ledger) == 10 and {rec["backend"] for rec in ledger} == {"oracle"}
    # same config, same traces: the stage is deterministic
    again = retrace(tmp / "s1K" / "dataset.parquet", tmp / "pool.parquet", tmp / "tok", tmp / "again",
                    tmp / "work2", "oracle-2", "oracle", {"error_rate": 0.0, "seed": 1})
    assert again["questions"] == 10
    assert (tmp / "again" / "dataset.parquet").read_bytes() == (tmp / "s1K-1.1" / "dataset.parquet").read_bytes()


def test_selected_id_missing_from_pool_is_an_error(base):
    tmp, picked = base
    write_table(tmp / "pool.parquet", [], schema=QUESTION_SCHEMA)
    with pytest.raises(ValueError, match=r"10 selected id\(s\) not in"):
        retrace(tmp / "s1K" / "dataset.parquet", tmp / "pool.parquet", tmp / "tok", tmp / "o", tmp / "w",
                "t", "oracle", {})
    assert not os.path.exists(tmp / "o")
