"""Run a selection of vectors through adapters: workers, timeouts, restarts, progress.

Each worker owns one adapter (one child process, one HTTP client, or the callable).
A case whose adapter crashes, hangs past the timeout or answers garbage is marked
`errored`; the adapter is restarted and the run goes on. An adapter that cannot be
restarted three times in a row is given up; its remaining cases are marked errored.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
import time
from typing import Callable

from convmed.conformance.compare import differences
from convmed.conformance.protocol import AdapterStartError, Response, start_message
from convmed.conformance.reports import CaseOutcome, Reports
from convmed.conformance.vectors import Case, Suite
from convmed.errors import ConvmedError

MAX_START_FAILURES = 3


def judge(case: Case, response, duration: float) -> CaseOutcome:
    base = dict(id=case.id, family=case.family, level=case.level, description=case.description,
                rules=list(case.rules), seeds=[dict(s) for s in case.seeds], duration=duration, file=case.file)
    if response.outcome == "skipped":
        return CaseOutcome(status="skipped", message=f"ignoré par l'implémentation : {response.reason}", **base)
    if response.outcome == "errored":
        return CaseOutcome(status="errored", message=response.reason or "erreur", **base)
    diffs = differences(case.expected, response.result)
    if diffs:
        return CaseOutcome(status="failed", differences=[d.as_dict() for d in diffs],
                           message=f"{len(diffs)} différence(s) avec la projection attendue", **base)
    return CaseOutcome(status="passed", **base)


class Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.n = {"passed": 0, "failed": 0, "errored": 0, "skipped": 0}
        self.done = 0
        self._lock = threading.Lock()

    def update(self, outcome: CaseOutcome) -> None:
        with self._lock:
            self.done += 1
            self.n[outcome.status] += 1
            if self.enabled:
                width = 30
                filled = width * self.done // max(self.total, 1)
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                                 f"réussis {self.n['passed']} · échecs {self.n['failed']} · erreurs "
                                 f"{self.n['errored']} · ignorés {self.n['skipped']}")
                sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def run_cases(suite: Suite, cases: list[Case], adapter_factory: Callable[[], object], reports: Reports, *,
              workers: int = 1, timeout: float = 10.0, progress: bool | None = None,
              selection: dict | None = None) -> dict:
    """Run `cases`; returns the footer summary. Ctrl-C: reports are finished, then KeyboardInterrupt is re-raised."""
    start_msg = start_message(suite.suite_version, suite.spec_version)
    first = adapter_factory()
    try:
        implementation = first.start(start_msg)
    except AdapterStartError as exc:
        raise ConvmedError.single(str(exc), pointer=getattr(first, "option", "--adapter"), code="adapter") from None
    reports.begin(implementation, selection)
    bar = Progress(len(cases), sys.stderr.isatty() if progress is None else progress)
    todo: queue.Queue = queue.Queue()
    for case in cases:
        todo.put(case)
    seq = itertools.count(1)
    seq_lock = threading.Lock()
    stop = threading.Event()
    adapters = [first]

    def record(outcome: CaseOutcome) -> None:
        reports.add(outcome)
        bar.update(outcome)

    def work(adapter, started: bool) -> None:
        if not started:
            try:
                adapter.start(start_msg)
            except AdapterStartError:
                return  # the other workers take the cases
        failures = 0
        while not stop.is_set():
            try:
                case = todo.get_nowait()
            except queue.Empty:
                return
            with seq_lock:
                n = next(seq)
            t0 = time.monotonic()
            try:
                response = adapter.run(n, case.wire(), timeout)
                failures = 0
            except AdapterStartError as exc:
                failures += 1
                response = Response("errored", reason=f"redémarrage de l'adaptateur impossible : {exc}")
            except Exception as exc:  # noqa: BLE001 - the harness itself (spawn, pipes): the case is errored, the run goes on
                failures += 1
                response = Response("errored", reason=f"erreur du harnais : {type(exc).__name__}: {exc}")
                try:
                    adapter.kill() if hasattr(adapter, "kill") else None
                except Exception:  # noqa: BLE001
                    pass
            if stop.is_set():
                return
            record(judge(case, response, time.monotonic() - t0))
            if failures >= MAX_START_FAILURES:
                return

    threads = [threading.Thread(target=work, args=(first, True), daemon=True)]
    for _ in range(max(1, workers) - 1):
        extra = adapter_factory()
        adapters.append(extra)
        threads.append(threading.Thread(target=work, args=(extra, False), daemon=True))
    interrupted = False
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.1)
        # every worker gave up: what is left could not be run
        while True:
            try:
                case = todo.get_nowait()
            except queue.Empty:
                break
            record(judge(case, Response("errored", reason="adaptateur hors service (redémarrages en échec)"), 0.0))
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
    finally:
        bar.close()
        summary = reports.finish(interrupted=interrupted)
        for a in adapters:
            try:
                a.close()
            except Exception:  # noqa: BLE001 - closing must not hide the run's result
                pass
    if interrupted:
        raise KeyboardInterrupt
    return summary


def exit_status(summary: dict) -> int:
    """0: every required case selected passed; 1: some did not (failed, errored or skipped)."""
    req = summary["required"]
    return 0 if req["passed"] == req["total"] else 1
