#!/usr/bin/env python3
"""Parser throughput, side by side with its anchors, on one generated auth log.

Runs in one go, on the same file:
  knockmap parse --count FILE        classification only (whole process, one thread per core)
  knockmap parse --count --threads 1 FILE   the same on one thread
  knockmap parse FILE > OUT          the JSONL output path (whole process)
  grep -c sshd FILE                  one fixed-string scan (the ~1 GB/s anchor)
  fail2ban-regex FILE sshd[mode=aggressive]   (the ~9k lines/s anchor; Debian package fail2ban)

Prints a Markdown table of medians for BENCHMARKS.md. Usage:
  bench/parse.py [--lines 1000000] [--runs 5] [--fail2ban-runs 1] [--no-fail2ban]
"""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

from common import prepare


def timed(cmd, runs, sink):
    """Wall time of each run. Output goes to a real file: GNU grep stops at the first match
    when its output is /dev/null, which would time nothing."""
    times = []
    for _ in range(runs):
        with open(sink, "wb") as out:
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--fail2ban-runs", type=int, default=1)
    ap.add_argument("--no-fail2ban", action="store_true")
    args = ap.parse_args()

    knockmap, bench_dir, log = prepare(args.lines, args.seed)
    size = os.path.getsize(log)

    # Warm the page cache so every command reads from memory.
    with open(log, "rb") as f:
        while f.read(1 << 24):
            pass

    rows = [
        ("knockmap parse --count (classify, one thread per core)", [knockmap, "parse", "--count", log], args.runs),
        ("knockmap parse --count --threads 1 (classify, one thread)",
         [knockmap, "parse", "--count", "--threads", "1", log], args.runs),
        ("knockmap parse (JSONL to a file)", [knockmap, "parse", log], args.runs),
        ("grep -c sshd (fixed string)", ["grep", "-c", "sshd", log], args.runs),
    ]
    if not args.no_fail2ban:
        if shutil.which("fail2ban-regex") is None:
            sys.exit("fail2ban-regex not found: apt-get install fail2ban, or pass --no-fail2ban")
        rows.append((
            "fail2ban-regex sshd[mode=aggressive]",
            ["fail2ban-regex", "--raw", "--print-no-missed", log, "sshd[mode=aggressive]"],
            args.fail2ban_runs,
        ))

    # Rounds: every command once per round, so that a slow spell of this shared machine
    # weighs on all of them alike.
    times = {name: [] for name, _, _ in rows}
    for round_ in range(max(r for _, _, r in rows)):
        for name, cmd, runs in rows:
            if round_ < runs:
                times[name] += timed(cmd, 1, os.path.join(bench_dir, "out"))
    results = []
    for name, _, runs in rows:
        med = statistics.median(times[name])
        results.append((name, runs, med, min(times[name]), max(times[name])))
        print(f"{name}: median {med:.3f} s over {runs} run(s)", file=sys.stderr)

    f2b = next((r for r in results if r[0].startswith("fail2ban")), None)
    print(f"Input: {args.lines:,} lines, {size / 1e6:.1f} MB (seed {args.seed}), "
          f"{datetime.date.today()}, {platform.machine()} {os.cpu_count()} cores")
    print()
    print("| command | runs | median s | MB/s | lines/s | vs fail2ban (lines/s) |")
    print("|---|---|---|---|---|---|")
    for name, runs, med, lo, hi in results:
        ratio = f"{f2b[2] / med:,.0f}×" if f2b else "n/a"
        print(f"| {name} | {runs} | {med:.3f} ({lo:.3f}–{hi:.3f}) | {size / med / 1e6:,.0f} | "
              f"{args.lines / med:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
