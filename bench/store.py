#!/usr/bin/env python3
"""Store throughput and query latency, on SQLite, PostgreSQL and MariaDB/MySQL.

Both modes run the example `store_bench` of knockmap-store (built here in release mode) on
events it generates from the seed: about 100,000 IPv4 addresses with a Zipf-like skew, a few
sensors, mostly failed logins and invalid users, ~2,000 user names, a location for about 95 %
of the addresses.

  ingest   For each backend, a fresh database (SQLite: a temporary file; PostgreSQL and
           MariaDB/MySQL: knockmap_bench_<pid> on the server, dropped afterwards) receives the
           same events twice, side by side: through knockmap's Store::ingest in batches of
           1,000 (what a sensor sends), then as the raw baseline, one prepared single-row
           INSERT per event in one transaction into a table of the same columns with only a
           primary key, on the backend's native sqlx driver. Only database time is counted.
           --runs repeats the whole round; the table shows medians.
  query    After loading the store's in-memory summary (time and memory reported), an SQLite
           database of --events events over the 90 days before its creation (cached
           in target/bench/ by event count, seed, generator and schema; --rebuild makes it
           anew), or the database at --db-url (filled if it holds no events), answers `stats`
           and `markers` for the last 24 hours, the last 30 days and all time, --repeats times
           each after one warm-up; the table shows p50 and p95.

Prints Markdown for BENCHMARKS.md: machine, date, command, table. Usage:
  bench/store.py ingest [--events 1000000] [--runs 3] [--backends sqlite,postgres,mysql]
  bench/store.py query [--events 10000000] [--repeats 50] [--db-url URL] [--rebuild]
PostgreSQL and MariaDB/MySQL are reached at $KNOCKMAP_TEST_POSTGRES_URL and
$KNOCKMAP_TEST_MYSQL_URL (or --postgres-url/--mysql-url), by default the local servers of
DEVELOPERS.md; the user must be allowed to create databases.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys

from common import ROOT, target_dir

BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MariaDB/MySQL"}


def build():
    """Builds the benchmark; returns (its binary, target/bench)."""
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "knockmap-store", "--features", "scratch",
         "--example", "store_bench"],
        cwd=ROOT, check=True,
    )
    target = target_dir()
    bench_dir = os.path.join(target, "bench")
    os.makedirs(bench_dir, exist_ok=True)
    return os.path.join(target, "release", "examples", "store_bench"), bench_dir


def run_bench(cmd):
    """The JSON lines the benchmark prints; its progress goes to our stderr."""
    print("+ " + shlex.join(redact(a) for a in cmd), file=sys.stderr)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"store_bench failed (exit status {proc.returncode})")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def first_line(path, key):
    """The value of the first `key: value` line of a /proc file, or None."""
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def machine():
    """One line on the machine: cores, CPU model, memory, OS, kernel, Rust."""
    cpu = first_line("/proc/cpuinfo", "model name") or platform.processor() or platform.machine()
    mem = first_line("/proc/meminfo", "MemTotal")
    ram = f"{int(mem.split()[0]) / 2**20:.0f} GiB RAM" if mem else "unknown RAM"
    os_name = platform.system()
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        os_name = fields.get("PRETTY_NAME", os_name).strip('"')
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {ram}, {os_name}, Linux {platform.release()}, "
            f"{rustc} (release profile)")


def redact(arg):
    """`arg` without the password of a database URL."""
    return re.sub(r"^(\w+://[^:/@]*):[^@]*@", r"\1:…@", arg)


def command():
    """The command line as given, with the script's path relative to the repository."""
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    return shlex.join([script] + [redact(a) for a in sys.argv[1:]])


def short_version(version):
    """`PostgreSQL 15.20 (Debian …) on x86_64-pc-linux-gnu, …` without the build details."""
    return version.split(" on ")[0]


def header(versions):
    print(f"Machine: {machine()}. Date: {datetime.date.today()}.")
    print()
    print("Databases: " + "; ".join(short_version(v) for v in versions) + ".")
    print()
    print(f"Command: `{command()}`")
    print()


def spread(values, fmt, unit=""):
    """The median, and the range when there is more than one value."""
    med = fmt.format(statistics.median(values)) + unit
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def ingest(args, binary):
    cmd = [binary, "ingest", "--events", str(args.events), "--seed", str(args.seed),
           "--batch", str(args.batch), "--backends", args.backends]
    if args.postgres_url:
        cmd += ["--postgres-url", args.postgres_url]
    if args.mysql_url:
        cmd += ["--mysql-url", args.mysql_url]
    # Each run does every backend once, knockmap then the baseline on the same database, so a
    # slow spell of this shared machine weighs on a backend's pair alike.
    runs = {}
    for i in range(args.runs):
        print(f"run {i + 1} of {args.runs}", file=sys.stderr)
        for line in run_bench(cmd):
            runs.setdefault(line["backend"], []).append(line)

    first = next(iter(runs.values()))[0]
    header([lines[0]["server_version"] for lines in runs.values()])
    print(f"Input: {args.events:,} generated events (seed {args.seed}; {first['distinct_ips']:,} "
          f"distinct addresses); knockmap ingest in batches of {args.batch:,}; baseline: one "
          f"prepared single-row INSERT per event in one transaction, primary key only. Database "
          f"time only; medians (min–max) of {args.runs} run(s).")
    print()
    print("| backend | knockmap ingest s | knockmap events/s | baseline s | baseline events/s "
          "| knockmap ÷ baseline (events/s) | database MB | MB per million events | baseline table MB per million events |")
    print("|---|---|---|---|---|---|---|---|---|")
    for backend, lines in runs.items():
        def col(key, lines=lines):
            return [line[key] for line in lines]

        km, base = col("knockmap_seconds"), col("baseline_seconds")
        print(f"| {BACKEND_NAMES[backend]} "
              f"| {spread(km, '{:.2f}')} | {args.events / statistics.median(km):,.0f} "
              f"| {spread(base, '{:.2f}')} | {args.events / statistics.median(base):,.0f} "
              f"| {spread(col('rate_ratio'), '{:.2f}', '×')} "
              f"| {statistics.median(col('db_bytes')) / 1e6:,.1f} "
              f"| {statistics.median(col('db_bytes_per_million_events')) / 1e6:,.0f} "
              f"| {statistics.median(col('baseline_bytes_per_million_events')) / 1e6:,.0f} |")


def sql_p50(r):
    return f"{r['sql_p50_ms']:,.1f}" if "sql_p50_ms" in r else "–"


def speedup(r):
    return f"{r['sql_p50_ms'] / r['p50_ms']:,.0f}×" if "sql_p50_ms" in r else "–"


def query(args, binary, bench_dir):
    cmd = [binary, "query", "--events", str(args.events), "--seed", str(args.seed),
           "--repeats", str(args.repeats), "--sql-repeats", str(args.sql_repeats), "--batch", str(args.batch), "--cache-dir", bench_dir]
    if args.db_url:
        cmd += ["--db-url", args.db_url]
    if args.rebuild:
        cmd.append("--rebuild")
    (result,) = run_bench(cmd)

    header([result["server_version"]])
    print(f"Database: {BACKEND_NAMES[result['backend']]}, {result['events']:,} generated events "
          f"({result['weighted_events']:,} weighted by count; seed {args.seed}) over the 90 days up "
          f"to {result['newest_event']}, {result['distinct_ips']:,} addresses; "
          f"{result['db_bytes'] / 1e6:,.1f} MB, {result['db_bytes_per_million_events'] / 1e6:,.0f} MB "
          f"per million events. The in-memory summary loaded in {result['summary_load_s']:,.1f} s "
          f"and added {result['summary_rss_mib']:,.0f} MiB to the process. Windows end at the newest "
          f"event; each call includes serializing the answer to JSON, as the API does; the first "
          f"call (which reads the raw events of the window's partial hour) is shown apart, then "
          f"{args.repeats} timed calls.")
    print()
    print("| query | window | answer | JSON | first ms | p50 ms | p95 ms | min–max ms "
          "| SQL alone p50 ms | speed-up (p50) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    windows = {"24h": "last 24 h", "30d": "last 30 days", "all": "all time"}
    for r in result["results"]:
        if r["query"] == "stats":
            answer = (f"{r['window_events']:,} events, {r['window_ips']:,} addresses, "
                      f"{r['series_hours']:,} hours")
        else:
            answer = f"{r['markers']:,} markers, {r['unlocated']:,} unlocated"
        print(f"| `{r['query']}` | {windows.get(r['window'], r['window'])} | {answer} "
              f"| {r['json_bytes'] / 1e6:,.2f} MB | {r['first_ms']:,.1f} | {r['p50_ms']:,.1f} | {r['p95_ms']:,.1f} | {r['min_ms']:,.1f}–{r['max_ms']:,.1f} "
              f"| {sql_p50(r)} | {speedup(r)} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = ap.add_subparsers(dest="mode", required=True)
    ing = modes.add_parser("ingest", help="ingest throughput against the raw-insert baseline")
    ing.add_argument("--events", type=int, default=1_000_000)
    ing.add_argument("--runs", type=int, default=3)
    ing.add_argument("--batch", type=int, default=1_000)
    ing.add_argument("--backends", default="sqlite,postgres,mysql")
    ing.add_argument("--postgres-url")
    ing.add_argument("--mysql-url")
    q = modes.add_parser("query", help="stats and markers latency on a large database")
    q.add_argument("--events", type=int, default=10_000_000)
    q.add_argument("--repeats", type=int, default=50)
    q.add_argument("--sql-repeats", type=int, default=3,
                   help="calls of each query by the SQL statements alone (0: none)")
    q.add_argument("--batch", type=int, default=10_000, help="ingest batch size while generating")
    q.add_argument("--db-url", help="a PostgreSQL or MySQL database to use instead of the cached SQLite one")
    q.add_argument("--rebuild", action="store_true", help="generate the cached SQLite database anew")
    for sub in (ing, q):
        sub.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    binary, bench_dir = build()
    if args.mode == "ingest":
        ingest(args, binary)
    else:
        query(args, binary, bench_dir)


if __name__ == "__main__":
    main()
