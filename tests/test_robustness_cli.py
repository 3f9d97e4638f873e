"""The real executable (a few subprocess runs): exit statuses, no traceback, Ctrl-C, closed pipes,
invalid bytes on the real stdin. Everything else runs in-process (tests/fuzz/)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fuzz.harness import check, run_subprocess

REPO = Path(__file__).resolve().parent.parent
CLAIM = REPO / "examples" / "consultation-g-2025.json"


def test_success_bad_input_and_failing_check_statuses(tmp_path):
    check(run_subprocess(["price", CLAIM]), expect=0)
    bad = tmp_path / "bad.json"
    bad.write_text('{"date": "2025-02-29", "doctor": {"specialty": "medecine_generale", "sector": "S1"},\n'
                   ' "lines": [{"code": "G", "amount": "30,00"}]}')
    result = check(run_subprocess(["price", bad]), expect=2, files=[bad])
    assert f"{bad}:1 /date: [schema]" in result.err and '"30,00" : utilisez un point' in result.err, result.describe()
    spec = tmp_path / "spec"
    (spec / "acts").mkdir(parents=True)
    (spec / "acts" / "X.yaml").write_text("kind: act\ncode: X\n")
    result = check(run_subprocess(["spec", "check", "--spec", spec]), expect=1)
    assert "X.yaml" in result.err


def test_invalid_utf8_on_the_real_stdin():
    result = check(run_subprocess(["price", "-"], stdin=b'{"date": "\xff\xfe"}'), expect=2, files=["<stdin>"])
    assert "<stdin>:1: [encoding]" in result.err, result.describe()


def test_ctrl_c_during_a_run_exits_130_without_traceback():
    env = {k: v for k, v in os.environ.items() if k != "CONVMED_DEBUG"}
    proc = subprocess.Popen([sys.executable, "-m", "convmed", "spec", "check"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    time.sleep(1.0)  # past interpreter start-up (site imports are outside convmed's reach)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    text = err.decode("utf-8", "replace")
    if proc.returncode == 0:  # finished before the signal on a fast machine: nothing to check
        return
    assert proc.returncode == 130, (proc.returncode, text[-1000:])
    assert "Traceback" not in text and "convmed: interrompu" in text, text[-1000:]


def test_closed_output_pipe_is_not_an_error():
    env = {k: v for k, v in os.environ.items() if k != "CONVMED_DEBUG"}
    proc = subprocess.Popen([sys.executable, "-m", "convmed", "diff", "--from", "2016-01-01", "--to", "2026-01-01",
                             "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err and "BrokenPipe" not in err, (proc.returncode, err)


def test_json_output_of_a_refusal_is_complete_json(tmp_path):
    claim = json.loads(CLAIM.read_text())
    claim["doctor"]["sector"] = "S2"
    path = tmp_path / "s2.json"
    path.write_text(json.dumps(claim))
    result = check(run_subprocess(["price", path]), expect=0)
    assert json.loads(result.out)["lines"][0]["status"] == "refused"
