"""Command-line entry point. Exit status: 0 success, 1 a check that fails, 2 bad input
(located message, never a traceback), 3 an internal error (reported, no traceback
unless CONVMED_DEBUG=1), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM: handled like Ctrl-C, the
command finishes its reports and removes its partial outputs).

Each command lives in `convmed.commands.<name>` with a `register(subparsers)`
function; heavy imports happen inside the handlers so start-up stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import errno
import os
import sys

COMMAND_MODULES = [
    "convmed.commands.spec",
    "convmed.commands.price",
    "convmed.commands.forfait",
    "convmed.commands.conformance",
    "convmed.commands.docs",
    "convmed.commands.diff",
    "convmed.commands.lookup",
    "convmed.commands.batch",
]


def build_parser() -> argparse.ArgumentParser:
    from convmed import __version__

    parser = argparse.ArgumentParser(
        prog="convmed",
        description="Spécification exécutable et oracle de la Convention médicale.",
    )
    parser.add_argument("--version", action="version", version=f"convmed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    from convmed.interrupts import Terminated, on_sigterm

    if threading.current_thread() is threading.main_thread():
        try:
            signal.signal(signal.SIGTERM, on_sigterm)
        except (ValueError, OSError):  # pragma: no cover - not settable here
            pass
    try:  # Ctrl-C while the command modules are imported: same message and status, no traceback
        from convmed.errors import ConvmedError

        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("convmed: interrompu", file=sys.stderr)
        return 130
    try:
        status = int(args.handler(args) or 0)
        sys.stdout.flush()   # a full disk or a closed pipe is reported here, not by the interpreter at exit
        return status
    except ConvmedError as exc:
        for problem in exc.problems:
            print(problem.render(), file=sys.stderr)
        return 2
    except Terminated:
        print("convmed: arrêté (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("convmed: interrompu", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            if os.environ.get("CONVMED_DEBUG"):
                raise
            where = exc.filename or "<convmed>"   # an input or folder that vanished, permissions: located, no traceback
            print(f"{where}: [io] {exc.strerror or type(exc).__name__}", file=sys.stderr)
            return 2
        from convmed.outfiles import write_error

        _silence_stdout()
        for problem in write_error("<stdout>", exc).problems:
            print(problem.render(), file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the last guard: no traceback for users
        if os.environ.get("CONVMED_DEBUG"):
            raise
        print(f"convmed: internal error: {type(exc).__name__}: {exc} (set CONVMED_DEBUG=1 for details)",
              file=sys.stderr)
        return 3


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG, errno.EROFS, errno.EBADF}


def _silence_stdout() -> None:
    """Standard output cannot take more: what is still buffered is dropped, so that the interpreter does not
    fail again (and print a traceback) when it flushes at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
