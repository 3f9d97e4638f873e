import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    # the parsed-spec cache of the tests (hundreds of temporary specs) stays out of the user's ~/.cache;
    # subprocesses inherit it
    if "CONVMED_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["CONVMED_CACHE_DIR"] = tempfile.mkdtemp(prefix="convmed-test-cache-")


def seeds_dir() -> Path | None:
    env = os.environ.get("CONVMED_SOURCES")
    if env:
        return Path(env)
    candidate = REPO.parent / "shared" / "seeds"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def spec():
    from convmed.model import load_spec

    return load_spec(REPO / "spec")


@pytest.fixture(scope="session")
def seeds() -> Path:
    path = seeds_dir()
    if path is None:
        pytest.skip("seed documents not found (set CONVMED_SOURCES)")
    return path


@pytest.fixture
def spec_with(tmp_path):
    """`spec_with({relative path: (old text, new text)})`: a copy of spec/ (in tmp_path) with those texts of its
    files replaced, loaded: the tests that change a parameter of the spec and see the formula follow."""
    import shutil

    from convmed.model import load_spec_uncached

    def make(changes: dict[str, tuple[str, str]]):
        root = tmp_path / "spec"
        shutil.copytree(REPO / "spec", root)
        for rel, (old, new) in changes.items():
            f = root / rel
            text = f.read_text(encoding="utf-8")
            assert old in text, (rel, old)
            f.write_text(text.replace(old, new, 1), encoding="utf-8")
        return load_spec_uncached(root)

    return make


@pytest.fixture
def claim_refused_by_its_history() -> dict:
    """A claim of the conformance vectors whose code counts acts (GL3, one a year) and whose history makes it
    refused (FREQUENCY_LIMIT): the batch engine prices it on the scalar path. A fresh copy each time."""
    import json

    cases = json.loads((REPO / "conformance_tests" / "v1" / "complex-consultations.json").read_text("utf-8"))["cases"]
    return next(c["input"] for c in cases if c.get("kind") == "claim" and c["input"].get("history")
                and c["expected"]["lines"][0].get("reason") == "FREQUENCY_LIMIT")
