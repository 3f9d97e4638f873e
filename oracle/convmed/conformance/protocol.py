"""The harness protocol (version 1) and its three transports.

JSON lines, one message per line, UTF-8 (Bowtie's start / run / stop):

    runner → adapter                                   adapter → runner
    {"cmd": "start", "protocol": 1,                    {"ready": true, "protocol": 1,
     "suite_version": "1.0.0", "spec_version": ...}     "implementation": {"name": ..., "version": ...}}
    {"cmd": "run", "seq": 7,                           {"seq": 7, "result": {...}}
     "case": {"id": ..., "kind": "claim",           or {"seq": 7, "skipped": true, "reason": "..."}
              "input": {...}}}                      or {"seq": 7, "errored": true, "context": {"message": "..."}}
    {"cmd": "stop"}                                    (no answer; the adapter exits)

Messages are described by schemas/protocol.schema.json. Transports: a child process
(`ProcessAdapter`, stdin/stdout), an HTTP endpoint (`HttpAdapter`, each message POSTed,
the answer in the response body) and a Python callable (`InProcessAdapter`).
"""

from __future__ import annotations

import collections
import json
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

from convmed.conformance import PROTOCOL_VERSION
from convmed.yamlio import _has_lone_surrogate, json_line

# Bounds of what an adapter may send (README « Robustesse »): one protocol line or HTTP body, its JSON depth.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 200


def clean(value):
    """An adapter's answer made safe to keep and to write anywhere (JSON Lines, JUnit, Markdown, a terminal): lone
    surrogates (invalid in UTF-8) become U+FFFD; everything else is kept (escaped by each report)."""
    if isinstance(value, str):
        return value if value.isascii() or not _has_lone_surrogate(value) else "".join(
            "\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def decode_message(raw: bytes) -> "dict | list | Response":
    """One adapter message (bytes) as JSON, or a Response('errored') saying why it is unusable: not UTF-8 JSON,
    too deep, or NaN / Infinity (not JSON)."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        return Response("errored", reason=f"réponse illisible (pas de l'UTF-8 : octet {raw[exc.start]:#04x} en "
                                          f"position {exc.start})", context={"restart": True, "garbage": True})

    def no_constants(name):
        raise ValueError(f"{name} n'est pas du JSON")

    try:
        data = json.loads(text, parse_constant=no_constants)
    except RecursionError:
        return Response("errored", reason=f"réponse refusée : JSON imbriqué au-delà de {MAX_JSON_DEPTH} niveaux",
                        context={"restart": True, "garbage": True})
    except ValueError as exc:
        shown = text if len(text) <= 200 else text[:197] + "..."
        return Response("errored", reason=f"réponse illisible (pas du JSON : {exc}) : {shown!r}",
                        context={"restart": True, "garbage": True})
    if _depth(data) > MAX_JSON_DEPTH:
        return Response("errored", reason=f"réponse refusée : JSON imbriqué au-delà de {MAX_JSON_DEPTH} niveaux",
                        context={"restart": True, "garbage": True})
    return clean(data)


def _depth(value, limit: int = MAX_JSON_DEPTH + 1) -> int:
    stack, deepest = [(value, 1)], 0
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


@dataclass
class Response:
    """One answer to a run: outcome is 'result', 'skipped' or 'errored'."""

    outcome: str
    result: dict | None = None
    reason: str | None = None          # skipped: why; errored: what went wrong
    context: dict = field(default_factory=dict)


class AdapterStartError(Exception):
    """The adapter did not complete the start handshake."""


class Skip(Exception):
    """Raised by an in-process adapter to skip a case (with the reason)."""


# ---------------------------------------------------------------------- messages
def start_message(suite_version: str, spec_version: str) -> dict:
    return {"cmd": "start", "protocol": PROTOCOL_VERSION, "suite_version": suite_version, "spec_version": spec_version}


def run_message(seq: int, case_wire: dict) -> dict:
    return {"cmd": "run", "seq": seq, "case": case_wire}


STOP = {"cmd": "stop"}


@lru_cache(maxsize=None)
def _message_validator(definition: str):
    from jsonschema import Draft202012Validator

    from convmed.schemas import BASE_ID, _registry
    from convmed.paths import schemas_dir

    schema = {"$ref": f"{BASE_ID}protocol.schema.json#/$defs/{definition}"}
    return Draft202012Validator(schema, registry=_registry(str(schemas_dir())))


def message_problem(message, definition: str) -> str | None:
    """The first schema error of a protocol message, in French, or None."""
    from jsonschema.exceptions import best_match

    error = best_match(_message_validator(definition).iter_errors(message))
    if error is None:
        return None
    where = "/" + "/".join(map(str, error.absolute_path))
    return f"message non conforme au protocole ({definition}) en {where} : {error.message}"


def _plainly_valid(message) -> bool:
    """Fast path for the common, well-formed answers (the schema is checked otherwise)."""
    if not isinstance(message, dict) or type(message.get("seq")) is not int or message["seq"] < 0:
        return False
    present = [k for k in ("result", "skipped", "errored") if k in message]
    if len(present) != 1:
        return False
    if present[0] == "result":
        return isinstance(message["result"], dict)
    return message[present[0]] is True


def parse_run_response(message, seq: int) -> Response:
    problem = None if _plainly_valid(message) else message_problem(message, "run_response")
    if problem:
        return Response("errored", reason=problem, context={"restart": True})
    if message["seq"] != seq:
        return Response("errored", reason=f"numéro de séquence {message['seq']} reçu, {seq} attendu",
                        context={"restart": True})
    if "result" in message:
        return Response("result", result=message["result"])
    if message.get("skipped"):
        return Response("skipped", reason=message.get("reason") or message.get("message") or "sans motif")
    context = message.get("context") or {}
    return Response("errored", reason=context.get("message") or "l'implémentation signale une erreur", context=context)


# ---------------------------------------------------------------------- child process
_EOF = object()
_TOO_LONG = object()


class ProcessAdapter:
    """A long-lived child process speaking JSON lines; restarted after a crash, a hang or garbage."""

    option = "--adapter"

    def __init__(self, command: str, *, start_timeout: float = 60.0, cwd: str | None = None, env: dict | None = None):
        self.command = command
        self.start_timeout = start_timeout
        self.cwd, self.env = cwd, env
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.stderr_tail: collections.deque = collections.deque(maxlen=20)
        self.implementation: dict | None = None
        self.start_msg: dict | None = None
        self.restarts = 0
        self._needs_restart = False

    # -- life cycle
    def _spawn(self) -> None:
        self.lines = queue.Queue()
        self.stderr_tail = collections.deque(maxlen=20)
        self.proc = subprocess.Popen(
            self.command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=self.cwd, env=self.env, start_new_session=True)
        threading.Thread(target=self._pump_stdout, args=(self.proc, self.lines), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self.proc, self.stderr_tail), daemon=True).start()

    @staticmethod
    def _pump_stdout(proc, lines):
        """Lines of at most MAX_MESSAGE_BYTES; a longer line (or one without end) is never buffered whole."""
        stream = proc.stdout
        while True:
            raw = stream.readline(MAX_MESSAGE_BYTES + 1)
            if not raw:
                break
            if len(raw) > MAX_MESSAGE_BYTES and not raw.endswith(b"\n"):
                lines.put(_TOO_LONG)
                return   # the adapter is killed; nothing more is read
            lines.put(raw)
        lines.put(_EOF)

    @staticmethod
    def _pump_stderr(proc, tail):
        while True:
            raw = proc.stderr.readline(4096)
            if not raw:
                break
            tail.append(raw.decode("utf-8", "replace").rstrip()[:300])

    def start(self, start_msg: dict) -> dict:
        self.start_msg = start_msg
        self._spawn()
        answer = self._exchange(start_msg, self.start_timeout)
        if isinstance(answer, Response):
            self.kill()
            raise AdapterStartError(f"l'adaptateur n'a pas répondu à start : {answer.reason}")
        problem = message_problem(answer, "start_response")
        if problem:
            self.kill()
            raise AdapterStartError(f"réponse à start invalide : {problem}")
        if answer.get("protocol", PROTOCOL_VERSION) != PROTOCOL_VERSION:
            self.kill()
            raise AdapterStartError(f"protocole {answer.get('protocol')} non pris en charge (attendu {PROTOCOL_VERSION})")
        self.implementation = answer["implementation"]
        self._needs_restart = False
        return self.implementation

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        try:
            proc.stdin.close()
        except (OSError, ValueError):
            pass
        # stdout / stderr are not closed here: their pump threads may be blocked reading them, and a descendant
        # that left the adapter's process group (a daemon) can keep them open forever; closing a buffered stream
        # another thread reads would wait for that read. The daemon threads end with the pipes.

    def close(self) -> None:
        if self.alive():
            try:
                self.proc.stdin.write((json.dumps(STOP) + "\n").encode())
                self.proc.stdin.flush()
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                pass
        self.kill()

    # -- exchanges
    def _stderr(self) -> str:
        time.sleep(0.05)  # let the stderr pump catch the last lines
        tail = [line for line in self.stderr_tail if line]
        return (" ; stderr : " + " | ".join(tail[-5:])) if tail else ""

    def _write(self, data: bytes, timeout: float) -> str | None:
        """Write to the adapter's stdin within `timeout` (an adapter that does not read fills the pipe): None when
        written, else what went wrong."""
        box: dict = {}
        proc = self.proc

        def write():
            try:
                proc.stdin.write(data)
                proc.stdin.flush()
                box["ok"] = True
            except (BrokenPipeError, OSError, ValueError) as exc:
                box["error"] = exc

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        writer.join(timeout)
        if writer.is_alive():
            return "timeout"
        return None if box.get("ok") else "crashed"

    def _exchange(self, message: dict, timeout: float):
        """The decoded answer, or a Response('errored') describing what went wrong. The whole exchange (writing
        the request, reading the answer) fits in `timeout`."""
        deadline = time.monotonic() + timeout
        problem = self._write(json_line(message).encode("utf-8"), timeout)
        if problem == "timeout":
            return Response("errored", reason=f"délai dépassé : l'adaptateur ne lit pas sa demande en {timeout:g} s",
                            context={"restart": True, "timeout": True, "dead": True})
        if problem:
            code = self.proc.poll() if self.proc else None
            return Response("errored", reason=f"l'adaptateur s'est arrêté (code {code}){self._stderr()}",
                            context={"restart": True, "crashed": True, "dead": True})
        raw = self._next_line(deadline)
        if raw is None:
            return Response("errored", reason=f"délai dépassé : pas de réponse en {timeout:g} s",
                            context={"restart": True, "timeout": True, "dead": True})
        if raw is _TOO_LONG:
            return Response("errored", reason=f"réponse refusée : ligne de plus de {MAX_MESSAGE_BYTES} octets",
                            context={"restart": True, "garbage": True})
        if raw is _EOF:
            try:
                code = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            return Response("errored", reason=f"l'adaptateur s'est arrêté sans répondre (code {code}){self._stderr()}",
                            context={"restart": True, "crashed": True, "dead": True})
        return decode_message(raw)

    def _next_line(self, deadline: float):
        """The next line before `deadline`, _EOF when the adapter exited without one (even if a descendant it
        detached still holds its stdout, so that the pipe never reaches end of file), None on timeout."""
        exited_at = None
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            try:
                return self.lines.get(timeout=min(deadline - now, 0.25))
            except queue.Empty:
                pass
            proc = self.proc
            if proc is None or proc.poll() is not None:
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at >= 0.5:   # grace for the last line still in the pipe
                    return _EOF

    def run(self, seq: int, case_wire: dict, timeout: float) -> Response:
        if self._needs_restart or not self.alive():
            self.kill()
            self.restarts += 1
            self.start(self.start_msg)   # AdapterStartError propagates to the runner
        answer = self._exchange(run_message(seq, case_wire), timeout)
        response = answer if isinstance(answer, Response) else parse_run_response(answer, seq)
        if response.context.get("restart"):
            self._needs_restart = True
            self.kill()
        return response


# ---------------------------------------------------------------------- HTTP
class HttpAdapter:
    """Each message POSTed as JSON to one URL; the answer is the response body."""

    option = "--url"

    def __init__(self, url: str, *, start_timeout: float = 60.0):
        self.url = url
        self.start_timeout = start_timeout
        self.implementation: dict | None = None
        self.restarts = 0

    def _post(self, message: dict, timeout: float):
        """POST one message; the whole request (connection, headers, body) within `timeout`, redirects never
        followed, the body at most MAX_MESSAGE_BYTES."""
        box: dict = {}
        conn_box: dict = {}
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")

        def exchange():
            import http.client
            import urllib.parse

            try:
                url = urllib.parse.urlsplit(self.url)
                cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
                conn = cls(url.hostname, url.port, timeout=timeout)
                conn_box["conn"] = conn
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                               "Content-Length": str(len(body))})
                reply = conn.getresponse()
                data = reply.read(MAX_MESSAGE_BYTES + 1)
                box.update(status=reply.status, reason=reply.reason, data=data,
                           location=reply.getheader("Location"))
            except Exception as exc:  # noqa: BLE001 - any transport failure is the case's error
                box["error"] = exc
            finally:
                conn = conn_box.get("conn")
                if conn is not None:
                    conn.close()

        worker = threading.Thread(target=exchange, daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            conn = conn_box.get("conn")
            try:
                if conn is not None and conn.sock is not None:
                    import socket

                    conn.sock.shutdown(socket.SHUT_RDWR)   # unblocks the reading thread
            except OSError:
                pass
            return Response("errored", reason=f"délai dépassé : réponse HTTP incomplète en {timeout:g} s",
                            context={"timeout": True, "dead": True})
        if "error" in box:
            exc = box["error"]
            return Response("errored", reason=f"requête impossible : {type(exc).__name__}: {exc}"[:500],
                            context={"dead": True})
        status = box["status"]
        if 300 <= status < 400:
            return Response("errored", reason=f"HTTP {status} : redirection vers {box.get('location')!r} non suivie "
                                              f"(l'adaptateur doit répondre à l'URL donnée)")
        if status >= 400:
            return Response("errored", reason=f"HTTP {status} {box.get('reason') or ''}".strip())
        data = box["data"]
        if len(data) > MAX_MESSAGE_BYTES:
            return Response("errored", reason=f"réponse refusée : corps de plus de {MAX_MESSAGE_BYTES} octets")
        if not data.strip():
            return {}
        return decode_message(data)

    def start(self, start_msg: dict) -> dict:
        answer = self._post(start_msg, self.start_timeout)
        if isinstance(answer, Response):
            raise AdapterStartError(f"{self.url} n'a pas répondu à start : {answer.reason}")
        problem = message_problem(answer, "start_response")
        if problem:
            raise AdapterStartError(f"réponse à start invalide : {problem}")
        self.implementation = answer["implementation"]
        return self.implementation

    def run(self, seq: int, case_wire: dict, timeout: float) -> Response:
        answer = self._post(run_message(seq, case_wire), timeout)
        return answer if isinstance(answer, Response) else parse_run_response(answer, seq)

    def close(self) -> None:
        self._post(STOP, 5)


# ---------------------------------------------------------------------- in process
def load_callable(spec: str):
    """'package.module:function' → the function (located error when it cannot be found)."""
    import importlib

    from convmed.errors import ConvmedError

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConvmedError.single(f"--python attend MODULE:FONCTION, pas {spec!r}", pointer="--python", code="usage")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConvmedError.single(f"module {module_name!r} introuvable : {exc}", pointer="--python", code="usage") from None
    func = getattr(module, attr, None)
    if not callable(func):
        raise ConvmedError.single(f"{module_name} n'a pas de fonction {attr!r}", pointer="--python", code="usage")
    return func


class InProcessAdapter:
    """A Python callable `f(case) -> result` (case = {id, kind, input}); raise `Skip(reason)` to skip."""

    option = "--python"

    def __init__(self, func, name: str = "in-process", version: str = "?"):
        self.func = func
        self.implementation = {"name": getattr(func, "implementation_name", name),
                               "version": getattr(func, "implementation_version", version), "language": "python"}
        self.restarts = 0

    def start(self, start_msg: dict) -> dict:
        return self.implementation

    def run(self, seq: int, case_wire: dict, timeout: float) -> Response:
        box: dict = {}

        def call():
            try:
                box["result"] = self.func(case_wire)
            except Skip as exc:
                box["skipped"] = str(exc) or "sans motif"
            except Exception as exc:  # noqa: BLE001 - the vendor's code: any failure is 'errored'
                box["error"] = f"{type(exc).__name__}: {exc}"

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            return Response("errored", reason=f"délai dépassé : pas de réponse en {timeout:g} s", context={"timeout": True})
        if "skipped" in box:
            return Response("skipped", reason=box["skipped"])
        if "error" in box:
            return Response("errored", reason=box["error"])
        if not isinstance(box.get("result"), dict):
            return Response("errored", reason="la fonction doit renvoyer un objet (dict)")
        return Response("result", result=clean(box["result"]))

    def close(self) -> None:
        pass


def reference(case: dict) -> dict:
    """The reference oracle as an in-process adapter (`--python convmed.conformance.protocol:reference`)."""
    from convmed.conformance.oracles import OracleUnavailable, evaluate

    try:
        return evaluate(case["kind"], case["input"])
    except OracleUnavailable as exc:
        raise Skip(str(exc)) from None


reference.implementation_name = "convmed-oracle"


def make_adapter(*, command: str | None = None, url: str | None = None, python: str | None = None,
                 start_timeout: float = 60.0):
    if command:
        return ProcessAdapter(command, start_timeout=start_timeout)
    if url:
        return HttpAdapter(url, start_timeout=start_timeout)
    if python:
        func = load_callable(python)
        return InProcessAdapter(func, name=python)
    raise ValueError("one of command, url, python")
