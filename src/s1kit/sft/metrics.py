"""What a training run reports: the log line of a step, its wall time across resumes, and
metrics.json (throughput, peak memory, model FLOPs and MFU through s1kit.sft.cost)."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict

from s1kit.progress import console, eta_text
from s1kit.sft.checkpoints import RunState
from s1kit.sft.config import TrainConfig
from s1kit.sft.cost import mfu, peak_flops_for


class StepClock:
    """Wall time of the run: what earlier attempts took (RunState.runtime) plus this one's,
    and the time per step since the last log line."""

    def __init__(self, state: RunState):
        self.t0 = time.perf_counter()
        self.done_before, self.start_step = state.runtime, state.step
        self.last_log_t, self.last_log_step = self.t0, state.step

    def runtime(self) -> float:
        return self.done_before + time.perf_counter() - self.t0


def log_step(accelerator, cfg: TrainConfig, state: RunState, clock: StepClock, step: int, total: int, lr: float,
             rank_loss: float) -> None:
    """One loss-curve point (the loss averaged over ranks) and its line on every log."""
    import torch  # heavy: torch, only for training

    mean_loss = accelerator.reduce(torch.tensor(rank_loss, device=accelerator.device), "mean").item()
    now = time.perf_counter()
    point = {"step": step, "loss": round(mean_loss, 5), "lr": lr, "tokens": state.tokens,
             "step_time_s": round((now - clock.last_log_t) / max(1, state.step - clock.last_log_step), 4)}
    state.log.append(point)
    clock.last_log_t, clock.last_log_step = now, state.step
    line = (f"step {step}/{total} loss {mean_loss:.4f} lr {lr:.2e}, "
            + eta_text(state.step, total, clock.done_before + now - clock.t0, state.step - clock.start_step,
                       now - clock.t0))
    accelerator.print(line)
    if accelerator.is_main_process:
        console(line)  # the same line on the terminal of `make demo` (s1kit.progress.console)
    if cfg.report_to != "none":
        accelerator.log({"loss": mean_loss, "lr": lr}, step=step)


def peak_memory(accelerator) -> tuple[float, str]:
    """The largest peak over the ranks in GiB, and what was measured (CUDA allocations or CPU max RSS)."""
    import torch  # heavy: torch, only for training

    if torch.cuda.is_available():
        peak_gb, kind = torch.cuda.max_memory_allocated() / 2**30, "cuda_max_allocated"
    else:
        peak_gb, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "cpu_max_rss"  # KiB on Linux
    return accelerator.gather(torch.tensor([peak_gb], device=accelerator.device)).max().item(), kind


def train_metrics(accelerator, cfg: TrainConfig, state: RunState, *, examples: int, cut: int, total: int,
                  runtime: float, n_params: int) -> dict:
    """metrics.json of the run; every rank calls it (the peak memory is gathered)."""
    import torch  # heavy: torch, only for training

    world = accelerator.num_processes
    peak_gb, peak_kind = peak_memory(accelerator)
    on_gpu = torch.cuda.is_available()
    peak = cfg.peak_flops or (peak_flops_for(torch.cuda.get_device_name()) if on_gpu and cfg.bf16 else None)
    return {
        "examples": examples,
        "samples_cut": cut,
        "samples_cut_frac": cut / examples,
        "block_size": cfg.block_size,
        "steps": total,
        "train_runtime_s": round(runtime, 2),
        "checkpoint_s": round(state.checkpoint_s, 2),
        "tokens": state.tokens,
        "tokens_per_s": round(state.tokens / runtime, 1),
        "tokens_per_s_per_device": round(state.tokens / runtime / world, 1),
        "step_time_s": round(runtime / max(1, total), 4),
        "num_processes": world,
        "grad_accum": cfg.grad_accum,
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
