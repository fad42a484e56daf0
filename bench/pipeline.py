#!/usr/bin/env python3
"""Collection throughput, side by side with the parse-only rate of the same file.

Runs in one go, on one generated auth log:
  knockmap parse --threads 1 FILE > OUT      parse-only rate (JSONL, one thread)
  knockmap import FILE                       backfill into a fresh SQLite database
  knockmap sensor → knockmap serve           the same file shipped over loopback HTTP
then measures the sensor's CPU and memory while idle (nothing new to read).

Prints a Markdown table for BENCHMARKS.md. Usage:
  bench/pipeline.py [--lines 1000000] [--runs 3] [--idle-seconds 30]
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from common import ROOT, prepare

CITY_DB = os.path.join(ROOT, "crates/knockmap-geo/tests/fixtures/GeoLite2-City-Test.mmdb")
TICKS = os.sysconf("SC_CLK_TCK")


def expected_events(knockmap, log, out):
    """Events weighted by count, as /api/v1/stats counts them, from the parser's output."""
    with open(out, "wb") as sink:
        subprocess.run([knockmap, "parse", "--threads", "1", log], check=True, stdout=sink)
    total = 0
    with open(out, "rb") as f:
        for line in f:
            total += json.loads(line).get("count", 1)
    return total


def db_args(work):
    return ["--db", f"sqlite://{work}/k.sqlite", "--data-dir", f"{work}/data",
            "--no-geoip-download", "--geoip", CITY_DB]


def serve(knockmap, work):
    proc = subprocess.Popen(
        [knockmap, "serve", "--listen", "127.0.0.1:0"] + db_args(work),
        stderr=subprocess.PIPE, text=True, env=dict(os.environ, KNOCKMAP_LOG="warn"),
    )
    for line in proc.stderr:
        if line.startswith("knockmap: listening on "):
            return proc, line.split()[-1].rstrip("/")
    sys.exit("serve did not start")


def stats_events(base):
    with urllib.request.urlopen(f"{base}/api/v1/stats") as r:
        return json.load(r)["events"]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def run_sensor(knockmap, log, expected, idle_seconds):
    """Seconds until the server holds every event; then the sensor's idle CPU share and RSS."""
    work = tempfile.mkdtemp(prefix="knockmap-bench-")
    try:
        token = subprocess.run(
            [knockmap, "token", "create", "bench"] + db_args(work)[:4],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        server, base = serve(knockmap, work)
        start = time.perf_counter()
        sensor = subprocess.Popen(
            [knockmap, "sensor", "--server", base, "--source", log, "--state-dir", f"{work}/sensor",
             "--batch-events", "5000", "--batch-ms", "200"],
            env=dict(os.environ, KNOCKMAP_TOKEN=token, KNOCKMAP_LOG="warn"),
        )
        while stats_events(base) < expected:
            time.sleep(0.05)
            if time.perf_counter() - start > 1800:
                sys.exit("the sensor did not deliver everything in 30 minutes")
        seconds = time.perf_counter() - start
        time.sleep(2)
        cpu0, t0 = cpu_seconds(sensor.pid), time.perf_counter()
        time.sleep(idle_seconds)
        idle_cpu = (cpu_seconds(sensor.pid) - cpu0) / (time.perf_counter() - t0)
        rss = rss_kib(sensor.pid)
        stored = stats_events(base)
        sensor.terminate()
        sensor.wait()
        server.terminate()
        server.wait()
        if stored != expected:
            sys.exit(f"stored {stored} events, expected {expected}")
        return seconds, idle_cpu, rss
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_import(knockmap, log):
    work = tempfile.mkdtemp(prefix="knockmap-bench-")
    try:
        start = time.perf_counter()
        subprocess.run([knockmap, "import", "--no-progress-bar", log] + db_args(work),
                       check=True, capture_output=True)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--idle-seconds", type=float, default=30)
    args = ap.parse_args()

    knockmap, bench_dir, log = prepare(args.lines, args.seed)
    out = os.path.join(bench_dir, "out")
    events = expected_events(knockmap, log, out)

    parse_t, import_t, sensor_t, idle, rss = [], [], [], [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        with open(out, "wb") as sink:
            subprocess.run([knockmap, "parse", "--threads", "1", log], check=True, stdout=sink)
        parse_t.append(time.perf_counter() - start)
        import_t.append(run_import(knockmap, log))
        s, i, r = run_sensor(knockmap, log, events, args.idle_seconds)
        sensor_t.append(s)
        idle.append(i)
        rss.append(r)
        print(f"parse {parse_t[-1]:.2f} s, import {import_t[-1]:.2f} s, sensor {s:.2f} s, "
              f"idle CPU {100 * i:.2f} %, RSS {r / 1024:.1f} MiB", file=sys.stderr)

    print(f"Input: {args.lines:,} lines, {os.path.getsize(log) / 1e6:.1f} MB, {events:,} events "
          f"(weighted by count; seed {args.seed}), {datetime.date.today()}, "
          f"{platform.machine()} {os.cpu_count()} cores")
    print()
    print("| path | runs | median s (min–max) | events/s | vs parse only |")
    print("|---|---|---|---|---|")
    p = statistics.median(parse_t)
    for name, times in [("`knockmap parse` (JSONL, one thread)", parse_t),
                        ("`knockmap import` into SQLite", import_t),
                        ("`knockmap sensor` → `serve` over loopback", sensor_t)]:
        m = statistics.median(times)
        print(f"| {name} | {len(times)} | {m:.2f} ({min(times):.2f}–{max(times):.2f}) | "
              f"{events / m:,.0f} | {p / m:.2f}× |")
    print()
    print(f"Sensor idle after delivery ({args.idle_seconds:.0f} s, median of {len(idle)}): "
          f"{100 * statistics.median(idle):.2f} % of one core, RSS {statistics.median(rss) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
