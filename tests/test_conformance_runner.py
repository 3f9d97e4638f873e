"""The conformance runner against the example adapters and the deliberately wrong ones.

Which vectors a wrong adapter must fail is computed from the vectors' data (their rules,
dates and expected lines), never from the runner's own output.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from convmed.cli import main
from convmed.conformance.vectors import load_suite

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "conformance_tests" / "v1"
BROKEN = REPO / "conformance_tests" / "broken_adapters"
OURS = ["--family", "consultations-reference", "--family", "majorations-enfant"]
PY = sys.executable


MINE = ("consultations-reference", "majorations-enfant")


@pytest.fixture(scope="module", autouse=True)
def mine(tmp_path_factory):
    """A copy of this area's two vector files: the wrong-adapter tests do not depend on files being written by others."""
    global OWN
    OWN = tmp_path_factory.mktemp("suite") / "v1"
    OWN.mkdir()
    for name in ("suite", *MINE):
        shutil.copy(SUITE / f"{name}.json", OWN / f"{name}.json")
    return OWN


def ours():
    suite, _ = load_suite(OWN)
    return [c for c in suite.cases if c.family in MINE]


def run(tmp_path, *args, suite=None) -> tuple[int, dict]:
    out = tmp_path / "report"
    code = main(["conformance", "run", "--suite", str(suite or OWN), "--report-dir", str(out), "--no-progress", "-q", *args])
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return code, {"header": lines[0], "cases": {x["id"]: x for x in lines[1:-1]}, "footer": lines[-1], "dir": out}


def statuses(report) -> dict[str, set]:
    out: dict[str, set] = {}
    for cid, c in report["cases"].items():
        out.setdefault(c["status"], set()).add(cid)
    return out


@functools.lru_cache(maxsize=1)
def not_reproduced() -> frozenset[str]:
    """Cases of the shipped suite whose expectation the oracle does not reproduce (lint errors, normally none)."""
    from convmed.conformance.lint import lint_suite

    report = lint_suite(SUITE)
    by_pointer = {(c.file, c.index): c.id for c in report.suite.cases}
    out = set()
    for p in report.problems:
        if p.code in ("expected", "oracle") and p.pointer and p.pointer.startswith("/cases/"):
            out.add(by_pointer[(p.file, int(p.pointer.split("/")[2]))])
    return frozenset(out)


def test_python_example_adapter_passes_every_required_vector(tmp_path):
    code, rep = run(tmp_path, "--adapter", f"{PY} {REPO}/conformance_tests/adapters/python/adapter.py", "--level", "required",
                    suite=SUITE)
    suite, _ = load_suite(SUITE)
    required = {c.id for c in suite.cases if c.level == "required"}
    broken = not_reproduced() & required   # vectors the oracle itself disagrees with: the lint reports them
    assert statuses(rep).get("passed", set()) == required - broken
    assert statuses(rep).get("failed", set()) == broken
    assert {c.id for c in ours() if c.level == "required"} <= statuses(rep)["passed"]
    assert code == (1 if broken else 0)
    assert rep["header"]["implementation"]["name"] == "convmed-example-python"
    assert rep["header"]["suite_version"] == json.loads((REPO / "conformance_tests/v1/suite.json").read_text())["suite_version"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node absent")
def test_node_example_adapter_passes_every_required_vector(tmp_path):
    env_python = os.environ.get("CONVMED_PYTHON")
    os.environ["CONVMED_PYTHON"] = PY
    try:
        code, rep = run(tmp_path, "--adapter", f"node {REPO}/conformance_tests/adapters/node/adapter.js",
                        "--level", "required", "--workers", "2", suite=SUITE)
    finally:
        if env_python is None:
            os.environ.pop("CONVMED_PYTHON")
    suite, _ = load_suite(SUITE)
    required = {c.id for c in suite.cases if c.level == "required"}
    broken = not_reproduced() & required
    assert statuses(rep).get("passed", set()) == required - broken
    assert statuses(rep).get("failed", set()) == broken
    assert code == (1 if broken else 0)
    assert rep["header"]["implementation"]["language"] == "javascript"


def test_example_adapters_stay_under_80_lines():
    for path in ("python/adapter.py", "node/adapter.js"):
        assert len((REPO / "conformance_tests" / "adapters" / path).read_text().splitlines()) < 80


def test_g_at_25_fails_exactly_the_vectors_of_the_revalued_g(tmp_path):
    code, rep = run(tmp_path, "--adapter", f"{PY} {BROKEN}/g_25_after_2024.py", *OURS)
    should_fail = {c.id for c in ours()
                   if "G#values/2024-12-22" in c.rules and c.input["date"] >= "2024-12-22"}
    assert len(should_fail) >= 5
    assert statuses(rep)["failed"] == should_fail
    assert set(rep["cases"]) - should_fail == statuses(rep)["passed"]
    assert code == 1
    case = rep["cases"]["consultations-reference.g-s1-2025"]
    assert {"pointer": "/lines/0/amount", "expected": "30.00", "actual": "25.00"} in case["differences"]
    assert {"seed": "000_faed2a3a0097973c.txt", "quote": "G = 30 €"}.items() <= case["seeds"][0].items()
    summary = (rep["dir"] / "summary.md").read_text(encoding="utf-8")
    assert "`consultations-reference.g-s1-2025`" in summary and "« G = 30 € »" in summary
    required = {c.id for c in ours() if c.level == "required"}   # the badge counts required cases only
    assert json.loads((rep["dir"] / "badge.json").read_text())["message"] == (
        f"{100 * len(required - should_fail) // len(required)} % passing")


def test_meg_for_six_year_olds_fails_exactly_the_age_refusals(tmp_path):
    code, rep = run(tmp_path, "--adapter", f"{PY} {BROKEN}/meg_six_years.py", *OURS)
    should_fail = {c.id for c in ours() if "MEG#age" in c.rules
                   and any(line.get("code") == "MEG" and line.get("status") == "refused" for line in c.expected["lines"])}
    # the seed-based age cases (6th birthday, age given in years) are among them
    assert should_fail >= {"majorations-enfant.meg-6th-birthday", "majorations-enfant.meg-age-years-6"}
    assert statuses(rep)["failed"] == should_fail
    assert code == 1
    junit = ET.parse(rep["dir"] / "junit.xml").getroot()
    failed = {tc.get("name"): tc.find("failure") for tc in junit.iter("testcase") if tc.find("failure") is not None}
    assert set(failed) == should_fail
    text = failed["majorations-enfant.meg-6th-birthday"].text
    assert "MEG#age" in text and "enfants de moins de 6 ans" in text and "004_43679c6e4e635b7a.txt" in text


@pytest.mark.parametrize("adapter", ["hang.py", "exit_midrun.py", "garbage.py"])
def test_hang_crash_or_garbage_marks_one_case_errored_and_the_run_goes_on(tmp_path, adapter):
    target = "consultations-reference.g-s1-2025"
    timeout = "3" if adapter == "hang.py" else "30"   # only the hang needs a short delay; a loaded machine must not time out
    code, rep = run(tmp_path, "--adapter", f"{PY} {BROKEN}/{adapter}", "--timeout", timeout, *OURS)
    assert statuses(rep)["errored"] == {target}
    assert statuses(rep)["passed"] == {c.id for c in ours()} - {target}
    assert rep["footer"]["counts"] == {"passed": len(ours()) - 1, "failed": 0, "errored": 1, "skipped": 0,
                                       "total": len(ours())}
    message = rep["cases"][target]["message"]
    assert {"hang.py": "délai dépassé", "exit_midrun.py": "arrêté", "garbage.py": "illisible"}[adapter] in message
    if adapter == "exit_midrun.py":
        assert "code 3" in message and "arrêt brutal" in message  # exit status and stderr of the adapter
    junit = ET.parse(rep["dir"] / "junit.xml").getroot()
    assert int(junit.get("tests")) == len(ours()) and int(junit.get("errors")) == 1
    assert code == 1


def test_junit_xml_is_well_formed_and_complete(tmp_path):
    code, rep = run(tmp_path, "--adapter", f"{PY} {BROKEN}/g_25_after_2024.py", "--workers", "2")
    root = ET.parse(rep["dir"] / "junit.xml").getroot()
    assert root.tag == "testsuites"
    cases = list(root.iter("testcase"))
    assert len(cases) == int(root.get("tests")) == len(rep["cases"])
    assert int(root.get("failures")) == sum(1 for tc in cases if tc.find("failure") is not None) == len(statuses(rep)["failed"])
    for suite in root.iter("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["suite_version"] == json.loads((REPO / "conformance_tests/v1/suite.json").read_text())["suite_version"] and props["implementation"].startswith("broken-g-25")


def test_in_process_and_http_modes(tmp_path):
    code, rep = run(tmp_path, "--python", "convmed.conformance.protocol:reference", *OURS)
    assert code == 0 and statuses(rep) == {"passed": {c.id for c in ours()}}

    from convmed.conformance.oracles import evaluate

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            msg = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(msg["cmd"])
            if msg["cmd"] == "start":
                body = {"ready": True, "protocol": 1, "implementation": {"name": "http-oracle", "version": "1"}}
            elif msg["cmd"] == "run":
                body = {"seq": msg["seq"], "result": evaluate(msg["case"]["kind"], msg["case"]["input"])}
            else:
                body = {}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, rep = run(tmp_path, "--url", f"http://127.0.0.1:{server.server_port}/", *OURS, "--workers", "2")
    finally:
        server.shutdown()
    assert code == 0 and statuses(rep) == {"passed": {c.id for c in ours()}}
    assert rep["header"]["implementation"]["name"] == "http-oracle"
    assert seen.count("run") == len(ours()) and "stop" in seen


def test_filters_select_by_family_level_date_and_id(tmp_path):
    adapter = ["--python", "convmed.conformance.protocol:reference"]
    _, rep = run(tmp_path, *adapter, "--family", "majorations-enfant", "--to", "2017-12-31")
    assert set(rep["cases"]) == {c.id for c in ours() if c.family == "majorations-enfant" and c.input["date"] <= "2017-12-31"}
    _, rep = run(tmp_path, *adapter, "--id", "consultations-reference.g-s2-*", "--from", "2025-01-01")
    assert set(rep["cases"]) == {"consultations-reference.g-s2-optam", "consultations-reference.g-s2-tarif-opposable",
                                 "consultations-reference.g-s2-depassement"}
    _, rep = run(tmp_path, *adapter, *OURS, "--level", "optional")
    assert set(rep["cases"]) == {c.id for c in ours() if c.level == "optional"}
    _, rep = run(tmp_path, *adapter, "--rule", "MEG#base_act")
    with_rule = {c.id for c in ours() if "MEG#base_act" in c.rules}
    assert "majorations-enfant.meg-alone" in with_rule and set(rep["cases"]) == with_rule


def test_bad_input_exits_2_with_a_located_message(tmp_path, capsys):
    assert main(["conformance", "run", "--suite", str(SUITE), "--python", "convmed.conformance.protocol:reference",
                 "--family", "nope", "--report-dir", str(tmp_path)]) == 2
    assert "unknown family 'nope'" in capsys.readouterr().err
    bad = tmp_path / "suite"
    bad.mkdir()
    shutil.copy(SUITE / "suite.json", bad / "suite.json")
    (bad / "broken.json").write_text('{"family": "broken", "description": "x", "cases": [{"id": "a"}]}')
    assert main(["conformance", "run", "--suite", str(bad), "--python", "convmed.conformance.protocol:reference",
                 "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "broken.json:1 /cases/0" in err and "required property" in err
    assert main(["conformance", "run", "--suite", str(SUITE), "--adapter", f"{PY} -c 'print(42)'",
                 "--report-dir", str(tmp_path)]) == 2
    assert "start" in capsys.readouterr().err


def test_ctrl_c_leaves_complete_reports_for_the_cases_that_ran(tmp_path):
    out = tmp_path / "report"
    env = {**os.environ, "BROKEN_CASE": "majorations-enfant.meg-alone"}
    proc = subprocess.Popen([PY, "-m", "convmed", "conformance", "run", "--suite", str(OWN), *OURS,
                             "--adapter", f"{PY} {BROKEN}/hang.py", "--timeout", "60", "--report-dir", str(out),
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jsonl = out / "results.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the cases before the hanging one are recorded
        if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 6:
            break
        time.sleep(0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 130
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert lines[-1]["type"] == "footer" and lines[-1]["interrupted"] is True
    ran = [x for x in lines if x["type"] == "case"]
    assert ran and all(x["status"] == "passed" for x in ran)
    assert "majorations-enfant.meg-alone" not in {x["id"] for x in ran}
    root = ET.parse(out / "junit.xml").getroot()
    assert int(root.get("tests")) == len(ran) == lines[-1]["counts"]["total"]
    assert "interrompue" in (out / "summary.md").read_text(encoding="utf-8")


def test_an_adapter_that_cannot_be_restarted_is_given_up_and_the_report_stays_complete(tmp_path):
    marker = tmp_path / "crashed"
    script = tmp_path / "once.py"
    script.write_text(
        "import os, sys\n"
        f"if os.path.exists({str(marker)!r}):\n    sys.exit(4)\n"
        f"sys.path.insert(0, {str(BROKEN)!r})\n"
        "from _base import serve\n"
        "def before(case):\n"
        "    if case['id'] == 'consultations-reference.g-s1-2025':\n"
        f"        open({str(marker)!r}, 'w').close()\n"
        "        os._exit(1)\n"
        "serve('once', before=before)\n")
    code, rep = run(tmp_path, "--adapter", f"{PY} {script}", "--family", "consultations-reference")
    family = {c.id for c in ours() if c.family == "consultations-reference"}
    assert code == 1 and set(rep["cases"]) == family
    messages = [c["message"] for c in rep["cases"].values()]
    assert sum("redémarrage de l'adaptateur impossible" in m and "code 4" in m for m in messages) == 3
    assert all(c["status"] in ("errored", "passed") for c in rep["cases"].values())
    assert rep["footer"]["counts"]["total"] == len(family)


def test_suite_metadata_is_validated(tmp_path, capsys):
    root = tmp_path / "v2"
    root.mkdir()
    (root / "suite.json").write_text('{"suite_version": "2", "spec_version": "0.1.0", "published": "2026-02-30"}')
    assert main(["conformance", "run", "--suite", str(root), "--python", "convmed.conformance.protocol:reference",
                 "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "suite.json:1 /suite_version" in err and "/published" in err
