"""The kit's SFT beside transformers.Trainer and trl's collator, as the official train/sft.py ran.

The official run (train/sft.py:69 (SFTTrainer), trl 0.12.0 and transformers 4.46.1 in
requirements.txt) took its schedule and optimizer from the HF Trainer and its loss mask from
trl.DataCollatorForCompletionOnlyLM (train/sft.py:61 (DataCollatorForCompletionOnlyLM)).
Here a Trainer is built for a tiny Qwen2 (from a config, random weights) with the paper's
arguments (train/sft.sh:24 (warmup_ratio), lr 1e-5, cosine, weight decay 1e-4, betas 0.9 /
0.95) and compared with the kit's ``lr_at`` at every step and its ``param_groups``. trl's
collator runs when a trl that still has it is importable (trl <= 0.19; the official pin is
0.12.0, which imports beside the kit's transformers): ``PYTHONPATH=<dir with trl==0.12.0>``;
otherwise that test skips.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from s1kit.sft.format import IGNORE_INDEX, RESPONSE_TEMPLATE, chat_text, tokenize_masked
from s1kit.sft.train import TrainConfig, decay_parameter_names, lr_at, param_groups


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


def test_loss_mask_equals_trl_completion_only_collator(tiny_tokenizer):
    """trl.DataCollatorForCompletionOnlyLM with the official templates (train/sft.py:53
    (instruction_template), :54 (response_template)) on the kit's tokenized examples."""
    trl = pytest.importorskip("trl", reason="trl is not installed (optional; the official pin is trl==0.12.0)")
    if not hasattr(trl, "DataCollatorForCompletionOnlyLM"):
        pytest.skip(f"trl {trl.__version__} has no DataCollatorForCompletionOnlyLM (removed after 0.19)")
    tok = tiny_tokenizer
    collator = trl.DataCollatorForCompletionOnlyLM(
        instruction_template="<|im_start|>user", response_template=RESPONSE_TEMPLATE, tokenizer=tok, mlm=False)
    examples = [
        ("What is 2 + 3?", "2 plus 3 is 5.", "5"),
        ("Add 7 and 8.", "7 + 8 = 15, checked twice.", "Answer: 15"),
        ("q", "t", "a"),
    ]
    for block in (4096, 24):
        for question, thinking, attempt in examples:
            text = chat_text(tok, question, thinking, attempt)
            mine = tokenize_masked(tok, text, block)
            theirs = collator([{"input_ids": mine.input_ids}])["labels"][0].tolist()
            assert mine.labels == theirs, (text, block)
            if block == 4096:  # whole: prompt masked, the assistant turn learned
                assert IGNORE_INDEX in mine.labels and any(x != IGNORE_INDEX for x in mine.labels)


def test_paper_hparams_equal_the_official_sft_sh():
    """config/s1.yaml's s1-32B hparams against the flags of train/sft.sh (read from the
    pinned file: its shell variables and --key=value flags)."""
    import re
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[1]
    sh = repo.parent / "shared" / "official-s1" / "train" / "sft.sh"
    if not sh.is_file():
        pytest.skip("../shared/official-s1 (the pinned official code) is absent")
    text = sh.read_text()
    var = dict(re.findall(r"^(\w+)=([^\s#]+)", text, re.M))
    flags = {k: v.strip('"') for k, v in re.findall(r"--(\w+)=(\S+)", text)}
    flags = {k: re.sub(r"\$\{(\w+)\}", lambda m: var[m.group(1)], v) for k, v in flags.items()}
    hp = yaml.safe_load((repo / "config" / "s1.yaml").read_text())["train"]["runs"]["s1-32B"]["hparams"]
    assert float(flags["learning_rate"]) == hp["lr"]
    assert float(flags["weight_decay"]) == hp["weight_decay"]
    assert float(flags["adam_beta1"]) == hp.get("adam_beta1", TrainConfig.adam_beta1)
    assert float(flags["adam_beta2"]) == hp["adam_beta2"]
    assert float(flags["warmup_ratio"]) == hp["warmup_ratio"]
    assert float(flags["num_train_epochs"]) == hp["epochs"]
    assert int(flags["block_size"]) == hp["block_size"]
    assert int(flags["per_device_train_batch_size"]) == hp["per_device_batch_size"]
    assert flags["lr_scheduler_type"] == "cosine" and float(var["min_lr"]) == hp["min_lr_rate"]
    assert flags["bf16"] == "True" and hp["bf16"] is True
    assert "--fsdp=\"full_shard auto_wrap\"" in text and hp["fsdp"] == "full_shard"
