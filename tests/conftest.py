import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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
