"""Progress in log files: clean lines (no carriage returns), training's elapsed time, rate and ETA."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from s1kit.progress import LineWriter, configure_tqdm, duration, eta_text


def test_line_writer_turns_redraws_into_lines():
    buf = io.StringIO()
    w = LineWriter(buf)
    w.write("\r  0%|          | 0/3")
    w.write("\r 67%|######6   | 2/3 \x1b[A")
    w.write("\n")
    assert buf.getvalue() == "  0%|          | 0/3\n 67%|######6   | 2/3\n"


def test_terminal_keeps_live_bars():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert configure_tqdm(Tty()) is False


def test_duration_and_eta():
    assert [duration(x) for x in (4.2, 65, 3725)] == ["4s", "1m05s", "1h02m05s"]
    # 100 of 400 steps; this session ran 50 steps in 25 s (2 steps/s): 300 left -> 2m30s
    assert eta_text(100, 400, 60.0, 50, 25.0) == "elapsed 1m00s, 2.00 steps/s, ETA 2m30s"
    assert eta_text(0, 10, 0.0, 0, 0.0).endswith("ETA ?")


def test_tqdm_in_a_log_file_writes_clean_lines(tmp_path):
    log = tmp_path / "bar.log"
    code = ("from s1kit.progress import configure_tqdm; configure_tqdm()\n"
            "from tqdm.auto import tqdm\n"
            "for _ in tqdm(range(50), desc='work', mininterval=0): pass\n")
    with log.open("w") as f:
        subprocess.run([sys.executable, "-c", code], stdout=f, stderr=subprocess.STDOUT, check=True)
    text = log.read_bytes().decode()
    assert "\r" not in text and "\x1b" not in text
    assert text.splitlines()[-1].startswith("work: 100%") and "50/50" in text


def test_training_log_has_eta_and_no_carriage_returns(tmp_path, tiny_tokenizer, chain_corpus):
    """The real `s1kit train` with its output redirected to a file, as a rule's log is."""
    from s1kit.hf import save_model
    from s1kit.records import write_table
    from s1kit.tiny.student import StudentConfig, init_student

    save_model(init_student(StudentConfig(), tiny_tokenizer), tiny_tokenizer, tmp_path / "base")
    write_table(tmp_path / "data.parquet", [{"id": str(i), "question": c.question(), "thinking": c.thinking(),
                                             "attempt": c.attempt()} for i, c in enumerate(chain_corpus[:16])])
    cfg = {"max_steps": 6, "global_batch_size": 4, "per_device_batch_size": 4, "block_size": 64, "log_every": 2}
    log = tmp_path / "train.log"
    exe = Path(sys.executable).parent / "s1kit"
    with log.open("w") as f:
        subprocess.run([str(exe), "train", "--model", str(tmp_path / "base"), "--data", str(tmp_path / "data.parquet"),
                        "--out-dir", str(tmp_path / "out"), "--config-json", json.dumps(cfg)],
                       stdout=f, stderr=subprocess.STDOUT, check=True, timeout=600,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    text = log.read_bytes().decode()
    assert "\r" not in text, "carriage returns in the log file"
    steps = [ln for ln in text.splitlines() if ln.startswith("step ")]
    assert len(steps) == 4, text  # steps 0, 2, 4 and the last (5)
    for ln in steps:
        assert re.search(r"elapsed \d+s, \d+\.\d\d steps/s, ETA (\d+m)?\d+s$", ln), ln


def test_console_mirrors_progress_to_the_terminal_only_when_asked(tmp_path, monkeypatch):
    """`make demo` sets S1KIT_CONSOLE_PROGRESS=1: a job's progress line reaches the terminal (here a
    file standing in for /dev/tty); without it, or without a terminal, nothing is written."""
    from s1kit.progress import console

    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    tty = tmp_path / "tty"
    tty.write_text("")
    line = "step 250/2500 loss 0.0295 lr 2.94e-03, elapsed 56s, 4.50 steps/s, ETA 8m19s"
    assert console(line, env={"S1KIT_CONSOLE_PROGRESS": "1", "S1KIT_RULE": "train_sft"}, tty=str(tty))
    assert tty.read_text() == f"    [train_sft] {line}\n"
    assert not console(line, env={}, tty=str(tty))  # not asked: Snakemake runs outside make demo
    assert not console(line, env={"S1KIT_CONSOLE_PROGRESS": "1"}, tty=str(tmp_path / "no" / "tty"))  # no terminal
    assert tty.read_text().count("\n") == 1
