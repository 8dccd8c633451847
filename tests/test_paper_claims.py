"""The claims registry: loads, validates, covers every number in PAPER.md, resolves fields."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from s1kit.paper.claims import ClaimError, FieldError, RowNotFound, load_claims, resolve_field
from s1kit.paper.io import InputError
from s1kit.paper.report import compare

PAPER = Path("/work/shared/PAPER.md")
MODELS = {"s1-32B", "s1.1-32B", "Qwen2.5-32B-Instruct", "s1-1K-random", "s1-1K-diverse", "s1-1K-longest",
          "s1-59K-full", "s1-block4096"}
TASKS = {"aime24_nofigures", "aime25_nofigures", "openai_math", "gpqa_diamond_openai"}
SETTING = re.compile(r"^((kit|fork)\.)?(bf-(\d+|auto)|plain|wait-\d+|ignore-\d+-\w+|(tcc|tccbf|scc|sccbf)-\d+|ccc-\w+|rs-\d+)$")


@pytest.fixture(scope="module")
def claims():
    return load_claims()


def by_id(claims, cid):
    return next(c for c in claims if c.id == cid)


# ---- registry shape ---------------------------------------------------------------------------


def test_registry_loads_with_unique_readable_ids(claims):
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids)) >= 240
    assert all(re.match(r"^[a-z0-9]+[\w.+-]*$", i, re.I) and " " not in i for i in ids)
    assert {c.kind for c in claims} == {"reproduced", "cited"}


def test_reproduced_claims_name_a_target_and_field(claims):
    for c in claims:
        if c.kind == "reproduced":
            assert c.target.startswith("results/") and c.field and c.tolerance is not None, c.id
        else:
            assert c.target is None and c.tolerance is None, c.id


def test_eval_targets_follow_the_results_layout(claims):
    for c in claims:
        if c.target and c.target.startswith("results/eval/"):
            _, _, model, setting, task, name = c.target.split("/")
            assert model in MODELS and task in TASKS and name == "results.json", c.id
            assert SETTING.match(setting), c.id
        if c.tiny_target and c.tiny_target.startswith("results/eval/"):
            assert c.tiny_target.split("/")[2:5:2] == ["tiny-s1", "tiny_chains"], c.id


def test_cited_and_reproduced_rows_of_table1(claims):
    t1 = [c for c in claims if c.table == "Table 1" and c.semantics == "fork"]
    row = lambda c: c.id.removeprefix("table1.").rsplit(".", 1)[0]  # noqa: E731 (s1.1-32B has a dot)
    cited = {row(c) for c in t1 if c.kind == "cited"}
    reproduced = {row(c) for c in t1 if c.kind == "reproduced"}
    assert cited == {"QwQ-32B", "r1", "r1-distill", "Sky-T1", "Bespoke-32B", "o1-preview", "o1-mini", "o1",
                     "Gemini-2.0-Flash-Thinking"}
    assert reproduced == {"s1-32B", "s1-32B-noBF", "s1.1-32B", "s1.1-32B-noBF", "Qwen2.5-32B-Instruct"}
    kit = {c.id for c in claims if c.table == "Table 1" and c.semantics == "kit"}  # kit additions beside them
    assert kit == {f"kit.table1.s1-32B.{t}" for t in ("aime24", "math500", "gpqa")}


def test_versions_and_tolerances(claims):
    assert by_id(claims, "table1.QwQ-32B.gpqa").versions == {"v1": 65.2, "v3": 54.5}
    assert by_id(claims, "funnel.after_format").versions == {"paper": 51581, "notebook": 51607}
    assert by_id(claims, "s1K.domains").versions == {"paper": 50, "notebook": 51}
    assert by_id(claims, "table5.s1-32B.wait-4.aime25").versions == {"v3": 36.7}
    assert by_id(claims, "table1.s1-32B.aime24").tolerance == 3.4
    assert by_id(claims, "table1.s1-32B.math500").tolerance == 0.2
    assert by_id(claims, "table1.s1-32B.gpqa").tolerance == 0.5
    assert by_id(claims, "funnel.selected").tolerance == 0
    fig = by_id(claims, "figure1.aime24.p4.thinking_tokens")
    assert fig.tolerance_relative and fig.allowed(3933) == pytest.approx(393.3)


def test_training_facts(claims):
    assert by_id(claims, "train.s1-32B.steps").paper_value == 315
    assert by_id(claims, "train.s1-32B.minutes").paper_value == 26
    assert by_id(claims, "train.s1-32B.gpu_hours").paper_value == 7
    assert by_id(claims, "train.s1-59K-full.gpu_hours").paper_value == 394


# ---- every number of PAPER.md's Claims section is a claim -----------------------------------------

# Context in the Claims section that is not a claimed result: table/figure names, the
# rejection-sampling thresholds (they are the rs-<N> settings), block sizes (model names),
# "~30K max" (a setting), the sampling temperature, the AIME years, "Gemini 2.0".
CONTEXT = [r"\(?(?:Table|Figure) \d", r"thresholds [\d/\s]+ thinking tokens \(\d+ uncertain\)", r"block \d+",
           r"~\d+K max", r"temperature 1\b", r"1983-2021", r"Gemini 2\.0"]
# A number not glued to a name (s1, Qwen2.5, 32B, AIME24, 1K-random, 2x): "59,029", "-24",
# "56.7"; or a K/M quantity ("4.7M tokens", "9.3K").
NUMBER = re.compile(r"(?<![\w.\-])(-?\d{1,3}(?:,\d{3})+|-?\d+(?:\.\d+)?)(?![\w\-]|\.\d)"
                    r"|(?<![\w.\-])(\d+(?:\.\d+)?)(?=[KM]\b(?!-))")


def numbers(text: str) -> list[float]:
    for pattern in CONTEXT:
        text = re.sub(pattern, " ", text)
    return [float((m.group(1) or m.group(2)).replace(",", "")) for m in NUMBER.finditer(text)]


def claims_section(text: str) -> str:
    return text.split("\n## Claims", 1)[1].split("\n## ", 1)[0]


def missing_numbers(text: str, claims) -> dict[float, tuple[int, int]]:
    """value -> (occurrences in the Claims section, claims carrying it) where claims are too few."""
    have = Counter(v for c in claims for v in c.versions.values())
    want = Counter(numbers(claims_section(text)))
    return {v: (n, have[v]) for v, n in want.items() if have[v] < n}


@pytest.fixture(scope="module")
def paper_text():
    if not PAPER.exists():
        pytest.skip(f"{PAPER} not available")
    return PAPER.read_text(encoding="utf-8")


def test_number_parser_on_known_snippets():
    assert numbers("s1-32B (budget forcing) | 56.7 | 93.0 | 59.6 |") == [56.7, 93.0, 59.6]
    assert numbers("59,029 collected (notebook: 58,986 with a teacher trace);") == [59029, 58986]
    assert numbers("token-conditional control 40% / -24 / 40.0;") == [40, -24, 40.0]
    assert numbers("1,000 questions, 4.7M thinking tokens; about 9.3K (s1K-1.1, r1)") == [1000, 4.7, 9.3]
    assert numbers('Qwen2.5-32B-Instruct 1K-random "Wait" 2x AIME24 o1-mini (Table 2; BF with ~30K max') == []
    assert numbers("Probability\ntheory 20. Teacher") == [20]


def test_every_claims_number_in_paper_is_in_registry(paper_text, claims):
    found = numbers(claims_section(paper_text))
    assert len(found) > 200  # the parser sees the section at all
    assert missing_numbers(paper_text, claims) == {}


def test_coverage_check_fails_when_a_claim_is_dropped(paper_text, claims):
    dropped = [c for c in claims if c.id != "collect.USACO.questions"]  # 519 occurs once
    assert missing_numbers(paper_text, dropped) == {519.0: (1, 0)}
    dropped = [c for c in claims if c.id != "table1.o1.gpqa"]  # 77.3 occurs once
    assert 77.3 in missing_numbers(paper_text, dropped)


def test_every_registry_value_appears_in_paper(paper_text, claims):
    in_text = set(numbers(paper_text))
    stray = {c.id: v for c in claims for v in c.versions.values() if v not in in_text}
    assert stray == {}


# ---- validation errors name the claim ------------------------------------------------------------

GOOD = {"id": "x.one", "table": "T", "description": "d", "paper_value": 1.0, "unit": "%", "kind": "reproduced",
        "tolerance": 0.1, "target": "results/eval/m/bf-1/t/results.json", "field": "accuracy"}


def write_registry(tmp_path: Path, *claims: dict) -> Path:
    import yaml

    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "claims": list(claims)}))
    return path


@pytest.mark.parametrize("change, message", [
    ({"kind": "guessed"}, "kind must be one of"),
    ({"target": None}, "needs ['target']"),
    ({"tolerance": "ten"}, "tolerance"),
    ({"tolerance": -1}, "tolerance must be >= 0"),
    ({"paper_value": {"v2": 1.0}}, "unknown paper_value label"),
    ({"paper_value": "high"}, "paper_value must be a finite number"),
    ({"unit": "parsecs"}, "set decimals"),
    ({"colour": "red"}, "unknown key"),
    ({"target": "/abs/path.json"}, "under results/"),
    ({"target": "results/x.csv", "field": "source~(:n"}, "field"),
    ({"target": "results/x.csv", "field": "n"}, "selector"),
    ({"tiny_target": "results/t.json"}, "tiny_target and tiny_field go together"),
])
def test_invalid_claim_is_rejected_naming_its_id(tmp_path, change, message):
    path = write_registry(tmp_path, {**GOOD, **change})
    with pytest.raises(ClaimError, match=re.escape(message)) as e:
        load_claims(path)
    assert "x.one" in str(e.value)


def test_missing_required_key_and_duplicate_id(tmp_path):
    bad = {k: v for k, v in GOOD.items() if k != "unit"}
    with pytest.raises(ClaimError, match=r"claim x.one: missing required key\(s\) \['unit'\]"):
        load_claims(write_registry(tmp_path, bad))
    with pytest.raises(ClaimError, match="claim x.one: duplicate id"):
        load_claims(write_registry(tmp_path, GOOD, GOOD))


def test_cited_claim_needs_no_target(tmp_path):
    cited = {"id": "t.cited", "table": "T", "description": "d", "paper_value": 50.0, "unit": "%", "kind": "cited"}
    (claim,) = load_claims(write_registry(tmp_path, cited))
    assert claim.target is None and claim.decimals == 1


# ---- resolving fields ------------------------------------------------------------------------


def test_resolve_json_path_and_scale(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"accuracy": 0.5, "gen_kwargs": {"max_tokens": 32768}}))
    assert resolve_field(p, "accuracy", 100) == 50.0
    assert resolve_field(p, "gen_kwargs.max_tokens") == 32768
    with pytest.raises(FieldError, match=r"r.json: no key 'gen_kwargs.temp'"):
        resolve_field(p, "gen_kwargs.temp")
    p.write_text("{not json")
    with pytest.raises(InputError, match=r"r.json: malformed JSON at line 1"):
        resolve_field(p, "accuracy")


def test_resolve_csv_selectors(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("domain,questions\n51 Geometry,109\nDifferential geometry,5\nFunctions of a complex variable,32\n")
    assert resolve_field(p, r"domain~^(51\b.*|geometry)$:questions") == 109
    assert resolve_field(p, r"domain~^(30\b.*|complex functions|functions of a complex variable)$:questions") == 32
    assert resolve_field(p, "domain=Differential geometry:questions") == 5
    with pytest.raises(FieldError, match="2 rows match"):
        resolve_field(p, "domain~geometry:questions")
    with pytest.raises(RowNotFound, match="no row matches"):
        resolve_field(p, "domain=Topology:questions")
    with pytest.raises(InputError, match=r"c.csv: missing column\(s\) \['thinking'\]"):
        resolve_field(p, "domain=Topology:thinking")


def test_registry_regexes_pick_one_source_each(tmp_path, claims):
    from s1kit.sources import PAPER_SOURCES

    names = [*PAPER_SOURCES, "total"]  # the kit's own source names (config/s1.yaml)
    p = tmp_path / "results" / "data" / "funnel_collect.csv"
    p.parent.mkdir(parents=True)
    p.write_text("source,deduplicated\n" + "".join(f"{n},{i}\n" for i, n in enumerate(names)))
    got = {c.id: resolve_field(p, c.field) for c in claims if c.target == "results/data/funnel_collect.csv"}
    assert len(got) == 17 and sorted(got.values()) == list(range(17))  # each claim its own row


# ---- comparing with the paper -------------------------------------------------------------------


def test_one_problem_or_question_is_within_tolerance(claims):
    aime = by_id(claims, "table1.s1-32B.aime24")  # 56.7
    assert compare(aime, 100 * 17 / 30).status == "match"
    assert compare(aime, 100 * 16 / 30).status == "within tolerance"
    assert compare(aime, 100 * 15 / 30).status == "off"
    math500 = by_id(claims, "table1.s1-32B.math500")  # 93.0
    assert compare(math500, 93.2).status == "within tolerance"  # float: 93.2 - 93.0 > 0.2
    assert compare(math500, 93.4).status == "off"
    gpqa = by_id(claims, "table1.s1-32B.gpqa")  # 59.6 = 118/198
    assert compare(gpqa, 100 * 118 / 198).status == "match"
    assert compare(gpqa, 100 * 119 / 198).status == "within tolerance"
    assert compare(gpqa, 100 * 117 / 198).status == "within tolerance"
    assert compare(gpqa, 100 * 120 / 198).status == "off"


def test_counts_are_exact_and_the_closest_version_wins(claims):
    fmt = by_id(claims, "funnel.after_format")  # paper 51581, notebook 51607
    assert (compare(fmt, 51607).status, compare(fmt, 51607).version) == ("match", "notebook")
    assert compare(fmt, 51580).delta == -1 and compare(fmt, 51580).status == "off"
    qwq = by_id(claims, "table1.QwQ-32B.gpqa")
    assert compare(qwq, 54.5).version == "v3"
