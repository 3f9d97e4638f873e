"""Benchmark: the FMT of a synthetic patientèle of N patients, by the reference engine
(`convmed forfait fmt`, JSON Lines) and by the columnar engine (`convmed batch forfait fmt`, Parquet).

    python benchmarks/bench_fmt.py [--patients 1000000] [--runs 3] [--only reference,columnar]
                                   [--workdir DIR] [--chunk-rows N]

Generates the files once in --workdir (deterministic synthetic records: convmed.forfaits.synthetic;
Parquet converted with polars as benchmarks/run.py does), then runs the real command lines in child
processes, --runs times each, and reports per engine the median and the best wall time (the machine may
be shared: the median of several runs is the figure to quote), the throughput (patients per second,
whole process: start-up, spec, reading, counting, output), the CPU time (user + system) and the peak
resident memory of the child (`ru_maxrss` of that child alone, from os.wait4). Both engines must give the
same total; the columnar one is also run on a file ten times smaller, to show that its peak memory does not
grow with the file. Not run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REQUEST = {"scheme": "fmt", "doctor": {"sector": "S1", "zone": "ZIP", "first_installation_date": "2010-01-01",
                                       "birth_date": "1970-01-01"}}


def run_measured(cmd: list[str]) -> dict:
    """One child process: wall seconds, its own CPU time and peak RSS (os.wait4), its JSON output."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
        _pid, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(cmd)} : code {os.waitstatus_to_exitcode(status)} : {err.read().decode()[-500:]}")
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
                "out": json.loads(out.read())}


def prepare(work: Path, n: int) -> dict:
    from convmed.forfaits.synthetic import write_jsonl

    files = {}
    for size in (n, max(1, n // 10)):
        jsonl = work / f"patients-{size}.jsonl"
        if not jsonl.exists():
            t0 = time.perf_counter()
            write_jsonl(str(jsonl), size)
            print(f"· {jsonl.name} généré en {time.perf_counter() - t0:.1f} s")
        parquet = work / f"patients-{size}.parquet"
        if not parquet.exists():
            import polars as pl

            pl.read_ndjson(jsonl, infer_schema_length=None).write_parquet(parquet)
            print(f"· {parquet.name} converti")
        files[size] = (jsonl, parquet)
    request = work / "fmt-request.json"
    request.write_text(json.dumps(REQUEST))
    return {"files": files, "request": request}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="reference,columnar")
    ap.add_argument("--workdir", default="/tmp/convmed-bench-fmt")
    ap.add_argument("--chunk-rows", type=int, default=None, help="columnar engine: --chunk-rows")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    data = prepare(work, args.patients)
    only = set(args.only.split(","))
    exe = [sys.executable, "-m", "convmed"]
    totals = {}
    load = os.getloadavg()[0]
    print(f"{args.patients} patients ; {os.cpu_count()} processeurs ; charge moyenne {load:.1f} ; {args.runs} exécutions")

    def report(name: str, n: int, cmd: list[str]) -> None:
        runs = [run_measured(cmd) for _ in range(args.runs)]
        walls = [r["wall"] for r in runs]
        med = statistics.median(walls)
        res = runs[0]["out"]
        totals[name] = res["total"]
        print(f"{name:28s} n={n:>9} : médiane {med:6.2f} s ({n / med:>11,.0f} patients/s), meilleure "
              f"{min(walls):6.2f} s ({n / min(walls):>11,.0f}/s), CPU {statistics.median(r['cpu'] for r in runs):5.2f} s, "
              f"pic RSS {max(r['rss_mb'] for r in runs):5.0f} Mo, total {res['total']} €")

    n = args.patients
    jsonl, parquet = data["files"][n]
    req = str(data["request"])
    if "reference" in only:
        report("référence (JSON Lines)", n, exe + ["forfait", "fmt", req, "--year", "2026", "--patients", str(jsonl)])
    if "columnar" in only:
        extra = ["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else []
        small = max(1, n // 10)
        report("colonnes (Parquet, 1/10)", small, exe + ["batch", "forfait", "fmt", str(data["files"][small][1]),
                                                           "--request", req, "--year", "2026", "--no-progress", *extra])
        report("colonnes (Parquet)", n, exe + ["batch", "forfait", "fmt", str(parquet), "--request", req,
                                               "--year", "2026", "--no-progress", *extra])
    if "référence (JSON Lines)" in totals and "colonnes (Parquet)" in totals:
        same = totals["référence (JSON Lines)"] == totals["colonnes (Parquet)"]
        print(f"même total : {same}")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
