"""The built site opened in headless Chromium (Debian's `chromium` package; `.ci/run` installs it).

Drives Chromium through the DevTools protocol with a tiny stdlib websocket client (no
playwright, no network: the site is served on 127.0.0.1). Checks that G's page renders
its history table with 30.00 from 2024-12-22 and its quote, that the home page renders,
and that the client-side search (lunr, French) finds a code. Keeps a screenshot of G's
page in reports/ (git-ignored) as the build artefact.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from convmed.paths import repo_root

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium absent (apt-get install -y chromium) : le test navigateur tourne en CI, où .ci/run l'installe")

import test_docs_site  # noqa: E402  (the site is built once per session, shared with test_docs_site)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return test_docs_site.build_once(tmp_path_factory)

REPORTS = (repo_root() or Path.cwd()) / "reports"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1600"]


class WebSocket:
    """Just enough RFC 6455 for the DevTools protocol: text frames, client masking, fragmentation."""

    def __init__(self, url: str, timeout: float = 30):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            head += chunk
        assert b" 101 " in head.split(b"\r\n", 1)[0], head

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("websocket closed")
            buf += chunk
        return buf

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def recv(self) -> str:
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x9:  # ping
                continue
            if opcode == 0x8:
                raise ConnectionError("websocket closed by chromium")
            message += data
            if b0 & 0x80:
                return message.decode()

    def close(self):
        self.sock.close()


class DevTools:
    def __init__(self, ws: WebSocket):
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def goto(self, url: str, timeout: float = 30):
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href.startsWith(" + json.dumps(url.split("?")[0]) + ")",
                      timeout)

    def wait_for(self, expression: str, timeout: float = 30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for: {expression}")


@pytest.fixture(scope="module")
def server(built):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built / "site")))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             "--remote-debugging-address=127.0.0.1", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        active = profile / "DevToolsActivePort"
        end = time.monotonic() + 30
        while not (active.is_file() and len(active.read_text().split()) >= 2):
            if proc.poll() is not None or time.monotonic() > end:
                pytest.fail("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = active.read_text().split()[0]
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        ws = WebSocket(page["webSocketDebuggerUrl"])
        devtools = DevTools(ws)
        devtools.call("Page.enable")
        yield devtools
        ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_g_page_renders_its_history_table(server, browser):
    browser.goto(f"{server}/generated/concepts/acts/consultations/G/")
    rows = browser.evaluate("""Array.from(document.querySelectorAll('table.convmed-history tr[data-entry]')).map(tr => ({
        from: tr.querySelector('.convmed-from').innerText.trim(),
        value: tr.querySelector('.convmed-value').innerText.trim(),
        quotes: Array.from(tr.querySelectorAll('.convmed-quote')).map(q => q.innerText.trim()),
        height: tr.getBoundingClientRect().height}))""")
    assert rows, "no history table rendered on G's page"
    row = [r for r in rows if r["from"] == "2024-12-22"]
    assert len(row) == 1 and row[0]["value"] == "30.00" and "G = 30 €" in row[0]["quotes"]
    assert all(r["height"] > 0 for r in rows)  # laid out, not hidden
    assert browser.evaluate("document.querySelector('svg.convmed-plot').getBoundingClientRect().width") > 100
    REPORTS.mkdir(exist_ok=True)
    shot = browser.call("Page.captureScreenshot", format="png")
    (REPORTS / "docs-G.png").write_bytes(base64.b64decode(shot["data"]))
    assert (REPORTS / "docs-G.png").stat().st_size > 10_000


def test_home_page_renders(server, browser):
    browser.goto(f"{server}/")
    text = browser.evaluate("document.querySelector('article').innerText")
    assert "Qui a signé" in text and "UFML-S" in text and "22/12/2024" in text


def a_code(built) -> tuple[str, str]:
    """A code of the spec snapshot with at least three characters (a one-letter query like « G » matches
    every word starting with g, so its rank among hundreds of pages says little), and its page URL."""
    import yaml

    codes = []
    for path in sorted((built / "spec" / "acts").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if len(data.get("code", "")) >= 3 and data["code"].isalpha():
            codes.append((data["code"], "/generated/concepts/" + path.relative_to(built / "spec").with_suffix("").as_posix() + "/"))
    if not codes:
        pytest.skip("aucun code de trois lettres dans le spec")
    return codes[0]


def search(server, browser, query: str) -> list[str]:
    browser.goto(f"{server}/?q={urllib.request.quote(query)}")
    return browser.wait_for(
        "(() => { const a = Array.from(document.querySelectorAll('.md-search-result__item > a')).map(a => a.pathname);"
        " return a.length ? a : null; })()", timeout=60)


def test_search_finds_a_code(server, browser, built):
    code, target = a_code(built)
    results = search(server, browser, code)
    assert results[0] == target, (code, results[:5])


def test_search_finds_g_by_its_label(server, browser):
    results = search(server, browser, "G consultation de référence du médecin généraliste")
    assert "/generated/concepts/acts/consultations/G/" in results[:10], results[:10]
