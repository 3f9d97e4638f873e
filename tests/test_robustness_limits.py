"""Hostile sizes: YAML billion laughs, deep nesting, a 100 MB single-line JSON, huge YAML.

Each is refused quickly, with a located message (exit 2), in bounded memory: the time and the
peak memory are measured here (tracemalloc in-process; ru_maxrss of a real child process).
Inputs that once crashed the interpreter (libyaml overflowing the C stack) run in a subprocess so
that a regression fails the test instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from fuzz.harness import check, located_problems, run_cli

REPO = Path(__file__).resolve().parent.parent
CLAIM = REPO / "examples" / "consultation-g-2025.json"

BILLION_LAUGHS = "kind: overlay\nname: lol\nrows:\n  - a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n" + "".join(
    f"  - {c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def _child(argv, *, timeout=60.0):
    """Run `python -m convmed argv` and return (exit status, stderr, seconds, peak RSS in MiB)."""
    env = {k: v for k, v in os.environ.items() if k != "CONVMED_DEBUG"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "convmed", *map(str, argv)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"HANG: convmed {argv} ran more than {timeout}s") from None
    seconds = time.perf_counter() - start
    return proc.returncode, err.decode("utf-8", "replace"), seconds


_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
p = subprocess.run([sys.executable, "-m", "convmed", *sys.argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
print(json.dumps({"rc": p.returncode, "err": p.stderr.decode("utf-8", "replace"), "seconds": time.perf_counter() - start,
                  "rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _peak_rss_mib(argv, *, timeout=60.0) -> tuple[int, str, float, float]:
    """(exit status, stderr, seconds, peak RSS in MiB) of `convmed argv`, measured by a small launcher
    process (a child forked from pytest itself would count pytest's pages in its peak)."""
    import json

    env = {k: v for k, v in os.environ.items() if k != "CONVMED_DEBUG"}
    try:
        out = subprocess.run([sys.executable, "-c", _LAUNCHER, *map(str, argv)], capture_output=True, timeout=timeout,
                             env=env, check=True).stdout
    except subprocess.TimeoutExpired:
        raise AssertionError(f"HANG: convmed {argv} ran more than {timeout}s") from None
    r = json.loads(out)
    return r["rc"], r["err"], r["seconds"], r["rss_kib"] / 1024


@pytest.fixture(scope="module")
def json_100mb(tmp_path_factory) -> Path:
    """A 100 MB claim on one line (a valid start, then a 100 MB string)."""
    path = tmp_path_factory.mktemp("huge") / "demande-100mo.json"
    chunk = "a" * (1 << 20)
    with open(path, "w", encoding="ascii") as f:
        f.write('{"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "id": "')
        for _ in range(100):
            f.write(chunk)
        f.write('", "lines": [{"code": "G"}]}')
    assert path.stat().st_size > 100 * (1 << 20)
    return path


def test_billion_laughs_overlay_is_refused_at_once(tmp_path):
    bomb = tmp_path / "lol.yaml"
    bomb.write_text(BILLION_LAUGHS)
    check(run_cli(["price", CLAIM]), expect=0)  # the spec is loaded (and cached) before measuring
    tracemalloc.start()
    try:
        result = run_cli(["price", CLAIM, "--overlay", bomb], timeout=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    check(result, expect=2, files=[bomb])
    assert f"{bomb}:4: [alias] YAML anchors and aliases are not allowed" in result.err, result.describe()
    assert result.seconds < 2, result.describe()
    assert peak < 20 * 2**20, f"peak Python allocation {peak / 2**20:.1f} MiB"


def test_billion_laughs_in_the_spec_fails_the_check_with_its_line(tmp_path):
    import shutil

    spec = tmp_path / "spec"
    (spec / "acts" / "consultations").mkdir(parents=True)
    shutil.copy(REPO / "spec" / "meta.yaml", spec)
    shutil.copytree(REPO / "spec" / "vocabulary", spec / "vocabulary")
    (spec / "acts" / "consultations" / "LOL.yaml").write_text(BILLION_LAUGHS.replace("kind: overlay", "kind: act"))
    result = run_cli(["spec", "check", "--spec", spec], timeout=30)
    check(result, expect=1)  # the spec under check is faulty: a failing check, each problem located
    assert "LOL.yaml:4: [alias]" in result.err, result.describe()


def test_100mb_single_line_json_is_refused_quickly_in_bounded_memory(json_100mb):
    tracemalloc.start()
    try:
        result = run_cli(["price", json_100mb], timeout=20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    check(result, expect=2, files=[json_100mb])
    assert "[too-large]" in result.err and "refused without reading it whole" in result.err, result.describe()
    assert result.seconds < 2, result.describe()
    assert peak < 16 * 2**20, f"peak Python allocation {peak / 2**20:.1f} MiB for a 100 MB input"


def test_100mb_json_real_process_memory(json_100mb):
    rc, err, seconds, rss = _peak_rss_mib(["price", json_100mb])
    assert rc == 2 and "Traceback" not in err and "[too-large]" in err, err
    assert seconds < 10, f"{seconds:.1f}s"
    assert rss < 100, f"peak RSS {rss:.0f} MiB for a 100 MB input (the input is never read whole)"
    print(f"\n100 MB single-line JSON: exit {rc} in {seconds:.2f}s, peak RSS {rss:.1f} MiB")


def test_100mb_forfait_request_is_refused(json_100mb):
    result = run_cli(["forfait", "fmt", json_100mb, "--year", "2026"], timeout=20)
    check(result, expect=2, files=[json_100mb])
    assert "[too-large]" in result.err and result.seconds < 2, result.describe()


def test_100mb_on_stdin_is_refused_after_the_limit():
    result = run_cli(["price", "-"], stdin=b'{"id": "' + b"a" * (6 * 2**20) + b'"}', timeout=20)
    check(result, expect=2, files=["<stdin>"])
    assert "<stdin>: [too-large]" in result.err, result.describe()


@pytest.mark.parametrize("depth", [30_000, 2_000_000])
def test_deep_yaml_flow_nesting_does_not_crash_the_interpreter(tmp_path, depth):
    """libyaml overflowed the C stack (SIGSEGV, no message) at ~20 000 nested `[`."""
    overlay = tmp_path / "deep.yaml"
    overlay.write_text("kind: overlay\nrows: " + "[" * depth + "]" * depth + "\n")
    rc, err, seconds = _child(["price", CLAIM, "--overlay", overlay], timeout=60)
    assert rc == 2, f"exit {rc} (negative = killed by a signal)\n{err[:500]}"
    assert "Traceback" not in err and f"{overlay}:2: [too-deep]" in err, err[:500]
    assert seconds < 10


def test_deep_json_runs_out_of_recursion_cleanly_in_a_child(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 2_000_000 + "]" * 2_000_000)
    rc, err, seconds = _child(["price", path])
    assert rc == 2 and "Traceback" not in err and f"{path}:1: [too-deep]" in err, err[:500]
    assert seconds < 10
