"""The kit's SFT beside transformers.Trainer, accelerate and trl's collator, as the official run.

The paper's run (train/sft_multinode.sh:12 (torchrun), 16 GPUs; train/sft.py:69 (SFTTrainer),
trl 0.12.0, transformers 4.46.1 and accelerate 1.0.1 in requirements.txt) took its schedule,
optimizer and data order from the HF Trainer with accelerate and its loss mask from
trl.DataCollatorForCompletionOnlyLM (train/sft.py:61 (DataCollatorForCompletionOnlyLM)).
Here a Trainer is built for a tiny Qwen2 (from a config, random weights) with the paper's
arguments (train/sft_multinode.sh:27 (warmup_ratio), lr 1e-5, cosine, weight decay 1e-4,
betas 0.9 / 0.95) and compared with the kit's ``lr_at`` at every step, its ``param_groups``
and its ``EpochSampler``; the loss mask is compared with trl 0.12.0's collator on the text the
official formatting code builds. trl 0.12.0 is installed by the ``trl_official`` fixture from
requirements/trl-official.lock into ``<venv>/trl-official`` (not into the venv itself), so
the test runs wherever PyPI was reachable once, CI included, instead of skipping.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from s1kit.sft.format import IGNORE_INDEX, RESPONSE_TEMPLATE, chat_text, tokenize_masked
from s1kit.sft.config import TrainConfig
from s1kit.sft.optim import decay_parameter_names, lr_at, param_groups


def _student(tokenizer, **kw):
    from s1kit.tiny.student import StudentConfig, init_student

    return init_student(StudentConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=64, **kw), tokenizer)


def _trainer(model, tmp_path, cfg: TrainConfig, total: int, scheduler: str = "cosine"):
    import transformers

    fields = {f.name for f in dataclasses.fields(transformers.TrainingArguments)}
    # transformers 5 folded warmup_ratio into warmup_steps (a float < 1 is a ratio).
    warmup = {"warmup_ratio": cfg.warmup_ratio} if "warmup_ratio" in fields else {"warmup_steps": cfg.warmup_ratio}
    extra = {"lr_scheduler_kwargs": {"min_lr_rate": cfg.min_lr_rate}} if scheduler == "cosine_with_min_lr" else {}
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), learning_rate=cfg.lr, lr_scheduler_type=scheduler, weight_decay=cfg.weight_decay,
        adam_beta1=cfg.adam_beta1, adam_beta2=cfg.adam_beta2, max_steps=total, report_to=[], use_cpu=True,
        **warmup, **extra,
    )
    return transformers.Trainer(model=model, args=args)


def _trainer_lrs(trainer, total: int) -> list[float]:
    """The lr each optimizer step runs at: the Trainer steps the scheduler after the optimizer."""
    trainer.create_optimizer_and_scheduler(num_training_steps=total)
    lrs = []
    for _ in range(total):
        lrs.append(trainer.lr_scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    return lrs


@pytest.mark.parametrize(
    "total, warmup_ratio, lr, min_lr_rate",
    [(315, 0.05, 1e-5, 0.0), (40, 0.1, 3e-3, 0.0), (7, 0.05, 1e-3, 0.0), (12, 0.0, 1e-3, 0.0), (50, 0.1, 1e-3, 0.1)],
)
def test_lr_schedule_equals_the_trainers_at_every_step(tiny_tokenizer, tmp_path, total, warmup_ratio, lr, min_lr_rate):
    cfg = TrainConfig(lr=lr, warmup_ratio=warmup_ratio, min_lr_rate=min_lr_rate, world_size=1)
    scheduler = "cosine_with_min_lr" if min_lr_rate else "cosine"
    hf = _trainer_lrs(_trainer(_student(tiny_tokenizer), tmp_path, cfg, total, scheduler), total)
    kit = [lr_at(step, total, cfg) for step in range(total)]
    assert kit == pytest.approx(hf, rel=1e-12, abs=1e-15)
    if warmup_ratio:
        assert kit[0] == 0.0  # the Trainer's first step runs at lr 0 (the kit used lr / warmup)
    if total == 315:
        assert math.ceil(0.05 * 315) == 16 and kit[16] == pytest.approx(lr)  # the paper's 16 warmup steps


def test_param_groups_equal_the_trainers(tiny_tokenizer, tmp_path):
    """no_decay=bias_norm: the installed Trainer's groups, parameter for parameter."""
    model = _student(tiny_tokenizer)
    cfg = TrainConfig(world_size=1)
    trainer = _trainer(model, tmp_path, cfg, 10)
    hf_groups = trainer.create_optimizer().param_groups
    kit_groups = param_groups(model, cfg)
    as_ids = lambda groups: [(g["weight_decay"], sorted(id(p) for p in g["params"])) for g in groups]  # noqa: E731
    assert as_ids(kit_groups) == as_ids(hf_groups)
    no_decay = {n for n, _ in model.named_parameters()} - decay_parameter_names(model, "bias_norm")
    assert any(n.endswith("q_proj.bias") for n in no_decay) and any("layernorm" in n for n in no_decay)
    assert "model.norm.weight" in no_decay


def test_no_decay_bias_layernorm_is_transformers_4_46(tiny_tokenizer):
    """The official stack: transformers 4.46.1's Trainer.get_decay_parameter_names was
    ``get_parameter_names(model, ALL_LAYERNORM_LAYERS)`` (= [nn.LayerNorm]) minus names with
    "bias" (its trainer.py:1138-1139); get_parameter_names without name patterns still does
    that here, so it is run, not re-implemented. Qwen2RMSNorm is no nn.LayerNorm: its
    weights decayed in the paper's run."""
    from torch import nn
    from transformers.trainer_pt_utils import get_parameter_names

    model = _student(tiny_tokenizer)
    official = {n for n in get_parameter_names(model, [nn.LayerNorm]) if "bias" not in n}
    assert decay_parameter_names(model, "bias_layernorm") == official
    assert "model.norm.weight" in official and not any(n.endswith(".bias") for n in official)
    assert decay_parameter_names(model, "bias_norm") < official


def test_paper_config_uses_the_official_param_groups():
    from pathlib import Path

    import yaml

    runs = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "s1.yaml").read_text())["train"]["runs"]
    assert {name: run["hparams"].get("no_decay") for name, run in runs.items()} == {
        name: "bias_layernorm" for name in runs}


def test_bad_no_decay_names_the_key():
    with pytest.raises(ValueError, match="no_decay"):
        TrainConfig(no_decay="everything", world_size=1)


REPO = Path(__file__).resolve().parents[1]
OFFICIAL = REPO.parent / "shared" / "official-s1"
TRL_LOCK = REPO / "requirements" / "trl-official.lock"


@pytest.fixture(scope="module")
def trl_official():
    """trl 0.12.0 (the official pin) from requirements/trl-official.lock, installed with
    --no-deps into ``<venv>/trl-official`` on first use (CI: a clean clone has PyPI) and put
    on sys.path for this module only: today's trl no longer has DataCollatorForCompletionOnlyLM,
    and the kit's environment keeps its own packages. An install that fails is a failure, not
    a skip."""
    import hashlib
    import importlib
    import shutil
    import subprocess
    import sys

    target = Path(sys.prefix) / "trl-official"
    stamp = target / ".lock-sha256"
    want = hashlib.sha256(TRL_LOCK.read_bytes()).hexdigest()
    if not (stamp.is_file() and stamp.read_text() == want):
        tmp = target.with_name("trl-official.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes",
                               "--only-binary", ":all:", "--target", str(tmp), "-r", str(TRL_LOCK)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            pytest.fail(f"could not install {TRL_LOCK.name} (needs PyPI once): {proc.stderr[-2000:]}")
        (tmp / ".lock-sha256").write_text(want)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    saved = {k: v for k, v in sys.modules.items() if k == "trl" or k.startswith("trl.")}
    for k in saved:
        del sys.modules[k]
    # on sys.path only while trl and its collator are imported (later submodule imports go
    # through trl.__path__): the wheel also ships a top-level `tests` package
    sys.path.insert(0, str(target))
    try:
        trl = importlib.import_module("trl")
        assert trl.__version__ == "0.12.0" and Path(trl.__file__).is_relative_to(target), trl.__file__
        assert trl.DataCollatorForCompletionOnlyLM
    finally:
        sys.path.remove(str(target))
    try:
        yield trl
    finally:
        for k in [k for k in sys.modules if k == "trl" or k.startswith("trl.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def _official_tokenization():
    """The official formatting code itself, data/tokenization.py:18 (process_cot_example)."""
    import importlib.util

    path = OFFICIAL / "data" / "tokenization.py"
    if not path.is_file():
        pytest.skip("../shared/official-s1 (the pinned official code) is absent")
    spec = importlib.util.spec_from_file_location("official_tokenization", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_loss_mask_equals_trl_0_12_collator_on_the_official_text(tiny_tokenizer, trl_official):
    """Issue #24 item 6(c). The official side as the paper's run built it: the text from the
    official process_cot_example (data/tokenization.py:18 (process_cot_example); the question
    verbatim, thinking_trajectories joined and stripped, "Answer: " prefixed), tokenized as trl
    0.12.0's SFTTrainer does (``_prepare_non_packed_dataloader``: add_special_tokens, truncation
    at max_seq_length = block_size, train/sft.py:68 (max_seq_length)), labels from trl 0.12.0's
    DataCollatorForCompletionOnlyLM with the official templates (train/sft.py:53
    (instruction_template), :54 (response_template)) on a padded batch. The kit's side: its
    own chat_text, tokenize_masked and collate. Text, token ids and labels must be equal."""
    from s1kit.sft.data import collate

    official = _official_tokenization()
    tok = tiny_tokenizer
    collator = trl_official.DataCollatorForCompletionOnlyLM(
        instruction_template="<|im_start|>user", response_template=RESPONSE_TEMPLATE, tokenizer=tok, mlm=False)
    rows = [
        ("What is 2 + 3?", "2 plus 3 is 5.", "5"),
        ("  Add 7 and 8.\n", "\n7 + 8 = 15, checked twice.  ", "Answer: 15 "),  # whitespace kept / stripped as upstream
        ("q", "t", "a"),
        ("4 h+2 i-1", "4 h +2 4 6 i -1 6 5", "Final Answer: 5"),
    ]
    for block in (4096, 24, 9):  # whole; cut inside the answer; cut before the response template
        theirs_ids, mine = [], []
        for question, thinking, attempt in rows:
            text = official.process_cot_example(
                {"question": question, "thinking_trajectories": [thinking], "attempt": attempt}, tok)["text"]
            assert chat_text(tok, question, thinking, attempt) == text
            theirs_ids.append(tok(text, add_special_tokens=True, truncation=True, padding=False,
                                  max_length=block)["input_ids"])
            mine.append(tokenize_masked(tok, text, block))
            assert mine[-1].input_ids == theirs_ids[-1], (text, block)
        batch = collator([{"input_ids": ids} for ids in theirs_ids])
        ids, mask, labels = collate(mine, tok.pad_token_id)  # the kit pads on the right, by position
        for k in range(len(rows)):  # the same labels on each example's tokens, padding (either side) ignored
            assert labels[k][mask[k] == 1].tolist() == batch["labels"][k][batch["attention_mask"][k] == 1].tolist()
            assert (labels[k][mask[k] == 0] == IGNORE_INDEX).all() and (batch["labels"][k][batch["attention_mask"][k] == 0]
                                                                      == IGNORE_INDEX).all()
        if block == 4096:  # whole: prompt masked, the assistant turn learned
            assert all(IGNORE_INDEX in m.labels and any(x != IGNORE_INDEX for x in m.labels) for m in mine)
        if block == 9:  # the template cut off (all but the shortest): nothing learned, in both
            assert sum(bool((labels[k] == IGNORE_INDEX).all()) for k in range(len(rows))) == len(rows) - 1


def test_paper_hparams_equal_the_official_sft_multinode_sh():
    """config/s1.yaml's train runs against the flags of train/sft_multinode.sh, the paper's run
    (16 GPUs: train/sft_multinode.sh:6 (micro_batch_size) "If 2 nodes with 8 gpus each, batch_size
    will be 16"; train/sft_multinode.sh:46 (gradient_checkpointing)), read from the pinned file:
    its shell variables and its --key=value / --key value flags. Every run shares the recipe;
    block_size differs only in the two runs that ablate it (s1.1's 20000, the 4096 ablation)."""
    import re
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[1]
    sh = repo.parent / "shared" / "official-s1" / "train" / "sft_multinode.sh"
    if not sh.is_file():
        pytest.skip("../shared/official-s1 (the pinned official code) is absent")
    text = sh.read_text()
    var = dict(re.findall(r"^(\w+)=([^\s#]+)", text, re.M))
    flags = {k: v.strip('"') for k, v in re.findall(r"^--(\w+)[= ](.+?)\s*\\?$", text, re.M)}
    flags = {k: re.sub(r"\$\{(\w+)\}", lambda m: var.get(m.group(1), m.group(0)), v) for k, v in flags.items()}
    runs = yaml.safe_load((repo / "config" / "s1.yaml").read_text())["train"]["runs"]
    ablated = {"s1.1-32B": 20000, "s1-block4096": 4096}
    assert set(ablated) < set(runs)
    for name, run in runs.items():
        hp, launch = run["hparams"], run["launch"]
        assert float(flags["learning_rate"]) == hp["lr"], name
        assert float(flags["weight_decay"]) == hp["weight_decay"]
        assert float(flags["adam_beta1"]) == hp.get("adam_beta1", TrainConfig.adam_beta1)
        assert float(flags["adam_beta2"]) == hp["adam_beta2"]
        assert float(flags["warmup_ratio"]) == hp["warmup_ratio"]
        assert float(flags["num_train_epochs"]) == hp["epochs"]
        assert int(flags["block_size"]) == 32768 and hp["block_size"] == ablated.get(name, 32768), name
        assert int(flags["per_device_train_batch_size"]) == hp["per_device_batch_size"] == 1
        # 16 = 2 nodes x 8 GPUs x micro-batch 1 x accumulation 1
        assert int(flags["gradient_accumulation_steps"]) == 1 and int(var["max_steps"]) == -1
        assert launch["nodes"] * launch["nproc_per_node"] * hp["per_device_batch_size"] == hp["global_batch_size"] == 16
        assert flags["lr_scheduler_type"] == "cosine" and float(var["min_lr"]) == hp["min_lr_rate"]
        assert flags["bf16"] == "True" and hp["bf16"] is True
        assert flags["fsdp"] == "full_shard auto_wrap" and hp["fsdp"] == "full_shard"
        assert flags["gradient_checkpointing"] == "True" and hp["gradient_checkpointing"] is True
        assert int(flags["save_steps"]) == hp["save_steps"]  # (the official saved the model only)
        assert hp["sampling"] == "epoch" and hp["epoch_order"] == "hf_trainer" and "max_steps" not in hp


class _Indices:
    """A map-style dataset whose items carry their own index."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": [i]}


def _trainer_epochs(trainer, processes: int, epochs: int) -> list[list[list[int]]]:
    """The examples of every optimizer step, epoch by epoch, as the Trainer's train DataLoader
    sharded over ``processes`` ranks by accelerate (micro-batch 1, no accumulation: the paper's
    16 x 1): the DataLoader the Trainer builds, handed to accelerate's prepare_data_loader with
    the Trainer's own dataloader settings and each rank's index, set_epoch as the Trainer's loop."""
    from accelerate.data_loader import prepare_data_loader

    prepare = trainer.accelerator.prepare
    trainer.accelerator.prepare = lambda dl: dl  # the DataLoader before the (1-process) prepare
    try:
        raw = trainer.get_train_dataloader()
    finally:
        trainer.accelerator.prepare = prepare
    dlc = trainer.accelerator.dataloader_config
    assert dlc.use_seedable_sampler and dlc.even_batches and not dlc.split_batches  # the Trainer's defaults
    shards = [prepare_data_loader(raw, num_processes=processes, process_index=r, split_batches=dlc.split_batches,
                                  even_batches=dlc.even_batches, use_seedable_sampler=dlc.use_seedable_sampler,
                                  data_seed=getattr(dlc, "data_seed", None), put_on_device=False)
              for r in range(processes)]
    out = []
    for epoch in range(epochs):
        per_rank = []
        for shard in shards:
            shard.set_epoch(epoch)
            per_rank.append([batch["input_ids"].flatten().tolist() for batch in shard])
        out.append([[i for rank in per_rank for i in rank[step]] for step in range(len(per_rank[0]))])
    return out


def test_epoch_order_hf_trainer_is_the_trainers_sampler_on_16_processes(tiny_tokenizer, tmp_path):
    """Issue #24 item 6(b): 1,000 examples at batch 16 on 16 processes (the paper's run) are
    63 steps per epoch in the real Trainer + accelerate; the 63rd global batch of each epoch is
    the epoch's last 8 examples and its first 8 again (accelerate's even_batches), never the
    next epoch's. ``epoch_order: hf_trainer`` gives the same examples at every one of the 315
    steps; the kit's own order (``kit``) runs epochs back to back instead. The installed
    transformers/accelerate are run; their sampler code is that of 4.46.1 / 1.0.1 (accelerate's
    SeedableRandomSampler and BatchSamplerShard._iter_with_no_split differ only where the batch
    size is None; Trainer._get_train_sampler is a RandomSampler and the seed args.seed in both)."""
    import transformers

    from s1kit.sft.data import EpochSampler

    n, world, epochs, seed = 1000, 16, 5, 42
    args = transformers.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=1, seed=seed,
                                          report_to=[], use_cpu=True)
    trainer = transformers.Trainer(model=_student(tiny_tokenizer), args=args, train_dataset=_Indices(n))
    hf = _trainer_epochs(trainer, world, epochs)
    assert [len(e) for e in hf] == [63] * epochs  # 5 x 63 = 315 steps, the paper's count
    for e in hf:
        assert all(len(step) == 16 for step in e)
        first = [i for step in e[:-1] for i in step] + e[-1][:8]
        assert sorted(first) == list(range(n))  # every example once, then ...
        assert e[-1][8:] == e[0][:8]  # ... the epoch's first 8 again, not the next epoch's
    kit = EpochSampler(n, 1, seed, "hf_trainer", global_batch=16)
    mine = [[[i for _ in range(world) for i in kit.sample()] for _ in range(63)] for _ in range(epochs)]
    assert mine == hf
    cfg = TrainConfig(sampling="epoch", epoch_order="hf_trainer", world_size=1)  # 1 x 16 accumulated: the same
    assert math.ceil(n / cfg.global_batch_size) * cfg.epochs == 315
    back_to_back = EpochSampler(n, 1, seed, "kit")
    steps = [[i for _ in range(world) for i in back_to_back.sample()] for _ in range(63)]
    assert len(set(steps[-1])) == 16 and len(set(steps[-1]) & set(i for s in steps[:-1] for i in s)) == 8
    # (kit: the 63rd step takes 8 examples of the next epoch's shuffle)


def test_epoch_order_hf_trainer_resumes_and_pads_small_epochs():
    """The position is the whole state (a resumed run continues the same stream), and an epoch
    smaller than the global batch is cycled as accelerate cycles it."""
    from s1kit.sft.data import EpochSampler

    a = EpochSampler(40, 2, 0, "hf_trainer", global_batch=16)
    stream = [a.sample() for _ in range(60)]
    b = EpochSampler(40, 2, 0, "hf_trainer", global_batch=16)
    b.set_state(a.get_state() - 2 * 25)
    assert [b.sample() for _ in range(25)] == stream[35:]
    tiny = EpochSampler(5, 1, 0, "hf_trainer", global_batch=16)
    epoch0 = [tiny.sample()[0] for _ in range(16)]
    assert epoch0 == [epoch0[k % 5] for k in range(16)] and sorted(epoch0[:5]) == list(range(5))
    with pytest.raises(ValueError, match="epoch_order"):
        TrainConfig(epoch_order="trainer", world_size=1)
