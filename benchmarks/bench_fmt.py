"""Benchmark: `convmed forfait fmt` on a synthetic patientèle of N patients (JSON Lines).

    python benchmarks/bench_fmt.py [--patients 1000000] [--keep FILE.jsonl]

Generates the file (deterministic synthetic records: convmed.forfaits.synthetic), then runs the
real command line `convmed forfait fmt REQUEST --year 2026 --patients FILE` in a child process
and reports the wall time, the throughput (patients per second) and the peak resident memory
of the child (ru_maxrss). A second run on a file ten times smaller shows that the peak does not
grow with the file. Not run by the test suite (see tests/test_forfaits_patientele.py for the
tracemalloc check on 50 000 patients).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(request: Path, patients: Path) -> tuple[float, int, dict]:
    cmd = [sys.executable, "-m", "convmed", "forfait", "fmt", str(request), "--year", "2026", "--patients", str(patients)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    # peak resident set size of the (only) child that ran since the last call, in kB on Linux
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"convmed failed ({proc.returncode}): {err}")
    return wall, usage.ru_maxrss, json.loads(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--keep", help="write the patient file here and keep it")
    args = ap.parse_args()

    from convmed.forfaits.synthetic import write_jsonl

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        request = tmp / "request.json"
        request.write_text(json.dumps({"scheme": "fmt", "doctor": {"sector": "S1", "zone": "ZIP",
                                       "first_installation_date": "2010-01-01", "birth_date": "1970-01-01"}}))
        small = tmp / "small.jsonl"
        big = Path(args.keep) if args.keep else tmp / "big.jsonl"
        t0 = time.perf_counter()
        write_jsonl(str(small), max(1, args.patients // 10))
        write_jsonl(str(big), args.patients)
        gen = time.perf_counter() - t0
        size = big.stat().st_size
        print(f"fichier : {args.patients} patients, {size / 1e6:.1f} Mo (généré en {gen:.1f} s)")
        wall_s, rss_s, res_s = run(request, small)
        wall, rss, res = run(request, big)
        # RUSAGE_CHILDREN's ru_maxrss is the maximum over the children: report both runs
        print(f"petit fichier ({res_s['patients']['records']} patients) : {wall_s:.1f} s, pic RSS ≤ {rss_s / 1024:.0f} Mo")
        print(f"grand fichier ({res['patients']['records']} patients) : {wall:.1f} s, "
              f"{res['patients']['records'] / wall:,.0f} patients/s, pic RSS (max des deux exécutions) {rss / 1024:.0f} Mo")
        print(f"total {res['total']} €, complet = {res['complete']}, processeurs : {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
