"""Run a selection of vectors through adapters: workers, timeouts, restarts, progress.

Each worker owns one adapter (one child process, one HTTP client, or the callable).
A case whose adapter crashes, hangs past the timeout or answers garbage is marked
`errored`; the adapter is restarted and the run goes on. An adapter that cannot be
restarted three times in a row is given up; its remaining cases are marked errored.
Circuit breaker: after MAX_DEAD consecutive cases without an answer (timeouts, crashes) a
worker stops, and the cases left are marked errored at once instead of costing a timeout each.
Ctrl-C and SIGTERM finish the reports (footer `interrupted`) and stop the adapters.
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
MAX_DEAD = 5   # consecutive cases without an answer before a worker's circuit opens


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
              selection: dict | None = None, max_dead: int = MAX_DEAD) -> dict:
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
    broken: list[str] = []

    def record(outcome: CaseOutcome) -> None:
        try:
            reports.add(outcome)
        except Exception as exc:  # noqa: BLE001 - a report that cannot take this outcome must not lose the others
            outcome.status, outcome.message = "errored", f"résultat non enregistrable : {type(exc).__name__}: {exc}"[:500]
            outcome.differences = []
            reports.add(outcome)
        bar.update(outcome)

    def work(adapter, started: bool) -> None:
        if not started:
            try:
                adapter.start(start_msg)
            except AdapterStartError:
                return  # the other workers take the cases
        failures = dead = 0
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
                response = Response("errored", reason=f"redémarrage de l'adaptateur impossible : {exc}",
                                    context={"dead": True})
            except Exception as exc:  # noqa: BLE001 - spawning or talking to the adapter failed: this case is errored
                failures += 1
                response = Response("errored", reason=f"échange avec l'adaptateur impossible : "
                                                      f"{type(exc).__name__}: {exc}"[:500], context={"dead": True})
                try:
                    adapter.kill() if hasattr(adapter, "kill") else None
                except Exception:  # noqa: BLE001
                    pass
            if stop.is_set():
                return
            record(judge(case, response, time.monotonic() - t0))
            dead = dead + 1 if response.context.get("dead") else 0
            if failures >= MAX_START_FAILURES:
                return
            if dead >= max_dead:
                broken.append(f"{dead} cas consécutifs sans réponse de l'adaptateur (circuit ouvert)")
                return

    threads = [threading.Thread(target=work, args=(first, True), daemon=True)]
    for _ in range(max(1, workers) - 1):
        extra = adapter_factory()
        adapters.append(extra)
        threads.append(threading.Thread(target=work, args=(extra, False), daemon=True))
    interrupted = None
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
            why = broken[0] if broken else "redémarrages en échec"
            record(judge(case, Response("errored", reason=f"non exécuté : adaptateur hors service ({why})"), 0.0))
    except KeyboardInterrupt as exc:   # Ctrl-C, or SIGTERM (convmed.interrupts.Terminated)
        interrupted = exc
        stop.set()
    finally:
        bar.close()
        summary = reports.finish(interrupted=interrupted is not None)
        for a in adapters:
            try:
                a.close()
            except Exception:  # noqa: BLE001 - closing must not hide the run's result
                pass
    if interrupted is not None:
        raise interrupted
    return summary


def exit_status(summary: dict) -> int:
    """0: every required case selected passed; 1: some did not (failed, errored or skipped)."""
    req = summary["required"]
    return 0 if req["passed"] == req["total"] else 1
