"""Checkpoints and resume: what a checkpoint holds, who owns its directory, and what a resume
may load (docs/train.md, "Checkpoints and resume").

A checkpoint is accelerate's ``save_state`` (model, optimizer, RNG) plus this loop's
RunState as JSON. Loading one unpickles (accelerate's optimizer and RNG files with torch's
``weights_only=True``; under FSDP torch.distributed.checkpoint's ``.metadata`` with plain
pickle), so a resume loads only what the loop wrote: every file is checked against the
sha256 recorded in the checkpoint's marker when it was written, and the marker is signed
(HMAC-SHA256) with a key kept outside the checkpoint directory. The checkpoint directory is
the kit's own (an owner file): an existing directory with other files is refused, and
cleanup deletes only what the kit wrote there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path

from s1kit.records import atomic_write_text
from s1kit.sidecar import file_sha256
from s1kit.sft.config import TrainConfig
from s1kit.sft.data import EpochSampler, LengthBatcher

MARKER = "s1kit_resume.json"
STATE_FILE = "s1kit_state.json"  # RunState as JSON (accelerate would pickle it, loaded with weights_only=False)
_STEP_DIR = re.compile(r"^step-(\d+)$")
_STEP_ANY = re.compile(r"^step-(\d+)(\.tmp)?$")  # what save_checkpoint writes, complete or not
OWNER_FILE = "s1kit_checkpoints.json"  # written first into a checkpoint directory s1kit uses
KEY_FILE = ".s1kit_checkpoint_key"  # in <out-dir>, outside the checkpoint directory
KEY_ENV = "S1KIT_CHECKPOINT_KEY"  # overrides the key file (e.g. from a secrets manager)

# Settings that do not change what is computed: a checkpoint written under other values of
# these resumes; any other difference refuses to resume (a stale checkpoint of another run).
NOT_IN_FINGERPRINT = {"log_every", "save_steps", "checkpoint_dir", "save_total_limit", "keep_checkpoints",
                      "peak_flops", "push_to_hub", "report_to", "gradient_checkpointing",
                      "cpu_ram_efficient_loading"}


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
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MARKER)
    mine = [(f, file_sha256(folder / f) or "unhashed") for f in files[accelerator.process_index::accelerator.num_processes]]
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object  # heavy: accelerate, only for training

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


def resume_latest(accelerator, root: Path, stamp: dict, out_dir: Path, state: RunState) -> Path | None:
    """Load the newest complete checkpoint under root into the prepared model and optimizer
    and into state, once it is shown to be this run's and untouched; None if there is none."""
    last = latest_checkpoint(root)
    if last is None:
        return None
    check_resumable(last, stamp)
    verify_checkpoint(accelerator, last, checkpoint_key(out_dir))
    accelerator.load_state(str(last))
    state.load_state_dict(json.loads((last / STATE_FILE).read_text()))
    state.resumed_from.append(state.step)
    return last

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
