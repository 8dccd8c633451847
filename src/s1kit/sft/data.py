"""The training data: tokenized examples, the streams of micro-batches drawn from them, and
their collation into padded tensors."""

from __future__ import annotations

import json
import random
from pathlib import Path

from s1kit.records import read_table
from s1kit.sft.config import TrainConfig
from s1kit.sft.format import IGNORE_INDEX, chat_text, thinking_spans, tokenize_masked


def load_examples(data_path: str | Path, tokenizer, cfg: TrainConfig) -> tuple[list, int]:
    """The rows of the selection as tokenized, loss-masked examples, and how many were cut at block_size."""
    table = read_table(data_path)
    examples, cut = [], 0
    for row in table.to_pylist():
        text = chat_text(tokenizer, row["question"], row["thinking"], row["attempt"], cfg.system_prompt)
        spans = json.loads(row.get("thinking_masked") or "[]")
        tok = tokenize_masked(tokenizer, text, cfg.block_size, thinking_spans(text, row["thinking"], spans))
        cut += tok.truncated
        examples.append(tok)
    if not examples:
        raise ValueError(f"{data_path}: no training examples")
    return examples, cut



def collate(batch, pad_id: int):
    """Right-padded input ids, attention mask and labels (IGNORE_INDEX on padding) of a micro-batch."""
    import torch  # heavy: torch, only for training

    width = max(len(t.input_ids) for t in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, t in enumerate(batch):
        n = len(t.input_ids)
        ids[i, :n] = torch.tensor(t.input_ids)
        labels[i, :n] = torch.tensor(t.labels)
        mask[i, :n] = 1
    return ids, mask, labels


class LengthBatcher:
    """Batches of similar length (little padding); with a curriculum, short examples first.

    A batch is a window of neighbours in length order around an example drawn with
    probability proportional to its length, so every token is seen about equally often.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        self.order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
        self.lengths = [lengths[i] for i in self.order]
        self.batch_size = min(batch_size, len(lengths))
        self.rng = random.Random(seed)

    def sample(self, max_len: float) -> list[int]:
        n = max(self.batch_size, sum(1 for x in self.lengths if x <= max_len))
        centre = self.rng.choices(range(n), weights=self.lengths[:n])[0]
        lo = min(max(0, centre - self.batch_size // 2), n - self.batch_size)
        return self.order[lo : lo + self.batch_size]

    def get_state(self):
        return self.rng.getstate()

    def set_state(self, state) -> None:
        self.rng.setstate((state[0], tuple(state[1]), state[2]))  # a serializer may hand back lists


class EpochSampler:
    """The paper's sampling (HF Trainer): each epoch a seeded shuffle of all examples, taken
    in order, micro-batch after micro-batch.

    ``order="kit"``: epochs follow each other without a gap (a Python-seeded shuffle).
    ``order="hf_trainer"``: as transformers.Trainer 4.46.1 with accelerate 1.0.1 on
    ``global_batch`` processes x ``batch_size`` per device (the official run: 16 x 1): the epoch's
    order is accelerate's SeedableRandomSampler (``torch.randperm`` with a generator seeded
    ``seed + epoch``), and BatchSamplerShard (even_batches) fills the epoch's last, short global
    batch with the first examples of the same epoch, so an epoch is ceil(n / global_batch) steps
    (1,000 examples at 16: 63, some seen twice) and the next one starts a new shuffle
    (tests/test_sft_hf_trainer.py runs the real sampler).
    """

    def __init__(self, n: int, batch_size: int, seed: int, order: str = "kit", global_batch: int | None = None):
        self.n, self.batch_size, self.seed, self.pos, self.order = n, min(batch_size, n), seed, 0, order
        if order == "hf_trainer":
            self.batch_size = batch_size  # even_batches pads rather than clips
            g = global_batch or batch_size
            self.epoch_len = -(-n // g) * g  # a whole number of global batches
        else:
            self.epoch_len = n
        self._epoch, self._perm = -1, []

    def _shuffle(self, epoch: int) -> list[int]:
        if self.order == "hf_trainer":
            import torch  # heavy: torch, only for the Trainer's shuffle

            # RandomSampler.__iter__ with SeedableRandomSampler's generator (seed = initial_seed + epoch)
            return torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + epoch)).tolist()
        perm = list(range(self.n))
        random.Random(self.seed * 100_003 + epoch).shuffle(perm)
        return perm

    def _at(self, i: int) -> int:
        epoch, k = divmod(i, self.epoch_len)
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, self._shuffle(epoch)
        return self._perm[k % self.n]  # past n (hf_trainer only): the epoch's start again

    def sample(self, max_len: float = float("inf")) -> list[int]:
        out = [self._at(self.pos + j) for j in range(self.batch_size)]
        self.pos += self.batch_size
        return out

    def get_state(self) -> int:
        return self.pos

    def set_state(self, state: int) -> None:
        self.pos = int(state)


def make_batcher(examples: list, cfg: TrainConfig) -> LengthBatcher | EpochSampler:
    """The micro-batch stream of the config's sampling."""
    if cfg.sampling == "epoch":
        return EpochSampler(len(examples), cfg.per_device_batch_size, cfg.seed, cfg.epoch_order,
                            cfg.global_batch_size)
    return LengthBatcher([len(t.input_ids) for t in examples], cfg.per_device_batch_size, cfg.seed)
