"""What the benchmark scripts share: the release build and the generated auth log."""

import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def target_dir():
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(meta)["target_directory"]


def prepare(lines, seed):
    """Builds the release binary and the generator; returns (knockmap binary, bench directory,
    generated log of `lines` lines), generating the log only if it is not there yet."""
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "knockmap"], cwd=ROOT, check=True)
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "knockmap-parse", "--features", "gen",
         "--example", "gen_authlog"],
        cwd=ROOT, check=True,
    )
    target = target_dir()
    bench_dir = os.path.join(target, "bench")
    os.makedirs(bench_dir, exist_ok=True)
    log = os.path.join(bench_dir, f"auth-{lines}-{seed}.log")
    if not os.path.exists(log):
        gen = os.path.join(target, "release", "examples", "gen_authlog")
        with open(log, "wb") as out:
            subprocess.run([gen, "--lines", str(lines), "--seed", str(seed)], check=True, stdout=out)
    return os.path.join(target, "release", "knockmap"), bench_dir, log
