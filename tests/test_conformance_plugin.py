"""The pytest plugin (entry point pytest11) and the protocol messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from convmed.conformance.protocol import message_problem, run_message, start_message
from convmed.conformance.vectors import load_suite

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def test_one_pytest_test_per_vector_with_the_failures_explained(tmp_path):
    own = tmp_path / "v1"
    own.mkdir()
    for name in ("suite", "majorations-enfant"):   # this area's file only: independent of files in progress
        shutil.copy(REPO / "conformance_tests" / "v1" / f"{name}.json", own / f"{name}.json")
    suite, _ = load_suite(own)
    mine = suite.cases
    proc = subprocess.run(
        [PY, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--convmed-suite", str(own),
         "--convmed-adapter", f"{PY} {REPO}/conformance_tests/broken_adapters/meg_six_years.py",
         "--junitxml", str(tmp_path / "j.xml")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    passed = {line.split("::", 1)[1].strip() for line in out.splitlines() if line.startswith("PASSED convmed-conformance::")}
    failed = {line.split("::", 1)[1].split(" ")[0] for line in out.splitlines() if line.startswith("FAILED convmed-conformance::")}
    assert failed == {"majorations-enfant.meg-6th-birthday", "majorations-enfant.meg-age-years-6"}
    assert passed | failed == {c.id for c in mine}
    assert "Règles : MEG#age" in out and "enfants de moins de 6 ans" in out


def test_plugin_is_inactive_without_its_options(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    proc = subprocess.run([PY, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "1 passed" in proc.stdout


def test_protocol_messages_match_the_schema():
    assert message_problem(start_message("1.0.0", "0.1.0"), "start") is None
    case = {"id": "x", "kind": "claim", "input": {"date": "2025-01-10"}}
    assert message_problem(run_message(3, case), "run") is None
    assert message_problem({"seq": 3, "result": {}}, "run_response") is None
    assert message_problem({"seq": 3, "skipped": True, "reason": "non pris en charge"}, "run_response") is None
    assert message_problem({"seq": 3, "errored": True, "context": {"message": "boom"}}, "run_response") is None
    assert message_problem({"seq": 3, "result": {}, "skipped": True}, "run_response")
    assert message_problem({"ready": True, "implementation": {"name": "x"}}, "start_response")


def test_example_adapter_speaks_the_protocol():
    requests = [start_message("1.0.0", "0.1.0"),
                run_message(1, {"id": "a", "kind": "claim", "input": {
                    "date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
                    "lines": [{"code": "G"}]}}),
                {"cmd": "stop"}]
    proc = subprocess.run([PY, str(REPO / "conformance_tests/adapters/python/adapter.py")],
                          input="".join(json.dumps(r) + "\n" for r in requests), capture_output=True, text=True,
                          timeout=60)
    start, result = [json.loads(x) for x in proc.stdout.splitlines()]
    assert message_problem(start, "start_response") is None
    assert message_problem(result, "run_response") is None
    assert result["seq"] == 1 and result["result"]["lines"][0]["amount"] == "30.00"
    assert proc.returncode == 0


def test_serve_oracle_answers_in_order_and_reports_bad_requests():
    import io

    from convmed.conformance.serve import serve_oracle

    claim = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}]}
    lines = [json.dumps({"id": 1, "kind": "claim", "input": claim}), "pas du json",
             json.dumps({"id": 3, "kind": "claim", "input": {"date": "2025-01-10"}}),
             json.dumps({"id": 4, "kind": "inconnu", "input": {}})]
    out = io.StringIO()
    assert serve_oracle(io.StringIO("\n".join(lines) + "\n"), out) == 0
    first, garbage, invalid, unknown = [json.loads(x) for x in out.getvalue().splitlines()]
    assert first["id"] == 1 and first["output"]["lines"][0]["amount"] == "30.00"
    assert "<stdin>:2: [json] invalid JSON" in garbage["error"]
    assert invalid["id"] == 3 and "required property" in invalid["error"]
    assert unknown["id"] == 4 and "aucun oracle" in unknown["unavailable"]
