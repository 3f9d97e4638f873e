"""Ctrl-C and SIGTERM taken at safe points.

Python raises `KeyboardInterrupt` wherever the main thread happens to be. Inside a polars call that calls back
into Python (a dtype built from Rust, a Python source feeding a sink), the exception reaches Rust, which panics and
prints a Rust backtrace with a Python traceback inside it: the "no traceback" promise broken, and polars' state
after the panic undefined. Long jobs therefore *defer* the two signals: while `deferred()` is active, a signal is
only recorded, and the job raises it at its next `checkpoint()` (between chunks, between claims priced in Python),
where the usual clean-up runs (temporary outputs removed, exit 130 / 143). A second signal before that checkpoint
is raised at once, so a job stuck in a long computation can still be stopped.

Outside `deferred()`, and outside the main thread, nothing changes.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that every command cleans up the same way."""


def interruption(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def on_sigterm(signum, frame):
    raise Terminated()


_pending: list[int] = []   # the signals recorded while deferred (at most one is kept)
_depth = 0                 # nesting of deferred()


def checkpoint() -> None:
    """Raise the interruption recorded since the job deferred them, if any (cheap: one list test)."""
    if _pending:
        raise interruption(_pending.pop())


def _record(signum, frame):
    if _pending:                       # the second signal: stop now, wherever we are (as that signal: 130 / 143)
        _pending.clear()
        raise interruption(signum)
    _pending.append(signum)


@contextmanager
def deferred():
    """Within the block, SIGINT and SIGTERM are recorded and raised by `checkpoint()`; a signal still pending at
    the end of the block is raised there (a job interrupted during its last chunk does not look complete)."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = None
    if _depth == 0:
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in previous:
            signal.signal(s, _record)
    _depth += 1
    try:
        yield
        checkpoint()
    finally:
        _depth -= 1
        if previous is not None:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if _pending:               # recorded after the last checkpoint, during the clean-up
                raise interruption(_pending.pop())
