"""Run inside another convmed checkout (a vendor's or a contributor's clone), every command reads that checkout's
spec, schemas and vectors, never the installed package's (issue 19, « the wrong spec, silently »), and says which
spec it read (path and digest)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest


@pytest.fixture
def clone(tmp_path, repo):
    root = tmp_path / "clone"
    root.mkdir()
    shutil.copy(repo / "pyproject.toml", root / "pyproject.toml")
    for name in ("spec", "schemas", "conformance_tests"):
        shutil.copytree(repo / name, root / name)
    (root / "sub").mkdir()
    return root


def _run(cwd, *args, seeds=None):
    env = {k: v for k, v in os.environ.items() if k not in ("CONVMED_SPEC", "CONVMED_SCHEMAS", "CONVMED_CONFORMANCE")}
    env["CONVMED_NO_CACHE"] = "1"
    if seeds is not None:
        env["CONVMED_SOURCES"] = str(seeds)
    return subprocess.run([sys.executable, "-m", "convmed", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_price_and_lookup_read_the_checkout_they_run_in(clone, repo):
    g = clone / "spec" / "acts" / "consultations" / "G.yaml"
    g.write_text(g.read_text(encoding="utf-8").replace('value: "30.00"', 'value: "31.00"'), encoding="utf-8")
    claim = repo / "examples" / "consultation-g-2025.json"
    out = _run(clone / "sub", "price", str(claim))          # from a sub-folder of the clone
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["lines"][0]["amount"] == "31.00"
    ours = json.loads(_run(repo, "price", str(claim)).stdout)
    assert ours["lines"][0]["amount"] == "30.00"
    assert result["convmed"]["spec_digest"] != ours["convmed"]["spec_digest"]


def test_spec_check_checks_the_checkout_it_runs_in(clone, seeds):
    g = clone / "spec" / "acts" / "consultations" / "G.yaml"
    g.write_text(g.read_text(encoding="utf-8").replace("quote: G = 30 €", "quote: G = 31 €"), encoding="utf-8")
    out = _run(clone, "spec", "check", seeds=seeds)
    assert out.returncode == 1 and "quote not found" in out.stderr
    assert f"spec {clone / 'spec'}" in out.stdout and "digest" in out.stdout
