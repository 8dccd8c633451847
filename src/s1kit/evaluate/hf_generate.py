"""A transformers generate backend for the budget controller that keeps the KV cache.

``HFGenerator`` is a ``controller.GenerateFn``. It runs its own batched decode loop (greedy or
temperature / top-k / top-p sampling) so that it can carry the KV cache from one call to
the next: every "Wait" round, rejection try and the answer continue a prompt that shares a
prefix with an earlier call's sequence for the same ``GenRequest.key``. After each call
every request's cache row is parked under its key (until ``reset``); the next call with
that key reuses it: positions past the common prefix (a stripped stop, the tokens of a
rejected try) are masked out instead of cropped, and only the new suffix is prefilled.
Each row has its own attention mask over the cache and position ids from the cumulative
mask, so holes and padding neither attend nor shift positions. When holes would make the
cache more than ``1 + max_waste`` times the longest prompt, the call starts afresh.

It also never samples ids >= ``vocab_size`` (padded embedding rows have no token), and
applies ``min_tokens`` by suppressing single-token stops until that many are generated.
Models with sliding-window attention get no cache reuse (holes would count as window).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from s1kit.evaluate.controller import LENGTH, STOP, GenRequest, GenResult

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_tokens")


@dataclass
class _Row:
    """One request's cache: its live tokens, their cache positions, the row's attention
    mask over the cache and, per layer, its key/value tensors ([1, heads, T, dim])."""

    tokens: list[int]
    positions: list[int]
    mask: torch.Tensor | None = None
    kv: list[tuple[torch.Tensor, torch.Tensor]] | None = None


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    x, y = torch.tensor(a[:n]), torch.tensor(b[:n])
    diff = (x != y).nonzero()
    return int(diff[0, 0]) if len(diff) else n


def _layers(cache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per layer (keys, values) of a DynamicCache, across transformers versions."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache))


def _supports_reuse(model) -> bool:
    cfg = model.config
    types = getattr(cfg, "layer_types", None) or ["full_attention"]
    return not getattr(cfg, "use_sliding_window", False) and all(t == "full_attention" for t in types)


class HFGenerator:
    """``generate(requests) -> results`` over a causal LM; see the module docstring."""

    def __init__(
        self,
        model,
        vocab_size: int,
        pad_id: int,
        decode: Callable[[Sequence[int]], str],
        reuse_cache: bool = True,
        max_waste: float = 1.0,
    ) -> None:
        self.model, self.vocab_size, self.pad_id, self.decode = model, vocab_size, pad_id, decode
        self.reuse_cache = reuse_cache and _supports_reuse(model)
        params = inspect.signature(model.forward).parameters
        # transformers renamed past_key_values to cache (5.x); accept both.
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._keep_arg = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
        self.max_waste = max_waste
        self.stats = {"calls": 0, "prefill_tokens": 0, "reused_tokens": 0, "decode_steps": 0}
        self.reset()

    def reset(self) -> None:
        """Forget all cached rows (e.g. between lm-eval chunks)."""
        self._park: dict[Hashable, _Row] = {}
        self._cache, self._mask, self._rows = None, None, []

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------ public

    @torch.no_grad()
    def __call__(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        if not requests:
            return []
        sampling = dict(requests[0].sampling)
        if any(dict(r.sampling) != sampling for r in requests):
            raise ValueError("HFGenerator: all requests of one call must share sampling parameters")
        unknown = sorted(set(sampling) - set(SAMPLING_KEYS))
        if unknown:
            raise ValueError(f"HFGenerator: unsupported sampling parameters {unknown}; supported {SAMPLING_KEYS}")
        if any(r.max_new_tokens < 1 for r in requests):
            raise ValueError("HFGenerator: max_new_tokens must be >= 1")
        self.stats["calls"] += 1
        logits = self._prefill(requests)
        results = self._decode(requests, logits, sampling)
        self._park_rows(requests)
        return results

    # ------------------------------------------------------------------ prefill

    def _plan(self, requests: Sequence[GenRequest]) -> tuple[list[_Row | None], list[int]]:
        """Per request: the parked row to continue (or None) and how many prompt tokens it holds."""
        sources, reused = [], []
        for r in requests:
            row = self._park.get(r.key) if self.reuse_cache and r.key is not None else None
            # Keep at least the last prompt token to feed: its logits start the generation.
            n = min(_common_prefix(row.tokens, r.prompt), len(r.prompt) - 1) if row is not None else 0
            sources.append(row if n > 0 else None)
            reused.append(max(n, 0))
        used = [row for row in sources if row is not None]
        if used:
            old_len = max(row.mask.shape[0] for row in used)
            longest = max(len(r.prompt) for r in requests)
            suffix = max(len(r.prompt) - n for r, n in zip(requests, reused))
            if old_len + suffix > (1 + self.max_waste) * longest:  # too many holes: start afresh
                return [None] * len(requests), [0] * len(requests)
        return sources, reused

    def _assemble(self, sources: list[_Row | None]):
        """A batch cache from parked rows, right-padded with masked zeros to one length."""
        from transformers import DynamicCache  # heavy: transformers, only when a cache is rebuilt

        cache, dev = DynamicCache(), self.device
        used = [row for row in sources if row is not None]
        if not used:
            return cache, torch.zeros(len(sources), 0, dtype=torch.long, device=dev)
        length = max(row.mask.shape[0] for row in used)
        mask = torch.zeros(len(sources), length, dtype=torch.long, device=dev)
        for b, row in enumerate(sources):
            if row is not None:
                mask[b, : row.mask.shape[0]] = row.mask
        for layer in range(len(used[0].kv)):
            parts = ([], [])
            for row in sources:
                for part, t in zip(parts, row.kv[layer] if row is not None else used[0].kv[layer]):
                    t = t if row is not None else torch.zeros_like(t)
                    part.append(torch.nn.functional.pad(t, (0, 0, 0, length - t.shape[2])))
            cache.update(torch.cat(parts[0]), torch.cat(parts[1]), layer)
        return cache, mask

    def _prefill(self, requests: Sequence[GenRequest]) -> torch.Tensor:
        dev = self.device
        sources, reused = self._plan(requests)
        cache, mask = self._assemble(sources)
        old_len = mask.shape[1]
        rows = []
        for b, (src, n) in enumerate(zip(sources, reused)):
            if src is None:
                rows.append(_Row([], []))
            else:
                mask[b, src.positions[n:]] = 0  # beyond the common prefix: a hole
                rows.append(_Row(src.tokens[:n], src.positions[:n]))
        suffixes = [list(r.prompt[len(row.tokens) :]) for r, row in zip(requests, rows)]
        width = max(len(s) for s in suffixes)
        ids = torch.full((len(requests), width), self.pad_id, dtype=torch.long, device=dev)
        new_mask = torch.zeros(len(requests), width, dtype=torch.long, device=dev)
        for b, (s, row) in enumerate(zip(suffixes, rows)):
            ids[b, width - len(s) :] = torch.tensor(s, dtype=torch.long)
            new_mask[b, width - len(s) :] = 1
            row.tokens += s
            row.positions += list(range(old_len + width - len(s), old_len + width))
        self.stats["prefill_tokens"] += sum(len(s) for s in suffixes)
        self.stats["reused_tokens"] += sum(n for src, n in zip(sources, reused) if src is not None)
        self._cache, self._mask, self._rows = cache, torch.cat([mask, new_mask], dim=1), rows
        return self._forward(ids)

    def _park_rows(self, requests: Sequence[GenRequest]) -> None:
        """Keep each request's cache row for later calls with the same key."""
        if not self.reuse_cache:
            self._cache = None
            return
        kv = _layers(self._cache)
        for b, (r, row) in enumerate(zip(requests, self._rows)):
            if r.key is not None:
                row.mask = self._mask[b]
                row.kv = [(k[b : b + 1], v[b : b + 1]) for k, v in kv]
                self._park[r.key] = row
        self._cache = None  # the parked views hold what is needed

    def _forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Feed ``ids`` (the last columns of ``self._mask``); return the last position's logits."""
        mask = self._mask
        # Positions count live tokens only, so holes and padding do not shift them.
        position_ids = (mask.cumsum(dim=1) - 1).clamp(min=0)[:, -ids.shape[1] :]
        kwargs = {self._cache_arg: self._cache}
        if self._keep_arg:
            kwargs[self._keep_arg] = 1  # only the last position's logits: a 32K prefill x 152K vocab is large
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=True, **kwargs)
        cache = getattr(out, "cache", None)
        self._cache = cache if cache is not None else out.past_key_values
        return out.logits[:, -1, :].float()

    # ------------------------------------------------------------------ decode

    def _decode(
        self, requests: Sequence[GenRequest], logits: torch.Tensor, sampling: Mapping[str, Any]
    ) -> list[GenResult]:
        dev = self.device
        n = len(requests)
        gen: list[list[int]] = [[] for _ in range(n)]
        finish: list[str | None] = [None] * n
        single = [{s[0] for s in r.stop_ids if len(s) == 1} for r in requests]
        min_tokens = int(sampling.get("min_tokens", 0) or 0)
        warpers = self._warpers(sampling)
        for step in range(max(r.max_new_tokens for r in requests)):
            logits[:, self.vocab_size :] = float("-inf")  # padded rows of the embedding: no token
            if step < min_tokens:
                for b in range(n):
                    if single[b]:
                        logits[b, sorted(single[b])] = float("-inf")
            nxt = self._sample(logits, warpers).tolist()  # one device sync per step
            alive = []
            for b in range(n):
                if finish[b] is not None:
                    continue
                gen[b].append(nxt[b])
                finish[b] = self._finished(requests[b], gen[b], single[b])
                if finish[b] is None:
                    alive.append(b)
            if not alive:
                break
            # Feed the new tokens; rows that just finished get a masked pad instead.
            feed, col = [self.pad_id] * n, [0] * n
            pos = self._mask.shape[1]
            for b in alive:
                feed[b], col[b] = gen[b][-1], 1
                self._rows[b].tokens.append(gen[b][-1])
                self._rows[b].positions.append(pos)
            self._mask = torch.cat([self._mask, torch.tensor(col, device=dev).view(n, 1)], dim=1)
            self.stats["decode_steps"] += 1
            logits = self._forward(torch.tensor(feed, device=dev).view(n, 1))
        return [GenResult(g, f or LENGTH) for g, f in zip(gen, finish)]

    def _finished(self, req: GenRequest, gen: list[int], single: set[int]) -> str | None:
        """STOP if ``gen`` now ends with a stop, LENGTH if it is full, else None."""
        if gen[-1] in single:
            return STOP
        for seq in req.stop_ids:
            if len(seq) > 1 and len(gen) >= len(seq) and tuple(gen[-len(seq) :]) == tuple(seq):
                return STOP
        for s in req.stop_strings:
            # Decode only a tail window: enough tokens to hold the stop string.
            if s in self.decode(gen[-(len(s) + 2) :]):
                return STOP
        return LENGTH if len(gen) >= req.max_new_tokens else None

    @staticmethod
    def _warpers(sampling: Mapping[str, Any]) -> list:
        from transformers.generation.logits_process import (  # heavy: transformers, only when sampling
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        temperature = float(sampling.get("temperature", 0.0) or 0.0)
        if temperature == 0.0:
            return []
        warpers = [TemperatureLogitsWarper(temperature)]
        if sampling.get("top_k"):
            warpers.append(TopKLogitsWarper(int(sampling["top_k"])))
        if sampling.get("top_p") is not None and float(sampling["top_p"]) < 1.0:
            warpers.append(TopPLogitsWarper(float(sampling["top_p"])))
        return warpers

    @staticmethod
    def _sample(logits: torch.Tensor, warpers: list) -> torch.Tensor:
        if not warpers:
            return logits.argmax(dim=-1)
        for w in warpers:
            logits = w(None, logits)
        return torch.multinomial(torch.softmax(logits, dim=-1), num_samples=1).squeeze(1)
