"""Driving a batch run: read in chunks, price, write, report progress and rejected lines.

Counts always add up: read = priced + rejected. A rejected line is never dropped silently: with
`on_error="stop"` the first one stops the run (ConvmedError, exit 2, located); with "skip" each one
is written to the reject file (JSON Lines: line, pointer, message, and the text of the line when
there is one) and the first ones are printed on stderr.
"""

from __future__ import annotations

import errno
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from convmed.errors import ConvmedError, Located, shorten
from convmed.yamlio import json_line


@dataclass
class Summary:
    read: int = 0
    priced: int = 0
    rejected: int = 0
    lines_out: int = 0
    signatures: int = 0
    scalar_rows: int = 0
    columnar_rows: int = 0        # claims whose signature the columnar backend decided (convmed.batch.columnar)
    columnar_signatures: int = 0  # the signatures it decided
    scalar_signatures: int = 0    # the signatures the scalar pricer priced on their representative
    decision_keys: int = 0        # the line decision keys the scalar pricer priced for the columnar backend
    seconds: float = 0.0
    output: str | None = None
    rejects_file: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != {}}


class Progress:
    def __init__(self, enabled: bool, label: str):
        self.enabled, self.label = enabled, label
        self.start = time.perf_counter()

    def update(self, read: int, priced: int, rejected: int, final: bool = False):
        if not self.enabled:
            return
        dt = max(time.perf_counter() - self.start, 1e-9)
        end = "\n" if final else "\r"
        print(f"{self.label} : {read:,} lues, {priced:,} traitées, {rejected:,} rejetées "
              f"({read / dt:,.0f}/s)".replace(",", " "), end=end, file=sys.stderr, flush=True)


_DONE = object()


class Background:
    """Runs `work(item)` for each item `put` on a thread, at most `depth` items waiting: the next chunk is
    written while the following one is priced (polars releases the GIL while it reads, computes and
    writes). An exception of the thread is raised again by the next `put` or by `close`."""

    def __init__(self, work, depth: int = 1):
        self._work = work
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._work(item)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    self._error = exc

    def _raise(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item) -> None:
        self._raise()
        self._queue.put(item)

    def close(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        self._raise()


class prefetched:
    """The items of `iterable`, produced on a thread at most `depth` ahead of the consumer (the next
    chunk is read while this one is priced: with depth 1, two chunks in memory, never more); its
    exceptions are raised here, in order. A context manager: leaving it (at the end, on an error or on
    Ctrl-C) stops and joins the thread, in the consumer's own flow (not at garbage collection)."""

    def __init__(self, iterable, depth: int = 1):
        self._items: queue.Queue = queue.Queue()
        self._slots = threading.Semaphore(depth)   # taken before an item is produced, given back when consumed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(iterable,), daemon=True)
        self._thread.start()

    def _produce(self, iterable) -> None:
        try:
            iterator = iter(iterable)
            while True:
                while not self._slots.acquire(timeout=0.1):
                    if self._stop.is_set():
                        return
                if self._stop.is_set():
                    return
                item = next(iterator, _DONE)
                self._items.put((True, item))
                if item is _DONE:
                    return
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer's thread
            self._items.put((False, exc))

    def __iter__(self):
        return self

    def __next__(self):
        ok, item = self._items.get()
        if not ok:
            raise item
        if item is _DONE:
            raise StopIteration
        self._slots.release()   # the consumer holds this item: the producer may read the next one
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class OutputWriter:
    """The priced lines, chunk by chunk, written while the next chunk is priced (memory does not grow with
    the file). CSV: appended by a writing thread. Parquet: one file, written by polars' streaming
    `sink_parquet` on a thread, which reads the chunks from a queue (a polars IO source): the file is
    encoded while the pricing goes on, instead of after it."""

    def __init__(self, path: str | None, fmt: str, schema: dict):
        from convmed.outfiles import PendingFile

        self.path, self.fmt, self.schema = path, fmt, schema
        self._count = 0
        self._fh = None
        self._background: Background | None = None
        self._parquet: _ParquetStream | None = None
        self._pending: PendingFile | None = None
        if path is None:
            return
        self._pending = PendingFile(path)   # written under a temporary name, renamed by close()
        try:
            if fmt == "csv":
                self._fh = sys.stdout.buffer if path == "-" else open(self._pending.path, "wb")
                self._header = True
                self._background = Background(self._write_csv)
            else:
                self._parquet = _ParquetStream(self._pending.path, schema)
        except OSError as exc:
            self._pending.discard()
            raise _write_error(path, exc) from None

    def write(self, part) -> None:
        """`part`: a frame of priced lines, or a function that makes it (ChunkResult.assemble), called on the
        writing thread (the output join of a chunk then runs while the next chunk is priced)."""
        if self.path is None:
            self._count += _frame(part).height
            return
        try:
            if self._parquet is not None:
                self._parquet.put(part)
            else:
                self._background.put(part)
        except Exception as exc:  # noqa: BLE001 - a write that fails (disk full...): located on the output
            raise _write_error(self.path, exc) from None

    @property
    def count(self) -> int:
        """Lines written (read after `close`)."""
        return self._count + (self._parquet.rows if self._parquet is not None else 0)

    def _write_csv(self, part) -> None:
        df = _frame(part)
        self._count += df.height
        if df.height == 0:
            return
        try:
            df.write_csv(self._fh, include_header=self._header)
        except OSError as exc:
            # polars reports a closed pipe (`convmed batch price … -o - | head`) as a plain OSError
            if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE or "os error 32" in str(exc):
                raise BrokenPipeError(errno.EPIPE, "sortie fermée") from None
            raise
        self._header = False

    def close(self) -> None:
        import polars as pl

        if self.path is None:
            return
        try:
            if self._parquet is not None:
                self._parquet.close()
            else:
                try:
                    self._background.close()
                finally:
                    if self._header:  # nothing written: the header alone
                        pl.DataFrame(schema=self.schema).write_csv(self._fh)
                    if self._fh is not sys.stdout.buffer:
                        self._fh.close()
                    else:
                        self._fh.flush()
        except BaseException as exc:
            self._pending.discard()
            if isinstance(exc, Exception):
                raise _write_error(self.path, exc) from None
            raise

    def commit(self) -> None:
        """The output takes its name (after `close`, once every output of the run is closed)."""
        if self._pending is not None:
            self._pending.commit()

    def abort(self) -> None:
        """The run stopped (a rejected line with --on-error stop, an error, Ctrl-C, SIGTERM): the writing thread
        ended and the partial output removed (it never carries the output's name); an error of the writing
        thread is dropped for the run's own."""
        try:
            if self._parquet is not None:
                self._parquet.abort()
            elif self._background is not None:
                self._background.close()
        except BaseException:  # noqa: BLE001 - the run's own error is the one reported
            pass
        finally:
            if self._fh is not None and self._fh is not sys.stdout.buffer:
                try:
                    self._fh.close()
                except OSError:
                    pass
            if self._pending is not None:
                self._pending.discard()


def _frame(part):
    """A frame of priced lines, or the function that makes it (OutputWriter.write), as a frame."""
    return part() if callable(part) else part


def _write_error(path: str, exc: BaseException) -> BaseException:
    from convmed.outfiles import write_error

    return write_error(path, exc)


class _ParquetStream:
    """One Parquet file written by polars' streaming engine from the chunks `put` here, on a thread."""

    def __init__(self, path: str, schema: dict):
        from polars.io.plugins import register_io_source

        self.path = path
        self.rows = 0
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._finished = threading.Event()

        def source(with_columns, predicate, n_rows, batch_size):
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                df = _frame(item)
                self.rows += df.height
                if df.height:
                    yield df if with_columns is None else df.select(with_columns)

        frame = register_io_source(source, schema=schema)

        def sink():
            try:
                frame.sink_parquet(path)
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
                self._error = exc
            finally:
                self._finished.set()

        self._thread = threading.Thread(target=sink, daemon=True)
        self._thread.start()

    def put(self, df) -> None:
        while True:
            if self._finished.is_set():   # the sink stopped early: its error, or a sink that ended
                self._raise()
                raise RuntimeError("l'écriture Parquet s'est arrêtée avant la fin des données")
            try:
                self._queue.put(df, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self._end()
        self._raise()   # the temporary file is removed by OutputWriter

    def abort(self) -> None:
        self._end()

    def _end(self) -> None:
        while not self._finished.is_set():
            try:
                self._queue.put(_DONE, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


MAX_REJECT_TEXT = 1 << 20   # characters of a rejected line copied to the rejects file


class RejectSink:
    """The rejected lines, in line order: with on_error "stop" the first one raises; with "skip" each one goes to
    the rejects file (written under a temporary name, renamed by `close`, removed by `abort`)."""

    def __init__(self, path: str | None, source: str, on_error: str, echo: int = 10):
        from convmed.outfiles import PendingFile

        self.path, self.source, self.on_error, self.echo = path, source, on_error, echo
        self.count = 0
        self._pending = PendingFile(path) if path else None
        try:
            self._fh = open(self._pending.path, "w", encoding="utf-8", errors="backslashreplace") if path else None
        except OSError as exc:
            self._pending.discard()
            raise _write_error(path, exc) from None

    def add(self, rejects) -> None:
        for r in sorted(rejects, key=lambda r: r.row):
            self.count += 1
            if self.on_error == "stop":
                raise ConvmedError([Located(r.message, file=self.source, line=r.row, pointer=r.pointer,
                                            code="input")])
            if self.count <= self.echo:
                print(Located(r.message, file=self.source, line=r.row, pointer=r.pointer, code="rejet").render(),
                      file=sys.stderr)
            if self._fh:
                rec = {"line": r.row, "pointer": shorten(r.pointer or "", 300), "message": shorten(r.message)}
                if r.raw is not None:   # the line itself, to be corrected: kept up to MAX_REJECT_TEXT characters
                    if len(r.raw) > MAX_REJECT_TEXT:
                        rec["text"], rec["text_truncated_from"] = r.raw[:MAX_REJECT_TEXT], len(r.raw)
                    else:
                        rec["text"] = r.raw
                try:
                    self._fh.write(json_line(rec))
                except OSError as exc:
                    raise _write_error(self.path, exc) from None

    def close(self):
        if self._fh:
            try:
                self._fh.close()
            except OSError as exc:
                self._pending.discard()
                raise _write_error(self.path, exc) from None
        if self.count > self.echo and self.on_error != "stop":
            where = f" ; toutes dans {self.path}" if self.path else ""
            print(f"… {self.count - self.echo} autre(s) ligne(s) rejetée(s){where}", file=sys.stderr)

    def commit(self):
        if self._pending is not None:
            self._pending.commit()

    def abort(self):
        if self._fh:
            try:
                self._fh.close()
            except OSError:
                pass
            self._pending.discard()


def _prepared(chunks, engine):
    """The reader's chunks through `engine.prepare_chunk`, on the reader's thread (the only one that uses the
    engine's tables of dates and its holiday memory), while the previous chunk is priced."""
    for df, rejects, claim_of in chunks:
        yield (engine.prepare_chunk(df) if df.height else None), rejects, claim_of


def price_file(path: str, *, output: str | None, in_format: str | None = None, out_format: str | None = None,
               on_error: str = "stop", rejects: str | None = None, chunk_rows: int = 200_000,
               progress: bool = False, spec=None, engine=None) -> Summary:
    from convmed.batch.engine import OUT_SCHEMA, BatchEngine
    from convmed.interrupts import checkpoint, deferred
    from convmed.batch.readers import detect_format, reader_for

    from convmed.infiles import check_regular

    check_regular(path)   # a regular file: a FIFO, a device or a folder is refused, located
    fmt = detect_format(path, in_format)
    from convmed.outfiles import is_special

    ofmt = out_format or (Path(output).suffix.lstrip(".").lower()
                          if output and output != "-" and not is_special(output) else "csv")
    if ofmt not in ("csv", "parquet"):
        raise ConvmedError.single(f"format de sortie inconnu {ofmt!r} : csv ou parquet", code="input")

    for target in (output, rejects):
        if target and target != "-" and not is_special(target):   # /dev/null, a pipe: written in place
            folder = Path(target).resolve().parent
            if not folder.is_dir() or not os.access(folder, os.W_OK):
                raise ConvmedError.single(f"dossier de sortie introuvable ou non inscriptible : {folder}", file=target,
                                          code="io")
            if Path(target).is_dir():
                raise ConvmedError.single("un dossier est donné là où un fichier de sortie est attendu", file=target,
                                          code="io")
    if on_error == "skip" and rejects is None and output and output != "-":
        rejects = str(Path(output).with_suffix("")) + ".rejets.jsonl"
    engine = engine or BatchEngine(spec)
    start = time.perf_counter()
    writer = OutputWriter(output, ofmt, OUT_SCHEMA)
    sink = RejectSink(rejects, path, on_error)
    bar = Progress(progress, "convmed batch price")
    summary = Summary(output=output, rejects_file=rejects)
    try:
        with deferred():   # Ctrl-C / SIGTERM raised between chunks and claims, never inside a polars call
            engine._signature_exprs()   # built before the reader's thread uses them (prepare_chunk)
            with prefetched(_prepared(reader_for(fmt)(path, engine, chunk_rows), engine)) as chunks:
                engine.prepare()   # while the first chunk is read
                for chunk, pre_rejects, claim_of in chunks:
                    summary.read += len(pre_rejects)
                    summary.rejected += len(pre_rejects)
                    rejected = list(pre_rejects)
                    res = engine.price_chunk(chunk, claim_of) if chunk is not None else None
                    if res is not None:
                        summary.read += res.read
                        summary.priced += res.priced
                        summary.rejected += len(res.rejects)
                        rejected += res.rejects
                    sink.add(rejected)  # in line order; with --on-error stop, the first bad line of the file stops
                    if res is not None:
                        writer.write(res.assemble)   # the output join, on the writer's thread
                    bar.update(summary.read, summary.priced, summary.rejected)
                    checkpoint()
            writer.close()
            sink.close()
        writer.commit()   # both outputs complete: they take their names
        sink.commit()
    except BaseException:
        sink.abort()
        writer.abort()
        raise
    summary.lines_out = writer.count
    summary.signatures = engine.stats["signatures"]
    summary.scalar_rows = engine.stats["scalar_rows"]
    summary.columnar_rows = engine.stats["columnar_rows"]
    summary.columnar_signatures = engine.stats["columnar_signatures"]
    summary.scalar_signatures = engine.stats["scalar_signatures"]
    summary.decision_keys = engine.stats["decision_keys"]
    summary.seconds = round(time.perf_counter() - start, 3)
    bar.update(summary.read, summary.priced, summary.rejected, final=True)
    assert summary.read == summary.priced + summary.rejected, summary
    return summary
