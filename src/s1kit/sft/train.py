"""Fine-tune a causal LM on a selection in the s1 format (arXiv 2501.19393v3 Appendix D).

One loop for the tiny CPU default and the paper recipe (issue #6). Distribution comes from
the launcher (torchrun; ``s1kit.sft.launch`` builds the line): accelerate reads RANK /
WORLD_SIZE from the environment, every rank runs this file and rank 0 writes the outputs.

    s1kit train --model results/models/tiny-base --data results/select/s1K/dataset.parquet \\
        --config-json '{"lr": 3e-3}' --out-dir results/train/tiny-s1
    torchrun --standalone --nproc_per_node=8 --no-python s1kit train ... \\
        --config-json '{"fsdp": "full_shard", "bf16": true, "gradient_checkpointing": true}'

Every optimizer step draws the whole global batch (world size x accumulation micro-batches)
from one seeded stream and each rank takes its share, so 2 processes x 1 micro-batch and
1 process x 2 accumulated micro-batches see the same examples; checkpoints (accelerate
``save_state``: model, optimizer, RNG, plus this loop's step, stream state and accounting)
make a killed run resume where the last complete checkpoint left it.

Loading a checkpoint unpickles (accelerate's optimizer and RNG files with torch's
``weights_only=True``; under FSDP torch.distributed.checkpoint's ``.metadata`` with plain
pickle), so a resume loads only what this loop wrote: the loop's own state is JSON, every
file is checked against the sha256 recorded in the checkpoint's marker when it was written,
and the marker is signed (HMAC-SHA256) with a key kept outside the checkpoint directory
(docs/train.md, "Checkpoints and resume"). The checkpoint directory is the kit's own (a
marker file): an existing directory with other files is refused, and cleanup deletes only
what the kit wrote there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import random
import re
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from s1kit.hf import TOKENIZER_SUBDIR, load_tokenizer, tokenizer_path
from s1kit.progress import console, eta_text
from s1kit.records import atomic_dir, atomic_write_text, read_table
from s1kit.sft.format import IGNORE_INDEX, chat_text, thinking_spans, tokenize_masked

FSDP_STRATEGIES = ("full_shard", "shard_grad_op", "hybrid_shard")
NO_DECAY = ("bias_norm", "bias_layernorm")
EPOCH_ORDERS = ("kit", "hf_trainer")
# transformers.Trainer.get_decay_parameter_names' name patterns (transformers >= 4.48); 4.46.1
# excluded only biases and nn.LayerNorm modules (docs/fidelity.md, Training).
_NORM_NAMES = re.compile(r"bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)")
# For fault-injection tests: the process SIGKILLs itself when about to run this step.
KILL_AT_STEP_ENV = "S1KIT_TRAIN_KILL_AT_STEP"


@dataclass(frozen=True)
class TrainConfig:
    lr: float = field(default=1e-5, metadata={"help": "peak learning rate (paper: 1e-5)"})
    epochs: float = field(default=5, metadata={"help": "passes over the selection (paper: 5)"})
    max_steps: int = field(default=0, metadata={"help": "if > 0, overrides epochs"})
    global_batch_size: int = field(default=16, metadata={"help": "examples per optimizer step (paper: 16)"})
    per_device_batch_size: int = field(default=1, metadata={"help": "micro-batch per process"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "linear warmup share of steps (paper: 5%)"})
    min_lr_rate: float = field(default=0.0, metadata={"help": "cosine floor as a fraction of lr (paper: 0)"})
    adam_beta1: float = 0.9
    adam_beta2: float = field(default=0.95, metadata={"help": "paper: 0.95"})
    weight_decay: float = field(default=1e-4, metadata={"help": "paper: 1e-4"})
    no_decay: str = field(default="bias_norm", metadata={
        "help": "parameters without weight decay: bias_norm = biases and norm weights (transformers.Trainer "
                "today); bias_layernorm = biases and nn.LayerNorm weights only, so Qwen2RMSNorm weights decay "
                "(transformers 4.46.1, the official run; config/s1.yaml)"})
    max_grad_norm: float = 1.0
    block_size: int = field(default=32768, metadata={"help": "max tokens per example (paper: 32768; s1.1: 20000)"})
    curriculum_fraction: float = field(
        default=0.0, metadata={"help": "share of steps over which the max example length rises to the longest; 0 = off"}
    )
    sampling: str = field(default="length_weighted", metadata={
        "help": "length_weighted: windows of similar length, drawn by length (tiny default); "
                "epoch: a seeded shuffle per epoch, every example once per epoch (paper, HF Trainer)"})
    epoch_order: str = field(default="kit", metadata={
        "help": "sampling epoch: kit = a Python-seeded shuffle per epoch, epochs back to back (the last step of "
                "an epoch takes the next epoch's first examples); hf_trainer = as transformers.Trainer with "
                "accelerate (4.46.1 / 1.0.1, the official run): torch.randperm seeded seed + epoch "
                "(SeedableRandomSampler), the last global batch of an epoch filled from the start of the same "
                "epoch (even_batches); config/s1.yaml"})
    seed: int = 42
    log_every: int = 50
    system_prompt: str | None = field(default=None, metadata={"help": "system message; None = none"})
    world_size: int = field(default=0, metadata={"help": "processes (GPUs); 0 = from the launcher (WORLD_SIZE)"})
    # ---- scale (paper: FSDP full_shard wrapping Qwen2DecoderLayer, bf16, checkpointing) ----
    fsdp: bool | str = field(default=False, metadata={"help": "false | true (= full_shard) | " + " | ".join(FSDP_STRATEGIES)})
    fsdp_wrap: str = field(default="Qwen2DecoderLayer", metadata={"help": "module class wrapped as one FSDP unit"})
    fsdp_version: int = field(default=2, metadata={"help": "1 = FullyShardedDataParallel, 2 = fully_shard"})
    bf16: bool = field(default=False, metadata={"help": "bf16 autocast over float32 master weights (paper: on)"})
    dtype: str = field(default="float32", metadata={"help": "dtype the weights are loaded and kept in"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "recompute activations in backward"})
    cpu_ram_efficient_loading: bool = field(
        default=False, metadata={"help": "FSDP: only rank 0 reads the weights, then broadcasts them"})
    attn_implementation: str | None = field(default=None, metadata={"help": "sdpa | flash_attention_2 | eager; None = default"})
    # ---- checkpoints and resume ----
    save_steps: int = field(default=0, metadata={"help": "checkpoint every N optimizer steps; 0 = never"})
    checkpoint_dir: str | None = field(default=None, metadata={
        "help": "None = <out-dir>/checkpoints (shared FS if multi-node); a relative path must lie inside "
                "<out-dir>; an absolute one is a dedicated directory: new, empty, or one s1kit created"})
    save_total_limit: int = field(default=1, metadata={"help": "complete checkpoints kept"})
    keep_checkpoints: bool = field(default=False, metadata={"help": "keep them after the final model is saved"})
    # ---- accounting and optional services (off by default) ----
    peak_flops: float | None = field(default=None, metadata={"help": "peak FLOP/s per device for MFU; None = GPU table"})
    push_to_hub: str | None = field(default=None, metadata={"help": "hub repo id to upload the final model to (HF_TOKEN)"})
    report_to: str = field(default="none", metadata={"help": "accelerate tracker: none | tensorboard | wandb | ..."})

    def __post_init__(self) -> None:
        if self.world_size == 0:
            # frozen: resolved once here, so that grad_accum and the saved config are concrete
            object.__setattr__(self, "world_size", int(os.environ.get("WORLD_SIZE", "1")))
        if self.world_size < 1 or self.per_device_batch_size < 1 or self.global_batch_size < 1:
            raise ValueError("world_size, per_device_batch_size and global_batch_size must be >= 1")
        per_step = self.world_size * self.per_device_batch_size
        if self.global_batch_size % per_step:
            raise ValueError(
                f"global_batch_size {self.global_batch_size} is not divisible by world_size x "
                f"per_device_batch_size = {self.world_size} x {self.per_device_batch_size}"
            )
        if self.fsdp not in (False, True) and self.fsdp not in FSDP_STRATEGIES + ("",):
            raise ValueError(f"fsdp {self.fsdp!r}: expected true, false or one of {', '.join(FSDP_STRATEGIES)}")
        if self.fsdp_version not in (1, 2):
            raise ValueError(f"fsdp_version {self.fsdp_version}: expected 1 or 2")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype {self.dtype!r}: expected float32, bfloat16 or float16")
        if self.sampling not in ("length_weighted", "epoch"):
            raise ValueError(f"sampling {self.sampling!r}: expected length_weighted or epoch")
        if self.sampling == "epoch" and self.curriculum_fraction > 0:
            raise ValueError("curriculum_fraction needs sampling: length_weighted (epoch sampling ignores length)")
        if self.no_decay not in NO_DECAY:
            raise ValueError(f"no_decay {self.no_decay!r}: expected one of {', '.join(NO_DECAY)}")
        if self.save_steps < 0 or self.save_total_limit < 1:
            raise ValueError("save_steps must be >= 0 and save_total_limit >= 1")
        if self.epoch_order not in EPOCH_ORDERS:
            raise ValueError(f"epoch_order {self.epoch_order!r}: expected one of {', '.join(EPOCH_ORDERS)}")
        if self.epoch_order != "kit" and self.sampling != "epoch":
            raise ValueError(f"epoch_order {self.epoch_order} needs sampling: epoch")
        if self.checkpoint_dir is not None:
            parts = Path(self.checkpoint_dir).parts
            # "." or "results/.." would name a directory holding other things, which cleanup would hit
            if not self.checkpoint_dir.strip() or os.path.normpath(self.checkpoint_dir) in (".", "/") or ".." in parts:
                raise ValueError(f"checkpoint_dir {self.checkpoint_dir!r}: name a directory of its own (no '.', "
                                 "'..' or '/'); leave it unset for <out-dir>/checkpoints")

    @property
    def grad_accum(self) -> int:
        return self.global_batch_size // (self.world_size * self.per_device_batch_size)

    @property
    def fsdp_strategy(self) -> str | None:
        return "full_shard" if self.fsdp is True else (self.fsdp or None)


# Settings that do not change what is computed: a checkpoint written under other values of
# these resumes; any other difference refuses to resume (a stale checkpoint of another run).
NOT_IN_FINGERPRINT = {"log_every", "save_steps", "checkpoint_dir", "save_total_limit", "keep_checkpoints",
                      "peak_flops", "push_to_hub", "report_to", "gradient_checkpointing",
                      "cpu_ram_efficient_loading"}


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """The learning rate of optimizer step ``step`` (0-based): linear warmup from 0 over
    ceil(warmup_ratio x total) steps, then cosine from lr to lr * min_lr_rate, as the HF
    Trainer's ``cosine`` (``cosine_with_min_lr``) schedule, so step 0 runs at lr 0."""
    warmup = math.ceil(cfg.warmup_ratio * total)
    if step < warmup:
        return cfg.lr * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return cfg.lr * (cfg.min_lr_rate + (1 - cfg.min_lr_rate) * 0.5 * (1 + math.cos(math.pi * progress)))


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
            import torch

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


def decay_parameter_names(model, no_decay: str = "bias_norm") -> set[str]:
    """Names of the parameters that get weight decay: not biases and not in an nn.LayerNorm,
    and with ``bias_norm`` also not named like a norm (Qwen2RMSNorm: ``input_layernorm``,
    ``post_attention_layernorm``, ``model.norm``)."""
    import torch

    names = set()
    for module_name, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            continue
        for name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{name}" if module_name else name
            skip = _NORM_NAMES.search(full.lower()) if no_decay == "bias_norm" else "bias" in full
            if not skip:
                names.add(full)
    return names


def param_groups(model, cfg: TrainConfig) -> list[dict]:
    """The optimizer's two groups, as transformers.Trainer.create_optimizer builds them:
    weight decay on :func:`decay_parameter_names`, none on the rest."""
    decay = decay_parameter_names(model, cfg.no_decay)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in named if n in decay], "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
    ]


def load_examples(data_path: str | Path, tokenizer, cfg: TrainConfig) -> tuple[list, int]:
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
    import torch

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


# ---- distribution -------------------------------------------------------------------


def fsdp_plugin_kwargs(cfg: TrainConfig) -> dict | None:
    """Arguments of accelerate's FSDP plugin for the config: the paper's full_shard with one
    unit per decoder layer; sharded checkpoints (each rank writes its own shard, no gather)."""
    strategy = cfg.fsdp_strategy
    if strategy is None:
        return None
    if cfg.fsdp_version == 2 and strategy == "hybrid_shard":
        raise ValueError("fsdp hybrid_shard needs fsdp_version 1 (FSDP2 takes a 2-D device mesh instead)")
    kw = {"sharding_strategy": strategy.upper()} if cfg.fsdp_version == 1 else {
        "reshard_after_forward": strategy != "shard_grad_op"}
    if cfg.cpu_ram_efficient_loading:
        kw["sync_module_states"] = True  # rank 0 loads, the others receive its weights
    return {
        "fsdp_version": cfg.fsdp_version,
        "auto_wrap_policy": "transformer_based_wrap",
        "transformer_cls_names_to_wrap": [cfg.fsdp_wrap],
        "state_dict_type": "SHARDED_STATE_DICT",
        "cpu_ram_efficient_loading": cfg.cpu_ram_efficient_loading,
        **kw,
    }


def fsdp_plugin(cfg: TrainConfig):
    """The plugin itself; accelerate refuses to build one without an accelerator device."""
    from accelerate.utils import FullyShardedDataParallelPlugin

    kw = fsdp_plugin_kwargs(cfg)
    return None if kw is None else FullyShardedDataParallelPlugin(**kw)


def make_accelerator(cfg: TrainConfig, project_dir: Path):
    """The Accelerator, created before the model so that cpu_ram_efficient_loading applies."""
    import torch
    from accelerate import Accelerator

    cuda = torch.cuda.is_available()
    kw = {}
    if cfg.fsdp_strategy and cuda:
        kw["fsdp_plugin"] = fsdp_plugin(cfg)
        if cfg.cpu_ram_efficient_loading:
            # transformers loads on rank 0 only (meta elsewhere) when both are set
            os.environ["ACCELERATE_USE_FSDP"] = "true"
            os.environ["FSDP_CPU_RAM_EFFICIENT_LOADING"] = "true"
    elif cfg.fsdp_strategy:
        print(f"s1kit train: warning: fsdp {cfg.fsdp_strategy} needs CUDA; running unsharded (DDP on CPU)")
    if cfg.report_to != "none":
        kw["log_with"] = cfg.report_to
    # cpu=True without CUDA: under torchrun accelerate then picks gloo (MULTI_CPU)
    return Accelerator(cpu=not cuda, gradient_accumulation_steps=cfg.grad_accum,
                       mixed_precision="bf16" if cfg.bf16 else "no", project_dir=str(project_dir), **kw)


class RunState:
    """What a checkpoint holds besides model, optimizer and RNGs: the step (the schedule is
    a function of it), the batch stream's position and the accounting so far."""

    def __init__(self, batcher: LengthBatcher | EpochSampler):
        self.batcher = batcher
        self.step, self.runtime, self.checkpoint_s, self.tokens, self.flops = 0, 0.0, 0.0, 0, 0.0
        self.log: list[dict] = []
        self.resumed_from: list[int] = []

    def state_dict(self) -> dict:
        return {"step": self.step, "runtime": self.runtime, "checkpoint_s": self.checkpoint_s,
                "tokens": self.tokens, "flops": self.flops, "log": self.log, "resumed_from": self.resumed_from,
                "sampler": self.batcher.get_state()}

    def load_state_dict(self, d: dict) -> None:
        self.step, self.runtime, self.checkpoint_s = d["step"], d["runtime"], d["checkpoint_s"]
        self.tokens, self.flops, self.log, self.resumed_from = d["tokens"], d["flops"], d["log"], d["resumed_from"]
        self.batcher.set_state(d["sampler"])


# ---- checkpoints --------------------------------------------------------------------

MARKER = "s1kit_resume.json"
STATE_FILE = "s1kit_state.json"  # RunState as JSON (accelerate would pickle it, loaded with weights_only=False)
_STEP_DIR = re.compile(r"^step-(\d+)$")
_STEP_ANY = re.compile(r"^step-(\d+)(\.tmp)?$")  # what save_checkpoint writes, complete or not
OWNER_FILE = "s1kit_checkpoints.json"  # written first into a checkpoint directory s1kit uses
KEY_FILE = ".s1kit_checkpoint_key"  # in <out-dir>, outside the checkpoint directory
KEY_ENV = "S1KIT_CHECKPOINT_KEY"  # overrides the key file (e.g. from a secrets manager)


def checkpoint_root(cfg: TrainConfig, out_dir: Path) -> Path:
    """Where checkpoints go: <out-dir>/checkpoints, a directory inside <out-dir>, or (told so
    with an absolute path) a dedicated directory elsewhere; never <out-dir> itself, nor one
    holding it or the final model (cleanup would remove them)."""
    if cfg.checkpoint_dir is None:
        return out_dir / "checkpoints"
    root = Path(cfg.checkpoint_dir)
    here, out = root.resolve(), out_dir.resolve()
    holds = [p for p in (out, out / "model", out / "metrics.json") if p.is_relative_to(here)]
    if holds or here.is_relative_to(out / "model") or (not root.is_absolute() and not here.is_relative_to(out)):
        raise ValueError(f"hparams.checkpoint_dir {cfg.checkpoint_dir!r} (train.runs.<run>.hparams.checkpoint_dir): "
                         f"a relative path must name a directory inside the run's output directory {out_dir} "
                         f"(unset: {out_dir / 'checkpoints'}), other than model/; an absolute path, a directory "
                         "of its own")
    return root


def claim_checkpoint_root(root: Path) -> None:
    """Refuse a checkpoint directory that exists, is not empty and was not made by s1kit: the
    kit deletes its checkpoints when done and must not take anyone's files with them."""
    if root.is_dir() and not (root / OWNER_FILE).is_file() and any(root.iterdir()):
        raise ValueError(f"checkpoint_dir {root} (train.runs.<run>.hparams.checkpoint_dir) exists, is not empty "
                         f"and was not created by s1kit train (no {OWNER_FILE}; checkpoints of an s1kit before "
                         f"#21 have none either: delete them); name a new or empty directory, or leave "
                         f"checkpoint_dir unset")
    if root.exists() and not root.is_dir():
        raise ValueError(f"checkpoint_dir {root} (train.runs.<run>.hparams.checkpoint_dir) is not a directory")


def own_checkpoint_root(root: Path) -> None:
    """Before the first checkpoint: create the directory (or adopt an empty one) and mark it."""
    if (root / OWNER_FILE).is_file():
        return
    claim_checkpoint_root(root)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / OWNER_FILE, json.dumps({"written_by": "s1kit train", "created_dir": created}))


def remove_checkpoints(root: Path, out_dir: Path) -> None:
    """Delete what save_checkpoint wrote (step-* directories, the owner file, the key) and the
    directory itself if s1kit created it and nothing else is left; nothing in a directory
    without the owner file."""
    owner = root / OWNER_FILE
    if not owner.is_file():
        return
    try:
        created = json.loads(owner.read_text()).get("created_dir", False)
    except (OSError, ValueError, AttributeError):
        created = False
    for p in root.iterdir():
        if p.is_dir() and _STEP_ANY.match(p.name):
            shutil.rmtree(p, ignore_errors=True)
    owner.unlink()
    (out_dir / KEY_FILE).unlink(missing_ok=True)
    if created and not any(root.iterdir()):
        root.rmdir()


def checkpoint_key(out_dir: Path, create: bool = False) -> bytes | None:
    """The key the resume markers are signed with: S1KIT_CHECKPOINT_KEY, else <out-dir>/.s1kit_checkpoint_key
    (random, mode 0600, made by rank 0 at the first save). It never lies in the checkpoint
    directory, so a marker rewritten there without the key is refused."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    path = out_dir / KEY_FILE
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(32).hex())
    try:
        return path.read_text().strip().encode() or None
    except OSError:
        return None


def marker_mac(key: bytes, marker: dict) -> str:
    """HMAC-SHA256 of the marker (config stamp + file checksums) as canonical JSON."""
    body = json.dumps({k: v for k, v in marker.items() if k != "hmac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def fingerprint(cfg: TrainConfig, model_dir, data_path) -> dict:
    """What must match for a checkpoint to belong to this run."""
    digest = hashlib.sha256()
    with open(data_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    conf = {k: v for k, v in asdict(cfg).items() if k not in NOT_IN_FINGERPRINT}
    return {"config": conf, "model": str(model_dir), "data_sha256": digest.hexdigest()}


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint: renamed from its .tmp name only after every rank wrote."""
    done = [(int(m.group(1)), p) for p in root.glob("step-*") if (m := _STEP_DIR.match(p.name))
            and (p / MARKER).exists()] if root.is_dir() else []
    return max(done)[1] if done else None


def check_resumable(ckpt: Path, expected: dict) -> None:
    saved = json.loads((ckpt / MARKER).read_text())
    saved.pop("files", None)
    saved.pop("hmac", None)
    if saved == expected:
        return
    diff = sorted(k for k in set(saved["config"]) | set(expected["config"])
                  if saved["config"].get(k) != expected["config"].get(k))
    diff += [k for k in ("model", "data_sha256") if saved.get(k) != expected.get(k)]
    raise ValueError(f"checkpoint {ckpt} belongs to another run (differs in: {', '.join(diff)}); "
                     f"delete {ckpt.parent} to start over")


def checkpoint_hashes(accelerator, folder: Path) -> dict[str, str]:
    """sha256 of every file of a checkpoint but its marker; each rank hashes a share of the
    files (a shared filesystem), gathered on every rank."""
    from s1kit.provenance import file_sha256

    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MARKER)
    mine = [(f, file_sha256(folder / f) or "unhashed") for f in files[accelerator.process_index::accelerator.num_processes]]
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        mine = gather_object(mine)
    return dict(mine)


def verify_checkpoint(accelerator, ckpt: Path, key: bytes | None) -> None:
    """Refuse a checkpoint whose marker is not signed with this run's key or whose files differ
    from those this loop wrote (they get unpickled)."""
    marker = json.loads((ckpt / MARKER).read_text())
    if key is None:
        raise ValueError(f"checkpoint {ckpt}: no key to check its marker with ({KEY_ENV} unset and no "
                         f"{KEY_FILE} in the output directory); not loading it. Delete {ckpt.parent} to start over")
    if not hmac.compare_digest(str(marker.get("hmac", "")), marker_mac(key, marker)):
        raise ValueError(f"checkpoint {ckpt}: {MARKER} is not signed with this run's key (edited, or written by "
                         f"another run or an older s1kit); not loading it (resume unpickles checkpoint files). "
                         f"Delete {ckpt.parent} to start over")
    saved = marker.get("files")
    if not saved:
        raise ValueError(f"checkpoint {ckpt} records no file checksums (written by an older s1kit); "
                         f"delete {ckpt.parent} to start over")
    now = checkpoint_hashes(accelerator, ckpt)
    bad = sorted((set(saved) ^ set(now)) | {f for f in saved if f in now and saved[f] != now[f]})
    if bad:
        raise ValueError(f"checkpoint {ckpt}: {', '.join(str(ckpt / f) for f in bad[:5])} differ(s) from what "
                         f"s1kit wrote (sha256 in {MARKER}); not loading it (resume unpickles checkpoint files). "
                         f"Delete {ckpt.parent} to start over")


def save_checkpoint(accelerator, root: Path, step: int, stamp: dict, keep: int, state: RunState,
                    out_dir: Path) -> Path:
    final = root / f"step-{step:06d}"
    tmp = root / f"step-{step:06d}.tmp"
    if accelerator.is_main_process:
        own_checkpoint_root(root)
        if tmp.exists():
            shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))  # every rank writes its part (FSDP: its shard)
    if accelerator.is_main_process:
        atomic_write_text(tmp / STATE_FILE, json.dumps(state.state_dict()))
    accelerator.wait_for_everyone()
    files = checkpoint_hashes(accelerator, tmp)
    if accelerator.is_main_process:
        marker = {**stamp, "files": files}
        marker["hmac"] = marker_mac(checkpoint_key(out_dir, create=True), marker)
        atomic_write_text(tmp / MARKER, json.dumps(marker, indent=2))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        complete = sorted(int(m.group(1)) for p in root.iterdir()
                          if (m := _STEP_DIR.match(p.name)) and (p / MARKER).exists())
        for old in complete[:-keep]:
            shutil.rmtree(root / f"step-{old:06d}", ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


# ---- the loop -----------------------------------------------------------------------


def _peak_memory(torch) -> tuple[float, str]:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30, "cuda_max_allocated"
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "cpu_max_rss"  # KiB on Linux


def _load_model(model_dir, cfg: TrainConfig):
    import torch
    from transformers import AutoModelForCausalLM

    kw = {"attn_implementation": cfg.attn_implementation} if cfg.attn_implementation else {}
    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, cfg.dtype), **kw)


def train(model_dir: str | Path, data_path: str | Path, out_dir: str | Path, cfg: TrainConfig) -> dict:
    import torch

    from s1kit.sft.cost import compute_params, mfu, peak_flops_for, sequence_flops

    out_dir = Path(out_dir)
    ckpt_root = checkpoint_root(cfg, out_dir)
    claim_checkpoint_root(ckpt_root)  # before anything is loaded, written or deleted there
    # ---- load -------------------------------------------------------------------
    accelerator = make_accelerator(cfg, out_dir)
    if accelerator.num_processes != cfg.world_size:
        raise ValueError(f"config world_size {cfg.world_size} but launched with {accelerator.num_processes} "
                         "processes (leave world_size at 0 to take it from the launcher)")
    rank, world, accum = accelerator.process_index, accelerator.num_processes, cfg.grad_accum
    torch.manual_seed(cfg.seed)
    tokenizer = load_tokenizer(model_dir)
    model = _load_model(model_dir, cfg)
    use_cache = model.config.use_cache
    if cfg.gradient_checkpointing:
        kw = {"use_reentrant": False}  # the non-reentrant form works under FSDP and with frozen inputs
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kw)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kw)
        model.config.use_cache = False
    n_params = compute_params(model)
    n_layers, width = model.config.num_hidden_layers, model.config.hidden_size
    examples, cut = load_examples(data_path, tokenizer, cfg)
    steps_per_epoch = math.ceil(len(examples) / cfg.global_batch_size)
    total = cfg.max_steps or math.ceil(cfg.epochs * steps_per_epoch)
    accelerator.print(
        f"examples={len(examples)} cut={cut} global_batch={cfg.global_batch_size} = world {world} x "
        f"micro {cfg.per_device_batch_size} x accum {accum}; steps={total}; fsdp={cfg.fsdp_strategy} "
        f"bf16={cfg.bf16} checkpointing={cfg.gradient_checkpointing}"
    )
    optimizer = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr, betas=(cfg.adam_beta1, cfg.adam_beta2))
    model, optimizer = accelerator.prepare(model, optimizer)
    lengths = [len(t.input_ids) for t in examples]
    longest = max(lengths)
    if cfg.sampling == "epoch":
        batcher = EpochSampler(len(examples), cfg.per_device_batch_size, cfg.seed, cfg.epoch_order,
                               cfg.global_batch_size)
    else:
        batcher = LengthBatcher(lengths, cfg.per_device_batch_size, cfg.seed)
    state = RunState(batcher)  # saved as JSON beside accelerate's state, not registered (that would pickle it)
    if cfg.report_to != "none":
        accelerator.init_trackers("s1kit-train", config=asdict(cfg))

    # ---- resume -----------------------------------------------------------------
    stamp = fingerprint(cfg, model_dir, data_path)
    last = latest_checkpoint(ckpt_root)
    if last is not None:
        check_resumable(last, stamp)
        verify_checkpoint(accelerator, last, checkpoint_key(out_dir))
        accelerator.load_state(str(last))
        state.load_state_dict(json.loads((last / STATE_FILE).read_text()))
        state.resumed_from.append(state.step)
        accelerator.print(f"resumed from {last} at step {state.step}/{total}")
    kill_at = int(os.environ.get(KILL_AT_STEP_ENV, "-1"))

    # ---- train ------------------------------------------------------------------
    model.train()
    t0 = time.perf_counter()
    done_before, last_log_t, last_log_step, start_step = state.runtime, t0, state.step, state.step
    for step in range(state.step, total):
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        lr = lr_at(step, total, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        max_len = longest
        if cfg.curriculum_fraction > 0:
            shortest = batcher.lengths[0]
            max_len = shortest + (longest - shortest) * min(1.0, step / (cfg.curriculum_fraction * total))
        # the whole global batch from one stream; this rank's share is its slice of it
        micro = [batcher.sample(max_len) for _ in range(world * accum)]
        lengths = [len(examples[i].input_ids) for mb in micro for i in mb]
        state.tokens += sum(lengths)
        state.flops += sequence_flops(lengths, n_params, n_layers, width)
        step_loss = 0.0
        for idx in micro[rank * accum : (rank + 1) * accum]:
            ids, mask, labels = collate([examples[i] for i in idx], tokenizer.pad_token_id)
            ids, mask, labels = ids.to(accelerator.device), mask.to(accelerator.device), labels.to(accelerator.device)
            with accelerator.accumulate(model):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
            step_loss += loss.item() / accum
        state.step = step + 1
        if step % cfg.log_every == 0 or step == total - 1:
            mean_loss = accelerator.reduce(torch.tensor(step_loss, device=accelerator.device), "mean").item()
            now = time.perf_counter()
            point = {"step": step, "loss": round(mean_loss, 5), "lr": lr, "tokens": state.tokens,
                     "step_time_s": round((now - last_log_t) / max(1, state.step - last_log_step), 4)}
            state.log.append(point)
            last_log_t, last_log_step = now, state.step
            line = (f"step {step}/{total} loss {mean_loss:.4f} lr {lr:.2e}, "
                    + eta_text(state.step, total, done_before + now - t0, state.step - start_step, now - t0))
            accelerator.print(line)
            if accelerator.is_main_process:
                console(line)  # the same line on the terminal of `make demo` (s1kit.progress.console)
            if cfg.report_to != "none":
                accelerator.log({"loss": mean_loss, "lr": lr}, step=step)
        state.runtime = done_before + time.perf_counter() - t0
        if cfg.save_steps and state.step % cfg.save_steps == 0 and state.step < total:
            c0 = time.perf_counter()
            save_checkpoint(accelerator, ckpt_root, state.step, stamp, cfg.save_total_limit, state, out_dir)
            state.checkpoint_s += time.perf_counter() - c0
    runtime = done_before + time.perf_counter() - t0

    # ---- save -------------------------------------------------------------------
    accelerator.wait_for_everyone()
    peak_gb, peak_kind = _peak_memory(torch)
    peak_gb = accelerator.gather(torch.tensor([peak_gb], device=accelerator.device)).max().item()
    on_gpu = torch.cuda.is_available()
    peak = cfg.peak_flops or (peak_flops_for(torch.cuda.get_device_name()) if on_gpu and cfg.bf16 else None)
    metrics = {
        "examples": len(examples),
        "samples_cut": cut,
        "samples_cut_frac": cut / len(examples),
        "block_size": cfg.block_size,
        "steps": total,
        "train_runtime_s": round(runtime, 2),
        "checkpoint_s": round(state.checkpoint_s, 2),
        "tokens": state.tokens,
        "tokens_per_s": round(state.tokens / runtime, 1),
        "tokens_per_s_per_device": round(state.tokens / runtime / world, 1),
        "step_time_s": round(runtime / max(1, total), 4),
        "num_processes": world,
        "grad_accum": accum,
        "device": torch.cuda.get_device_name() if on_gpu else "cpu",
        "gpu_hours": round(runtime * world / 3600, 4) if on_gpu else None,
        "peak_memory_gb": round(peak_gb, 3),
        "peak_memory_kind": peak_kind,
        "compute_params": n_params,
        "model_flops": state.flops,
        "flops_per_token": round(state.flops / max(1, state.tokens), 1),
        "peak_flops_per_device": peak,
        "mfu": None if (m := mfu(state.flops, runtime, world, peak)) is None else round(m, 4),
        "resumed_from_steps": state.resumed_from,
        "final_loss": state.log[-1]["loss"],
        "loss_curve": state.log,
        "config": asdict(cfg),
    }
    state_dict = accelerator.get_state_dict(model)  # FSDP: gathered to rank 0 (every rank must call)
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.config.use_cache = use_cache
        separate = tokenizer_path(model_dir).endswith(TOKENIZER_SUBDIR)
        with atomic_dir(out_dir / "model") as tmp:  # renamed to model/ once complete
            unwrapped.save_pretrained(str(tmp), state_dict=state_dict)
            tokenizer.save_pretrained(str(tmp / TOKENIZER_SUBDIR if separate else tmp))
        atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2))
        if cfg.push_to_hub:
            _push(out_dir / "model", cfg.push_to_hub)
        if not cfg.keep_checkpoints and ckpt_root.is_dir():
            remove_checkpoints(ckpt_root, out_dir)  # only what the kit wrote (OWNER_FILE)
    if cfg.report_to != "none":
        accelerator.end_training()
    accelerator.wait_for_everyone()
    return metrics


def _push(folder: Path, repo_id: str) -> None:
    """Upload the final model (token from HF_TOKEN, read by huggingface_hub)."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, private=True, exist_ok=True)
    api.upload_folder(repo_id=repo_id, folder_path=str(folder))
