"""The paper's lm-eval tasks (AIME24/25, MATH500, GPQA Diamond and their _agg64 variants):
they load through include_path from local data, carry the official prompts and control
variants, score gold answers fully, shuffle GPQA choices per question, and vote by
equivalence."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from s1kit.evaluate import voting
from s1kit.evaluate.tasks import TASKS_DIR, gpqa_order, official

DATA = Path("/work/shared/data")
AIME24 = DATA / "aime24" / "aime24_nofigures.jsonl"
MATH500 = DATA / "math500" / "test.jsonl"

MAIN = ["aime24_nofigures", "aime24_figures", "aime25_nofigures", "openai_math", "gpqa_diamond_openai"]
TASKS = MAIN + [f"{t}_agg64" for t in MAIN]
HUB = {
    "aime24_nofigures": ("simplescaling/aime24_nofigures", "default", "train"),
    "aime24_figures": ("simplescaling/aime24_figures", "default", "train"),
    "aime25_nofigures": ("simplescaling/aime25_nofigures", "default", "train"),
    "openai_math": ("simplescaling/openaimath", None, "test"),
    "gpqa_diamond_openai": ("Idavidrein/gpqa", "gpqa_diamond", "train"),
}
LONG = (
    "Answer after a long amount of thinking. If you feel like you are finished early, spend the extra time "
    "trying to double-check your work until you are absolutely sure that you have the correct answer."
)
SHORT = "Answer after a short amount of thinking. Do not spend excessive time double-checking your work."


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"reference data {path} is absent")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def gpqa_rows(n: int) -> list[dict]:
    """GPQA-like records with the hub's column names."""
    return [
        {
            "Record ID": f"rec{i}",
            "Question": f"Question {i}: which particle mediates interaction number {i}?",
            "Correct Answer": f"right {i}",
            **{f"Incorrect Answer {j}": f"wrong {i}.{j}" for j in (1, 2, 3)},
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A local file per task: the reference data where present, small synthetic sets otherwise."""
    d = tmp_path_factory.mktemp("task-data")
    rows = [{"id": i, "problem": f"Find {i}+1.", "answer": f"{i + 1:03d}"} for i in range(5)]
    aime_like = write_jsonl(d / "aime_like.jsonl", rows)
    gpqa = write_jsonl(d / "gpqa.jsonl", gpqa_rows(40))
    aime = AIME24 if AIME24.is_file() else aime_like
    math = MATH500 if MATH500.is_file() else aime_like
    out = {"aime24_nofigures": aime, "aime24_figures": aime_like, "aime25_nofigures": aime_like}
    out |= {"openai_math": math, "gpqa_diamond_openai": gpqa}
    return out | {f"{t}_agg64": p for t, p in out.items()}


def load_task(name: str, **metadata):
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)
    return tm.load([name])["tasks"][name]


def docs_of(task) -> list[dict]:
    return list(task.test_docs())


# ---------------------------------------------------------------------------- loading


def test_every_leaf_yaml_is_indexed():
    from lm_eval.tasks import TaskManager

    leaves = {}
    for path in TASKS_DIR.glob("*/*.yaml"):
        m = re.search(r"^task: (\S+)$", path.read_text(), re.M)
        if not path.name.startswith("_"):
            assert m, f"{path} has no task key"
            leaves[m.group(1)] = path
    assert set(TASKS) <= set(leaves)
    # lm-eval skips a yaml it cannot parse without a word; every leaf must be in the index.
    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    assert set(leaves) <= set(tm.all_tasks)


@pytest.mark.parametrize("name", TASKS)
def test_task_loads_from_local_data(name, data):
    task = load_task(name, data_path=str(data[name]))
    cfg = task.config
    docs = docs_of(task)
    assert len(docs) == sum(1 for line in data[name].open() if line.strip())
    assert all(task.doc_to_text(d) == d["prompt"] and task.doc_to_target(d) == d["answer"] for d in docs)
    hub_path, hub_name, hub_split = HUB[name.removesuffix("_agg64")]
    kw = cfg.dataset_kwargs
    assert (kw["hub_path"], kw.get("hub_name"), kw["hub_split"]) == (hub_path, hub_name, hub_split)
    assert kw["hub_revision"]  # "main" (TODO pin) until a hub commit can be resolved
    gk = cfg.generation_kwargs
    if name.endswith("_agg64"):
        assert cfg.repeats == 64 and gk["do_sample"] is True and gk["temperature"] == 1
        assert {m["metric"] for m in cfg.metric_list} >= {"exact_match", "avg@64", "maj@64", "cov@64", "maj@2"}
    else:
        assert cfg.repeats == 1 and gk["do_sample"] is False and gk["temperature"] == 0
    assert gk["max_gen_toks"] == 32768 and gk["until"] == []


def test_math_prompt_is_the_problem_verbatim(data):
    rows = [json.loads(line) for line in data["openai_math"].open()]
    docs = docs_of(load_task("openai_math", data_path=str(data["openai_math"])))
    assert [d["prompt"] for d in docs] == [r["problem"] for r in rows]
    assert [d["answer"] for d in docs] == [str(r["answer"]) for r in rows]
    from s1kit.records import question_hash

    assert [d["id"] for d in docs] == [question_hash(r["problem"]) for r in rows]


# ---------------------------------------------------------------------------- control variants


@pytest.mark.parametrize(
    "meta, suffix",
    [
        ({}, ""),
        ({"control": "none"}, ""),
        ({"control": "tcc", "budget": 4000}, "\n\nThink for up to 4000 tokens."),
        ({"control": "scc", "budget": 64}, "\n\nThink for up to 64 steps."),
        ({"control": "ccc-long"}, "\n\n" + LONG),
        ({"control": "ccc-short"}, "\n\n" + SHORT),
    ],
)
def test_control_prompt_chosen_by_metadata_not_environment(meta, suffix, data, monkeypatch):
    for var in ("PROMPTTOKEN", "PROMPTSTEP", "PROMPTLONG", "PROMPTSHORT"):
        monkeypatch.setenv(var, "123")  # the fork read these; s1kit must not
    aime = docs_of(load_task("aime24_nofigures", data_path=str(data["aime24_nofigures"]), **meta))
    assert all(d["prompt"] == d["question"] + suffix for d in aime)
    gpqa = docs_of(load_task("gpqa_diamond_openai", data_path=str(data["gpqa_diamond_openai"]), **meta))
    for d in gpqa:
        body = f"{d['question']}\n\nA) {d['choice1']}\nB) {d['choice2']}\nC) {d['choice3']}\nD) {d['choice4']}"
        assert d["prompt"] == body + suffix


@pytest.mark.parametrize(
    "control, budget",
    [("tcc", None), ("scc", 0), ("tcc", "many"), ("tcc", 2.5), ("ccc-long", 100), ("none", 5), ("think-harder", None)],
)
def test_bad_control_metadata_names_the_key(control, budget):
    with pytest.raises(ValueError, match="metadata"):
        official.control_suffix(control, budget)


def test_official_prompt_texts():
    q = "What is $1+1$?"
    assert official.math_prompt(q) == q
    assert official.math_prompt(q, "tcc", "2048") == q + "\n\nThink for up to 2048 tokens."
    assert official.gpqa_prompt(q, ["w", "x", "y", "z"]) == q + "\n\nA) w\nB) x\nC) y\nD) z"
    assert official.gpqa_prompt(q, ["w", "x", "y", "z"], "ccc-short").endswith("D) z\n\n" + SHORT)


# ---------------------------------------------------------------------------- scoring


def gold_and_shuffled(task) -> tuple[list[float], list[float]]:
    docs = docs_of(task)
    golds = [d["answer"] for d in docs]
    shuffled = golds[:]
    random.Random(0).shuffle(shuffled)
    fmt = "<|im_start|>think\nLet me see.\n<|im_start|>answer\nAnswer: {}"
    right = [task.process_results(d, [fmt.format(g)])["exact_match"] for d, g in zip(docs, golds)]
    wrong = [task.process_results(d, [fmt.format(s)])["exact_match"] for d, s in zip(docs, shuffled)]
    return right, wrong


def test_aime24_gold_answers_score_30_of_30():
    right, wrong = gold_and_shuffled(load_task("aime24_nofigures", data_path=str(need(AIME24))))
    assert (len(right), sum(right), sum(wrong)) == (30, 30, 0)


def test_math500_gold_answers_score_500_of_500():
    right, wrong = gold_and_shuffled(load_task("openai_math", data_path=str(need(MATH500))))
    assert (len(right), sum(right)) == (500, 500)
    assert sum(wrong) / 500 <= 0.03  # repeated values ("2" and "2") really are equal


def test_gpqa_scores_the_letter_and_never_defaults_to_a(data):
    task = load_task("gpqa_diamond_openai", data_path=str(data["gpqa_diamond_openai"]))
    docs = docs_of(task)
    for d in docs:
        other = next(x for x in "ABCD" if x != d["answer"])
        assert task.process_results(d, [f"<|im_start|>answer\nAnswer: {d['answer']}"]) == {"exact_match": 1.0}
        assert task.process_results(d, [f"<|im_start|>answer\n\\boxed{{{d['answer']}}}"]) == {"exact_match": 1.0}
        assert task.process_results(d, [f"<|im_start|>answer\nAnswer: {other}"]) == {"exact_match": 0.0}
    a_docs = [d for d in docs if d["answer"] == "A"]
    assert a_docs  # the fork scored "no letter" as A; here it is wrong
    assert task.process_results(a_docs[0], ["<|im_start|>answer\nI do not know"]) == {"exact_match": 0.0}


# ---------------------------------------------------------------------------- GPQA order


def test_gpqa_shuffle_is_per_question_and_ignores_global_random(tmp_path):
    rows = gpqa_rows(200)
    orders = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        before = random.getstate()
        docs = official.gpqa_docs(rows)
        assert random.getstate() == before  # the global RNG is neither used nor advanced
        orders.append([[d[f"choice{i}"] for i in (1, 2, 3, 4)] for d in docs])
    assert orders[0] == orders[1]
    docs = official.gpqa_docs(rows)
    for row, d in zip(rows, docs):
        choices = [d[f"choice{i}"] for i in (1, 2, 3, 4)]
        assert sorted(choices) == sorted([row["Correct Answer"]] + [row[f"Incorrect Answer {j}"] for j in (1, 2, 3)])
        assert choices["ABCD".index(d["answer"])] == row["Correct Answer"]  # the gold follows the shuffle
    letters = [d["answer"] for d in docs]
    assert all(25 <= letters.count(x) <= 75 for x in "ABCD"), {x: letters.count(x) for x in "ABCD"}
    # A question's order depends on that question only, not on its neighbours or position.
    alone = official.gpqa_docs(rows[7:8])[0]
    assert [alone[f"choice{i}"] for i in (1, 2, 3, 4)] == orders[0][7]
    reseeded = official.gpqa_docs(rows, shuffle_seed=1)
    assert sum(a["answer"] != b["answer"] for a, b in zip(docs, reseeded)) > 50
    # ... and through the task, shuffle_seed comes from metadata.
    path = write_jsonl(tmp_path / "gpqa.jsonl", rows[:20])
    via_task = docs_of(load_task("gpqa_diamond_openai", data_path=str(path), shuffle_seed=1))
    assert [d["answer"] for d in via_task] == [d["answer"] for d in reseeded[:20]]


def test_shuffle_choices_matches_the_documented_seed():
    import hashlib

    q = "Which is heavier?"
    seed = int(hashlib.sha256(q.encode()).hexdigest()[:8], 16) ^ 5
    order = list(range(4))
    random.Random(seed).shuffle(order)
    items = ["w1", "w2", "w3", "right"]
    choices, letter = gpqa_order.shuffle_choices(q, "right", ["w1", "w2", "w3"], seed=5)
    assert choices == [items[i] for i in order] and letter == "ABCD"[order.index(3)]
    # A distractor equal to the answer cannot move the gold letter.
    assert gpqa_order.shuffle_choices(q, "x", ["x", "w2", "w3"], seed=5)[1] == letter


# ---------------------------------------------------------------------------- bad input


def test_bad_data_names_the_file_and_record(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        official.load_docs("math", data_path=str(tmp_path / "nope.jsonl"))
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"problem": "p", "answer": "1"}, {"problem": "q"}])
    with pytest.raises(ValueError, match=r"bad.jsonl record 2"):
        official.load_docs("math", data_path=str(bad))
    with pytest.raises(ValueError, match=r"bad.jsonl record 1: missing GPQA fields \['Question'"):
        official.load_docs("gpqa", data_path=str(bad))
    with pytest.raises(ValueError, match="control"):
        official.load_docs("math", data_path=str(bad), control="tcc")  # before any data is read


def test_without_data_path_the_pinned_hub_dataset_is_loaded(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, **kwargs):
        calls.append((path, name, kwargs))
        return gpqa_rows(3)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    # A model revision in the metadata (lm-eval's CLI merges --model_args in) must not collide.
    docs = docs_of(load_task("gpqa_diamond_openai", revision="abc123"))
    assert len(docs) == 3 and {d["answer"] for d in docs} <= set("ABCD")
    assert calls == [("Idavidrein/gpqa", "gpqa_diamond", {"split": "train", "revision": "main"})]  # no remote code


# ---------------------------------------------------------------------------- voting


def test_group_answers_by_equivalence():
    answers = ["1/2", "\\frac{1}{2}", "0.5", "3", "", "3", "7"]
    correct = [False, False, False, False, False, False, False]
    assert voting.group_answers(answers, correct) == [[0, 1, 2], [3, 5], [6]]
    # Correct answers form one group whatever their spelling; empty answers never vote.
    assert voting.group_answers(["7", "", "07", "x"], [True, False, True, False]) == [[0, 2], [3]]


@pytest.mark.parametrize(
    "answers, correct, k, maj",
    [
        (["5", "\\frac{10}{2}", "3", "3"], [True, True, False, False], 4, True),  # tie: the first group wins
        (["3", "3", "5", "\\frac{10}{2}"], [False, False, True, True], 4, False),
        (["3", "3", "5", "5", "5"], [False, False, True, True, True], 4, False),  # only the first 4 vote
        (["3", "3", "5", "5", "5"], [False, False, True, True, True], 5, True),
        (["", "", "", "4"], [False, False, False, True], 4, True),  # empty answers do not outvote
        (["1/2", "0.5", "2/4", "1"], [False, False, False, True], 4, False),  # 3 spellings, one wrong answer
        (["", ""], [False, False], 2, False),
    ],
)
def test_maj_at_k_hand_cases(answers, correct, k, maj):
    assert voting.maj_at_k(answers, correct, k) is maj


def test_cov_avg_and_pass_at_k():
    correct = [False, False, True, False]
    assert [voting.cov_at_k(correct, k) for k in (1, 2, 3, 4)] == [False, False, True, True]
    assert voting.avg_at_k(correct, 4) == 0.25 and voting.avg_at_k(correct, 2) == 0.0
    assert voting.pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert voting.pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert voting.pass_at_k(4, 3, 2) == 1.0 and voting.pass_at_k(4, 0, 4) == 0.0
    assert voting.powers_of_two(64) == [2, 4, 8, 16, 32, 64] and voting.powers_of_two(6) == [2, 4]
    with pytest.raises(ValueError):
        voting.cov_at_k(correct, 5)


def test_sample_metrics_hand_case():
    answers = ["3", "5", "3", "5", "5", "5", "3", "3"]
    correct = [a == "5" for a in answers]
    got = voting.sample_metrics(answers, correct)
    assert got == {
        "exact_match": 0.0,
        "avg@2": 0.5, "maj@2": 0.0, "cov@2": 1.0,  # 3 vs 5 tie: "3" came first
        "avg@4": 0.5, "maj@4": 0.0, "cov@4": 1.0,
        "avg@8": 0.5, "maj@8": 0.0, "cov@8": 1.0,
    }  # fmt: skip
    assert voting.sample_metrics(answers[1:5], correct[1:5])["maj@4"] == 1.0


# ---------------------------------------------------------------------------- agg64 end to end


def test_agg64_task_through_lm_eval(data):
    """64 responses per question reach process_results; maj/cov/avg aggregate as computed."""
    import lm_eval
    from lm_eval.api.model import LM
    from lm_eval.tasks import TaskManager

    task_name = "aime24_nofigures_agg64"
    docs = docs_of(load_task(task_name, data_path=str(data[task_name])))[:3]
    gold = {d["prompt"]: d["answer"] for d in docs}
    pattern = {0: 64, 1: 20, 2: 0}  # correct samples of each question, placed first

    class Scripted(LM):
        def __init__(self):
            super().__init__()
            self.seen: dict[str, int] = {}
            self.kwargs = []

        def generate_until(self, requests, disable_tqdm=False):
            out = []
            for r in requests:
                ctx, kw = r.args
                self.kwargs.append(kw)
                i = self.seen[ctx] = self.seen.get(ctx, -1) + 1
                q = list(gold).index(ctx)
                ans = gold[ctx] if i < pattern[q] else str(900 + i % 2)  # wrong: 900 / 901
                out.append(f"<|im_start|>think\nhm\n<|im_start|>answer\nAnswer: {ans}")
            return out

        def loglikelihood(self, requests, disable_tqdm=False):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            raise NotImplementedError

    lm = Scripted()
    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={"data_path": str(data[task_name])})
    out = lm_eval.simple_evaluate(model=lm, tasks=[task_name], task_manager=tm, limit=3, log_samples=True)
    assert set(lm.seen.values()) == {63} and len(lm.kwargs) == 3 * 64
    assert lm.kwargs[0]["do_sample"] is True and lm.kwargs[0]["temperature"] == 1
    res = out["results"][task_name]
    assert res["exact_match,all"] == pytest.approx(2 / 3)
    assert res["avg@64,all"] == pytest.approx((64 + 20 + 0) / 64 / 3)
    assert res["cov@64,all"] == pytest.approx(2 / 3) and res["cov@16,all"] == pytest.approx(2 / 3)
    # q1 at k=64: 20 right vs 22 "900" and 22 "901": a wrong answer wins; at k=32: 20 vs 6 and 6.
    assert res["maj@64,all"] == pytest.approx(1 / 3) and res["maj@32,all"] == pytest.approx(2 / 3)
    samples = out["samples"][task_name]
    assert all(len(s["resps"][0]) == 64 for s in samples)
