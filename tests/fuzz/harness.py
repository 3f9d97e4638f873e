"""Run convmed entry points on hostile input and check the documented contract.

Contract (README, « Codes de sortie ») : 0 success, 1 a check that fails, 2 bad input with a
located message (file and line, JSON pointer or record number), never a Python traceback, never
exit 3 (an internal error is a bug), never a hang.

`run_cli` calls `convmed.cli.main` in-process (fast) with stdout/stderr captured and a wall-clock
timer (SIGALRM) that turns a hang into a test failure; `run_subprocess` runs the real executable.
Every call is counted per entry point so that the full fuzz run can report how many generated
inputs it fed (CONVMED_FUZZ_STATS=path.json appends the counts at exit).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FULL = os.environ.get("CONVMED_FUZZ_FULL") == "1"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

COUNTS: collections.Counter = collections.Counter()
STATUSES: collections.Counter = collections.Counter()


def examples(ci: int = 200, local: int = 60, full: int = 2500) -> int:
    """Number of Hypothesis examples for one fuzz test: bounded in CI, more with CONVMED_FUZZ_FULL=1."""
    if FULL:
        return full
    return ci if CI else local


def fuzz_settings(n: int | None = None, **kw):
    from hypothesis import HealthCheck, settings

    return settings(max_examples=n if n is not None else examples(), deadline=None, derandomize=not FULL,
                    database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
                    **kw)


class Hang(BaseException):
    """Raised by the timer inside the call: BaseException, so `except Exception` guards cannot swallow it."""


@dataclass
class Result:
    argv: list
    rc: int
    out: str
    err: str
    seconds: float

    def describe(self) -> str:
        return f"convmed {' '.join(map(str, self.argv))!s:.300} -> {self.rc} in {self.seconds:.2f}s\n" \
               f"stderr: {self.err[:2000]}\nstdout: {self.out[:500]}"


class _Capture(io.TextIOWrapper):
    def __init__(self):
        super().__init__(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)

    def text(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8", "replace")


def _alarm(signum, frame):
    raise Hang()


def run_cli(argv, *, stdin: bytes | str | None = None, timeout: float = 20.0, entry: str | None = None) -> Result:
    """convmed.cli.main(argv) in-process; argparse exits (SystemExit) become the exit status."""
    from convmed.cli import main

    argv = [str(a) for a in argv]
    COUNTS[entry or " ".join(argv[:2])] += 1
    out, err = _Capture(), _Capture()
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    fake_in = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    saved_in, saved_debug = sys.stdin, os.environ.pop("CONVMED_DEBUG", None)
    start = time.perf_counter()
    try:
        sys.stdin = fake_in
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse usage errors
                rc = exc.code if isinstance(exc.code, int) else 2
    except Hang:
        raise AssertionError(f"HANG: convmed {argv!r:.300} did not finish within {timeout}s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        sys.stdin = saved_in
        if saved_debug is not None:
            os.environ["CONVMED_DEBUG"] = saved_debug
    result = Result(argv, rc, out.text(), err.text(), time.perf_counter() - start)
    STATUSES[rc] += 1
    return result


def run_subprocess(argv, *, stdin: bytes | None = None, timeout: float = 60.0, env: dict | None = None) -> Result:
    exe = [sys.executable, "-m", "convmed"]
    environment = {**os.environ, **(env or {})}
    environment.pop("CONVMED_DEBUG", None)
    start = time.perf_counter()
    try:
        p = subprocess.run(exe + [str(a) for a in argv], input=stdin, capture_output=True, timeout=timeout,
                           env=environment)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"HANG: convmed {argv!r} did not finish within {timeout}s") from None
    COUNTS["subprocess"] += 1
    return Result(list(argv), p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
                  time.perf_counter() - start)


# A located problem as rendered by convmed.errors.Located: "FILE[:LINE][ POINTER]: [code] message".
# A command-line problem is located on "<input>" with the option (--chunk-rows) or the argument (CODE) as pointer.
_LOCATED = re.compile(r"^(?P<file>.+?)(?::(?P<line>\d+))?(?: (?P<pointer>/\S*|--[a-z][\w-]*|[A-Z]+))?: "
                      r"\[(?P<code>[a-z0-9_-]+)\] \S")
_WHOLE_FILE_CODES = {"io", "too-large", "encoding-bom", "special-file"}


def located_problems(err: str) -> list[re.Match]:
    return [m for m in map(_LOCATED.match, err.splitlines()) if m]


def check(result: Result, *, expect: int | set | None = None, files=(), allowed=frozenset({0, 1, 2}),
          usage_ok: bool = False) -> Result:
    """Assert the contract on one run. `files`: the names a located message may cite."""
    desc = result.describe()
    assert "Traceback (most recent call last)" not in result.err + result.out, "traceback printed\n" + desc
    assert result.rc != 3, "internal error (exit 3): a bug, not a refusal\n" + desc
    assert result.rc in allowed, f"exit status {result.rc} not in {sorted(allowed)}\n" + desc
    if expect is not None:
        wanted = {expect} if isinstance(expect, int) else set(expect)
        assert result.rc in wanted, f"expected exit {sorted(wanted)}\n" + desc
    if result.rc == 2:
        if usage_ok and "usage:" in result.err:
            assert "error:" in result.err, desc
            return result
        problems = located_problems(result.err)
        assert problems, "exit 2 without a located message\n" + desc
        names = {str(f) for f in files} | {Path(str(f)).name for f in files} | {"<stdin>", "<input>"}
        for m in problems:
            if m["file"] == "<input>":  # a command-line option: the message must name it or give a pointer
                assert m["pointer"] is not None or "--" in m.string, "option error names no option\n" + desc
                continue
            if files:
                assert any(n and n in m["file"] for n in names), f"message does not name the file {names}\n" + desc
            if m["code"] not in _WHOLE_FILE_CODES:
                assert m["line"] or m["pointer"] is not None, "message names no line nor pointer\n" + desc
    return result


def _write_stats() -> None:  # pragma: no cover - only for the full run
    path = os.environ.get("CONVMED_FUZZ_STATS")
    if not path or not COUNTS:
        return
    old = json.loads(Path(path).read_text()) if Path(path).exists() else {"counts": {}, "statuses": {}}
    for k, v in COUNTS.items():
        old["counts"][k] = old["counts"].get(k, 0) + v
    for k, v in STATUSES.items():
        old["statuses"][str(k)] = old["statuses"].get(str(k), 0) + v
    Path(path).write_text(json.dumps(old, indent=2, sort_keys=True))


atexit.register(_write_stats)
