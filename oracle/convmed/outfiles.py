"""Output files that never look complete when they are not.

A result file is written under a temporary name in its own folder and renamed to its name only when the run
succeeded (`commit`); on an error, Ctrl-C or SIGTERM the temporary file is removed (`discard`), so whatever
carries the name is a finished result. The standard output (`-`) and files that are not regular files
(`/dev/null`, `/dev/full`, a named pipe) are written in place: there is nothing to rename.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from convmed.errors import ConvmedError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class PendingFile:
    """`path` is where to write now; `target` the name the result will carry."""

    def __init__(self, target: str):
        self.target = target
        self.in_place = target == "-" or is_special(target)
        self.path = target
        self._done = False
        if self.in_place:
            return
        folder = Path(target).resolve().parent
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{Path(target).name}.", suffix=".partiel", dir=folder)
        except OSError as exc:
            raise write_error(target, exc) from None
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())   # the permissions a plain open() would give the result
        self.path = tmp

    def commit(self) -> None:
        if self.in_place or self._done:
            return
        try:
            os.replace(self.path, self.target)
        except OSError as exc:
            self.discard()
            raise write_error(self.target, exc) from None
        self._done = True

    def discard(self) -> None:
        if self.in_place or self._done:
            return
        self._done = True
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def is_special(target: str) -> bool:
    """An existing file that is not a regular file (a device, a pipe): written in place."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def write_error(path: str, exc: BaseException) -> BaseException:
    """A failed write (disk full, a device refusing writes, no permission...): a located error on the file the
    user named; a closed pipe and our own errors pass through."""
    if isinstance(exc, (BrokenPipeError, ConvmedError)):
        return exc
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "disque plein"
    elif isinstance(exc, OSError) and exc.strerror:
        why = exc.strerror
    else:
        why = str(exc) or type(exc).__name__
        if "No space left" in why or "os error 28" in why or _no_space_left(path):   # polars: the OS error as text
            why = "disque plein"
    return ConvmedError.single(f"écriture impossible : {why}"[:300], file=path, code="io")


def _no_space_left(path: str) -> bool:
    try:
        return path != "-" and not is_special(path) and os.statvfs(Path(path).resolve().parent).f_bavail == 0
    except OSError:
        return False
