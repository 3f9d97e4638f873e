"""Opening and reading input files, bounded.

Every file convmed reads (spec YAML, schemas, seeds, overlays, claims, requests, patientèles, batch inputs) is
opened here. Only regular files are read (a symlink to one is followed): a device (`/dev/zero`), a named pipe
(FIFO), a socket or a folder is refused, located, before anything is read; a FIFO is opened without blocking,
so a pipe nobody writes to never stalls a command. Whole-file reads stop at `max_bytes` actually read (the
size the file system announces is not trusted: `/proc` files say 0, a growing file says less).
"""

from __future__ import annotations

import errno
import os
import stat

from convmed.errors import ConvmedError

KIND_OF = {stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFIFO: "a named pipe (FIFO)",
           stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def open_regular(path, *, label: str | None = None):
    """A binary file object of the regular file `path`; refused (ConvmedError, code io / special-file) when it
    does not exist, cannot be read or is not a regular file."""
    file = label or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConvmedError.single("file not found", file=file, code="io") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:   # a FIFO with no writer, opened without blocking for writing... or a socket
            raise ConvmedError.single("not a regular file (a pipe or a socket): refused", file=file,
                                      code="special-file") from None
        raise ConvmedError.single(f"cannot read: {exc.strerror or exc}", file=file, code="io") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = KIND_OF.get(stat.S_IFMT(mode), "not a regular file")
            raise ConvmedError.single(f"{kind}, not a regular file: refused before reading", file=file,
                                      code="special-file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path, max_bytes: int, *, label: str | None = None) -> bytes:
    """The bytes of the regular file `path`, at most `max_bytes` (more is refused, having read max_bytes + 1)."""
    file = label or str(path)
    with open_regular(path, label=file) as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise ConvmedError.single(f"cannot read: {exc.strerror or exc}", file=file, code="io") from None
    if len(data) > max_bytes:
        raise ConvmedError.single(f"larger than {max_bytes} bytes: refused without reading it whole",
                                  file=file, code="too-large")
    return data


def decode_utf8(data: bytes, file: str) -> str:
    """UTF-8 text (a leading byte-order mark, as Windows editors write, is dropped), or a located error naming
    the line and column of the first byte that is not UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConvmedError.single(f"not UTF-8 text (byte {exc.start}, column {column})", file=file, line=line,
                                  code="encoding") from None


def check_regular(path, *, label: str | None = None) -> None:
    """Refuse, located, a path that is not a regular file (batch inputs are then streamed by their reader)."""
    open_regular(path, label=label).close()
