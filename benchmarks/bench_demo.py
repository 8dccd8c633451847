"""How long does `make demo` take, and how much memory does it need?

Runs the default config from scratch in a temporary working directory with
`snakemake --cores all`, samples the summed RSS of the whole process tree every 0.2 s,
then runs it again (which must do nothing) and prints wall times, peak memory and the
per-rule times from Snakemake's benchmark-free job log.

    .venv/bin/python benchmarks/bench_demo.py            # or: make bench
    .venv/bin/python benchmarks/bench_demo.py --keep     # keep the working directory
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(workdir: Path) -> tuple[float, int, str]:
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    cmd = [str(bindir / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(REPO / "config/default.yaml"), "--cores", "all"]
    peak, t0 = 0, time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    ps = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(ps))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode:
        sys.exit(f"snakemake failed:\n{out[-3000:]}")
    return time.perf_counter() - t0, peak, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the temporary working directory")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="s1kit-demo-"))
    try:
        wall, peak, _ = run(workdir)
        again, _, out2 = run(workdir)
        print(f"machine        : {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.1f} GiB")
        print(f"demo (cold)    : {wall:7.1f} s wall, peak RSS of the process tree {peak / 2**30:.2f} GiB")
        print(f"demo (again)   : {again:7.1f} s wall, "
              f"{'nothing to be done' if 'Nothing to be done' in out2 else 'RERAN JOBS'}")
        logs = sorted((workdir / "logs").rglob("*.log"))
        print(f"jobs           : {len(logs)} (logs under {workdir / 'logs'})")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
