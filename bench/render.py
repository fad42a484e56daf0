#!/usr/bin/env python3
"""Map rendering in headless Chromium with about 100,000 distinct addresses stored.

Fills (once, cached in target/bench) an SQLite database with generated events through the
store's own ingest path (`store_bench`, seed 1: 100,000 addresses, 5 % without a location),
starts the release `knockmap serve` on a copy of it, and runs web/bench/render.mjs: time from
navigation to the first drawing of every marker, frame times while panning and zooming
(the intervals between animation frames, which Chromium paces to 60 Hz when it can, so
16.7 ms is a frame on time; the frames over 25 ms are dropped ones; and the main thread's busy
time per frame), JS heap.

Usage: bench/render.py [--events 3000000] [--runs 5]
"""

import argparse
import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

from common import ROOT, target_dir
from store import machine


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "knockmap"], cwd=ROOT, check=True)
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "knockmap-store", "--features",
         "sqlite postgres mysql scratch", "--example", "store_bench"],
        cwd=ROOT, check=True,
    )
    target = target_dir()
    bench_dir = os.path.join(target, "bench")
    os.makedirs(bench_dir, exist_ok=True)
    store_bench = os.path.join(target, "release", "examples", "store_bench")
    # One query round fills the cache and reports how many addresses the window holds.
    out = subprocess.run(
        [store_bench, "query", "--events", str(args.events), "--seed", "1", "--repeats", "1",
         "--sql-repeats", "0", "--cache-dir", bench_dir],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    distinct = None
    for line in out.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        distinct = record.get("distinct_ips", distinct)
    dbs = [p for p in glob.glob(os.path.join(bench_dir, f"store-{args.events}-1-g*-s*.sqlite"))
           if os.path.exists(p + ".done")]
    if not dbs:
        sys.exit("store_bench left no database")
    db = max(dbs, key=os.path.getmtime)

    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "render.sqlite")
        shutil.copyfile(db, copy)
        result = subprocess.run(
            ["node", os.path.join(ROOT, "web", "bench", "render.mjs"), "--db", f"sqlite://{copy}",
             "--runs", str(args.runs), "--bin", os.path.join(target, "release", "knockmap")],
            cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
        ).stdout
    r = json.loads(result)
    print(f"Machine: {machine()}, Chromium {chromium_version()}")
    print(f"Date: {datetime.date.today().isoformat()}")
    print(f"Database: {args.events:,} events, {distinct or '?'} distinct addresses; "
          f"{r['markers']:,} located markers drawn")
    print()
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| first full map paint (median of {r['runs']} loads) | {r['first_paint_ms']['median']:.0f} ms "
          f"(all: {', '.join(str(v) for v in r['first_paint_ms']['all'])}) | < 1,500 ms |")
    print(f"| the same, polled from outside plus one frame (median) | {r['first_paint_polled_ms']['median']:.0f} ms "
          f"(all: {', '.join(str(v) for v in r['first_paint_polled_ms']['all'])}) | |")
    for name, key, target in (("panning", "pan_frame_ms", "p95 < 16 ms"), ("zooming", "zoom_frame_ms", "")):
        f = r[key]
        print(f"| frame interval while {name}: p50 / p95 / p99 ({f['frames']} frames) | "
              f"{f['p50']:.1f} / {f['p95']:.1f} / {f['p99']:.1f} ms | {target} |")
        print(f"| frames over 25 ms while {name} (dropped at 60 Hz) | {f['over_25ms']} of {f['frames']} | |")
        print(f"| main-thread busy time per frame while {name} | {f['busy_per_frame_ms']:.2f} ms | |")
    print(f"| JS heap after load (median) | {r['heap_mb']['median']:.0f} MiB | |")


def chromium_version():
    try:
        return subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
