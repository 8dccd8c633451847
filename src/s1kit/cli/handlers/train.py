"""Handler of the train stage: `s1kit train`."""

from __future__ import annotations

import os

from s1kit.cli.args import TrainArgs
from s1kit.settings import from_dict, load_json_arg
from s1kit.sft.config import TrainConfig
from s1kit.sft.train import train


def train_command(a: TrainArgs) -> None:
    cfg = from_dict(TrainConfig, load_json_arg(a.config_json, "--config-json"), "train")
    m = train(a.model, a.data, a.out_dir, cfg)
    if os.environ.get("RANK", "0") == "0":  # under torchrun every rank returns here
        print(f"trained {m['steps']} steps in {m['train_runtime_s']} s, final loss {m['final_loss']}")
