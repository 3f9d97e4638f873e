"""The wheel ships spec/ and schemas/ so an installed convmed works without the repository."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(out), str(REPO)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    (path,) = out.glob("convmed-*.whl")
    return path


def test_wheel_contains_spec_and_schemas(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "convmed/_data/spec/acts/consultations/G.yaml" in names
    assert "convmed/_data/schemas/claim.schema.json" in names
    assert "convmed/_data/spec/meta.yaml" in names


def test_installed_wheel_prices_without_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    claim = tmp_path / "claim.json"
    claim.write_text('{"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"},'
                     ' "lines": [{"code": "G"}]}')
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("CONVMED_SPEC", None)
    code = ("import convmed.paths as p, sys; from convmed.cli import main; "
            "assert str(p.spec_dir()).startswith(sys.argv[1]), p.spec_dir(); sys.exit(main(['price', sys.argv[2]]))")
    out = subprocess.run([sys.executable, "-c", code, str(target), str(claim)], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert '"total": "30.00"' in out.stdout
