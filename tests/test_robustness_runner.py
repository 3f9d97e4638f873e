"""Fault injection against the conformance runner (issue 19): adapters and HTTP engines that misbehave the way
real ones do. Each test runs `convmed conformance run` as a child process under a hard bound, so a regression
shows as a failure, never as a hung suite; each asserts that the reports are complete and agree.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "conformance_tests" / "v1"
BROKEN = REPO / "conformance_tests" / "broken_adapters"
PY = sys.executable
FAMILY = "majorations-enfant"
TARGET = "majorations-enfant.meg-alone"
N_CASES = len(json.loads((SUITE / f"{FAMILY}.json").read_text(encoding="utf-8"))["cases"])


def adapter(tmp_path: Path, body: str, name: str = "adapter.py") -> str:
    """A wrong adapter: the shared loop of the broken adapters with `before(case)` / `mutate(case, result)`."""
    script = tmp_path / name
    script.write_text(f"import json, os, subprocess, sys, time\nsys.path.insert(0, {str(BROKEN)!r})\n"
                      f"from _base import serve\nTARGET = {TARGET!r}\n{body}\n", encoding="utf-8")
    return f"{PY} {script}"


def convmed(tmp_path: Path, *args: str, bound: float = 120) -> tuple[int, dict, str, float]:
    out = tmp_path / "report"
    t0 = time.monotonic()
    proc = subprocess.run([PY, "-m", "convmed", "conformance", "run", "--suite", str(SUITE), "--family", FAMILY,
                           "--report-dir", str(out), "--no-progress", *args],
                          capture_output=True, timeout=bound, cwd=REPO)
    elapsed = time.monotonic() - t0
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return proc.returncode, read_reports(out), err, elapsed


def read_reports(out: Path) -> dict:
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    cases = {x["id"]: x for x in lines if x["type"] == "case"}
    footer = lines[-1]
    assert footer["type"] == "footer"
    junit = ET.parse(out / "junit.xml").getroot()   # well-formed XML whatever the adapter wrote
    assert int(junit.get("tests")) == len(cases) == footer["counts"]["total"]
    assert int(junit.get("errors")) == footer["counts"]["errored"]
    assert len(list(junit.iter("testcase"))) == len(cases)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    return {"cases": cases, "footer": footer, "summary": summary, "junit": junit, "dir": out,
            "raw": (out / "results.jsonl").read_bytes()}


def by_status(rep) -> dict[str, set]:
    out: dict[str, set] = {}
    for cid, c in rep["cases"].items():
        out.setdefault(c["status"], set()).add(cid)
    return out


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.1)
    return False


def kill_quietly(pid_file: Path) -> None:
    if pid_file.exists():
        for pid in pid_file.read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


DAEMON = """
def daemon():
    # a descendant that leaves the adapter's process group and keeps its stdout and stderr open
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    with open({pids!r}, "a") as f:
        f.write(f"{{child.pid}} ")
"""


@pytest.mark.parametrize("then", ["crash", "hang"])
def test_a_detached_child_holding_stdout_costs_one_case_not_the_run(tmp_path, then):
    pids = tmp_path / "pids"
    action = "os._exit(1)" if then == "crash" else "time.sleep(3600)"
    cmd = adapter(tmp_path, DAEMON.format(pids=str(pids)) +
                  f"def before(case):\n    if case['id'] == TARGET:\n        daemon()\n        {action}\n"
                  "serve('detaching', before=before)")
    try:
        code, rep, err, elapsed = convmed(tmp_path, "--adapter", cmd, "--timeout", "20" if then == "crash" else "3")
    finally:
        kill_quietly(pids)
    assert code == 1
    assert by_status(rep)["errored"] == {TARGET}
    assert len(by_status(rep)["passed"]) == N_CASES - 1
    message = rep["cases"][TARGET]["message"]
    # a crash is seen when the adapter exits, not when the daemon closes the pipe or the timeout expires
    assert ("arrêté" in message) if then == "crash" else ("délai dépassé" in message)
    assert rep["cases"][TARGET]["duration_s"] < (10 if then == "crash" else 10)
    assert rep["footer"]["interrupted"] is False


def test_a_lone_surrogate_or_invalid_utf8_in_an_answer_is_one_failed_case(tmp_path):
    body = ("def mutate(case, result):\n"
            "    if case['id'] == TARGET:\n"
            "        result['lines'][0]['code'] = '\\ud800G'\n"
            "    return result\n"
            "import _base\n"
            "def reply(message):\n"
            "    if message.get('result', {}).get('lines', [{}])[0].get('code') == '\\ud800G':\n"
            "        sys.stdout.write(json.dumps(message) + '\\n')   # ASCII escapes: a valid JSON text\n"
            "    elif 'seq' in message and message['seq'] == 3:\n"
            "        sys.stdout.buffer.write(b'{\"seq\": 3, \"result\": \"\\xff\\xfe\"}\\n')\n"
            "    else:\n"
            "        sys.stdout.write(json.dumps(message, ensure_ascii=False) + '\\n')\n"
            "    sys.stdout.flush()\n"
            "_base.reply = reply\n"
            "serve('surrogates', mutate=mutate)")
    code, rep, err, _ = convmed(tmp_path, "--adapter", adapter(tmp_path, body), "--timeout", "30")
    assert code == 1
    target = rep["cases"][TARGET]
    assert target["status"] == "failed"   # compared, and different: the code came back as U+FFFD G
    assert "\ufffdG" in json.dumps(target, ensure_ascii=False)
    errored = by_status(rep).get("errored", set())
    assert len(errored) == 1 and "illisible" in rep["cases"][next(iter(errored))]["message"]
    assert rep["footer"]["counts"]["total"] == N_CASES
    rep["raw"].decode("utf-8")   # the JSON lines file stays UTF-8 (no surrogate could be written)


def test_control_characters_in_an_adapter_message_are_escaped_in_every_report(tmp_path):
    nasty = "boom \x1b[31mrouge\x00 \x07 ]]> <x/> & \ud800 \u202efin"
    body = ("import _base\n"
            "def reply(message):\n"
            "    if message.get('seq') is not None and message.get('result', {}).get('_target'):\n"
            f"        message = {{'seq': message['seq'], 'errored': True, 'context': {{'message': {nasty!r}}}}}\n"
            "    sys.stdout.write(json.dumps(message) + '\\n')\n"
            "    sys.stdout.flush()\n"
            "_base.reply = reply\n"
            "def mutate(case, result):\n"
            "    if case['id'] == TARGET:\n"
            "        result['_target'] = True\n"
            "    return result\n"
            "serve('escapes', mutate=mutate)")
    code, rep, err, _ = convmed(tmp_path, "--adapter", adapter(tmp_path, body), "--timeout", "30")
    assert code == 1 and by_status(rep)["errored"] == {TARGET}
    message = rep["cases"][TARGET]["message"]
    assert message.startswith("boom ") and "\x1b" in message   # JSON keeps the text, escaped by JSON itself
    for text in (rep["summary"], (rep["dir"] / "junit.xml").read_text(encoding="utf-8"), err):
        assert "\x1b" not in text and "\x00" not in text and "\x07" not in text and "\u202e" not in text
        assert "\\x1b[31mrouge" in text
    failure = [tc for tc in rep["junit"].iter("testcase") if tc.get("name", "").endswith("meg-alone")]
    assert failure and failure[0].find("error") is not None


def test_an_endless_line_is_refused_at_the_bound_without_buffering_it(tmp_path):
    body = ("def before(case):\n"
            "    if case['id'] == TARGET:\n"
            "        chunk = b'x' * (1 << 20)\n"
            "        for _ in range(40):\n"      # 40 MiB, more than the 16 MiB bound, and never a newline
            "            sys.stdout.buffer.write(chunk)\n"
            "        sys.stdout.flush()\n"
            "        time.sleep(3600)\n"
            "serve('endless', before=before)")
    code, rep, err, _ = convmed(tmp_path, "--adapter", adapter(tmp_path, body), "--timeout", "30")
    assert by_status(rep)["errored"] == {TARGET}
    assert "ligne de plus de 16777216 octets" in rep["cases"][TARGET]["message"]
    assert len(by_status(rep)["passed"]) == N_CASES - 1


def test_a_hung_adapter_opens_the_circuit_after_max_dead_cases(tmp_path):
    body = "def before(case):\n    time.sleep(3600)\nserve('hung', before=before)"
    code, rep, err, elapsed = convmed(tmp_path, "--adapter", adapter(tmp_path, body), "--timeout", "1",
                                      "--max-dead", "3")
    assert code == 1 and by_status(rep) == {"errored": set(rep["cases"])}
    assert len(rep["cases"]) == N_CASES
    messages = [c["message"] for c in rep["cases"].values()]
    assert sum("délai dépassé" in m for m in messages) == 3
    assert sum("non exécuté : adaptateur hors service (3 cas consécutifs sans réponse" in m
               for m in messages) == N_CASES - 3


def test_sigterm_finishes_the_reports_and_stops_the_adapter(tmp_path):
    pid_file = tmp_path / "adapter.pid"
    body = (f"open({str(pid_file)!r}, 'a').write(f'{{os.getpid()}} ')\n"
            "def before(case):\n    if case['id'] == TARGET:\n        time.sleep(3600)\n"
            "serve('terminated', before=before)")
    out = tmp_path / "report"
    proc = subprocess.Popen([PY, "-m", "convmed", "conformance", "run", "--suite", str(SUITE), "--family", FAMILY,
                             "--adapter", adapter(tmp_path, body), "--timeout", "120", "--report-dir", str(out),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (pid_file.exists() and (out / "results.jsonl").exists()
                                                   and len((out / "results.jsonl").read_text().splitlines()) >= 2):
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    assert "SIGTERM" in err and "Traceback" not in err
    rep = read_reports(out)
    assert rep["footer"]["interrupted"] is True and TARGET not in rep["cases"]
    assert "interrompue" in rep["summary"]
    assert all(gone(int(pid)) for pid in pid_file.read_text().split())


# ---------------------------------------------------------------------- HTTP engines
def http_server(handler_cls) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class OracleHandler(BaseHTTPRequestHandler):
    def answer(self, msg):
        from convmed.conformance.oracles import evaluate

        if msg["cmd"] == "start":
            return {"ready": True, "protocol": 1, "implementation": {"name": "http", "version": "1"}}
        if msg["cmd"] == "run":
            return {"seq": msg["seq"], "result": evaluate(msg["case"]["kind"], msg["case"]["input"])}
        return {}

    def do_POST(self):
        msg = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self.misbehave(msg):
            data = json.dumps(self.answer(msg)).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def misbehave(self, msg) -> bool:
        return False

    def log_message(self, *args):
        pass


def trickle(wfile, text: bytes, delay: float, stop: float) -> None:
    """One byte every `delay` seconds for at most `stop` seconds (or until the client goes away)."""
    t0 = time.monotonic()
    for b in text * 100:
        if time.monotonic() - t0 > stop:
            return
        try:
            wfile.write(bytes([b]))
            wfile.flush()
        except OSError:
            return
        time.sleep(delay)


@pytest.mark.parametrize("when", ["headers", "body"])
def test_an_http_engine_sending_a_byte_a_second_is_timed_out_on_the_whole_request(tmp_path, when):
    class Slow(OracleHandler):
        def misbehave(self, msg):
            if msg["cmd"] == "run" and msg["case"]["id"] == TARGET:
                if when == "headers":
                    trickle(self.wfile, b"HTTP/1.1 200 OK\r\nX-Slow: yes\r\n", 0.5, 30)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    trickle(self.wfile, b'{"seq": 1, ', 0.5, 30)
                return True
            return False

    server = http_server(Slow)
    try:
        code, rep, err, _ = convmed(tmp_path, "--url", f"http://127.0.0.1:{server.server_port}/", "--timeout", "2")
    finally:
        server.shutdown()
    assert by_status(rep)["errored"] == {TARGET}
    assert "délai dépassé" in rep["cases"][TARGET]["message"]
    assert rep["cases"][TARGET]["duration_s"] < 6   # 2 s, not one read timeout per byte
    assert len(by_status(rep)["passed"]) == N_CASES - 1


def test_slow_start_headers_are_bounded_by_start_timeout(tmp_path):
    class SlowStart(OracleHandler):
        def misbehave(self, msg):
            if msg["cmd"] == "start":
                trickle(self.wfile, b"HTTP/1.1 200 OK\r\n", 0.5, 30)
                return True
            return False

    server = http_server(SlowStart)
    try:
        t0 = time.monotonic()
        proc = subprocess.run([PY, "-m", "convmed", "conformance", "run", "--suite", str(SUITE), "--family", FAMILY,
                               "--url", f"http://127.0.0.1:{server.server_port}/", "--start-timeout", "2",
                               "--report-dir", str(tmp_path / "r")], capture_output=True, timeout=60, cwd=REPO)
        elapsed = time.monotonic() - t0
    finally:
        server.shutdown()
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "délai dépassé" in err and "Traceback" not in err
    assert elapsed < 20   # the process start (imports) plus 2 s, far from 86 s


def test_redirects_are_not_followed(tmp_path):
    hits = []

    class Elsewhere(OracleHandler):
        def misbehave(self, msg):
            hits.append(msg["cmd"])
            return False

    other = http_server(Elsewhere)

    class Redirect(OracleHandler):
        def misbehave(self, msg):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_port}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True

    server = http_server(Redirect)
    try:
        proc = subprocess.run([PY, "-m", "convmed", "conformance", "run", "--suite", str(SUITE), "--family", FAMILY,
                               "--url", f"http://127.0.0.1:{server.server_port}/", "--start-timeout", "10",
                               "--report-dir", str(tmp_path / "r")], capture_output=True, timeout=60, cwd=REPO)
    finally:
        server.shutdown()
        other.shutdown()
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "302" in err and "non suivie" in err
    assert hits == []   # nothing reached the other host


def test_an_http_body_without_end_is_refused_at_the_bound(tmp_path):
    class Huge(OracleHandler):
        def misbehave(self, msg):
            if msg["cmd"] == "run" and msg["case"]["id"] == TARGET:
                self.send_response(200)
                self.end_headers()   # no length: the body ends when the connection closes, i.e. never
                chunk = b" " * (1 << 20)
                try:
                    for _ in range(40):
                        self.wfile.write(chunk)
                except OSError:
                    pass
                return True
            return False

    server = http_server(Huge)
    try:
        code, rep, err, _ = convmed(tmp_path, "--url", f"http://127.0.0.1:{server.server_port}/", "--timeout", "20")
    finally:
        server.shutdown()
    assert by_status(rep)["errored"] == {TARGET}
    assert "corps de plus de 16777216 octets" in rep["cases"][TARGET]["message"]


def test_conformance_run_options_are_bounded(tmp_path):
    for args in (["--timeout", "nan"], ["--timeout", "0"], ["--max-dead", "0"], ["--start-timeout", "1e9"]):
        proc = subprocess.run([PY, "-m", "convmed", "conformance", "run", "--suite", str(SUITE), "--python",
                               "convmed.conformance.protocol:reference", "--report-dir", str(tmp_path / "r"), *args],
                              capture_output=True, timeout=60, cwd=REPO)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr.decode(), args
