"""s1kit.sources.quality: every bad row becomes a quarantine entry with a reason, never an exception."""

from __future__ import annotations

import json

import pytest

from s1kit.sources.quality import REASONS, check, validate


@pytest.mark.parametrize("raw, reason", [
    ({"question": None}, "missing_question"),
    ({}, "missing_question"),
    ({"question": "   \n"}, "empty_question"),
    ({"question": 42}, "wrong_type"),
    ({"question": "ok", "solution": ["a"]}, "wrong_type"),
    ({"question": "ok", "metadata": "{not json"}, "wrong_type"),
    ({"question": "ok", "metadata": [1, 2]}, "wrong_type"),
    ({"question": "bad \udc80 byte"}, "invalid_utf8"),
    ({"question": "ok", "solution": "\ud800"}, "invalid_utf8"),
    ({"question": "word " * 30}, "too_long"),
])
def test_reasons(raw, reason):
    assert reason in REASONS
    assert check(raw, max_chars=100)[0] == reason


def test_validate_keeps_good_rows_and_quarantines_the_rest_json_safe():
    rows = [
        {"question": "Q1", "solution": "1", "cot_type": "math", "source_type": "s/a", "metadata": {"year": 1999}},
        {"question": "\udc80", "metadata": {"x": float("nan")}},
        {"question": "Q2", "metadata": '{"k": [1, 2]}', "source_type": None},
    ]
    records, quarantined = validate(rows, "src", max_chars=1000)
    assert [r["question"] for r in records] == ["Q1", "Q2"]
    assert records[1]["source_type"] == "src" and json.loads(records[1]["metadata"]) == {"k": [1, 2]}
    assert [(q["index"], q["reason"]) for q in quarantined] == [(1, "invalid_utf8")]
    json.dumps(quarantined, ensure_ascii=False).encode("utf-8")  # writable as UTF-8 JSONL
    assert quarantined[0]["row"]["metadata"] == {"x": None}
