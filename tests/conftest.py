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
