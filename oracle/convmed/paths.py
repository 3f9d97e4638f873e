"""Where the spec, the schemas, the seeds and the vectors are.

An installed wheel carries `spec/` and `schemas/` under `convmed/_data/`; a source
checkout (editable install) finds them at the repository root. `CONVMED_SPEC` and
`CONVMED_SCHEMAS` override both; `CONVMED_SOURCES` points to the seed documents.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent.parent


def _data_dir(name: str, env: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    bundled = _PACKAGE / "_data" / name
    if bundled.is_dir():
        return bundled
    return _REPO / name


def spec_dir() -> Path:
    return _data_dir("spec", "CONVMED_SPEC")


def schemas_dir() -> Path:
    return _data_dir("schemas", "CONVMED_SCHEMAS")


def repo_root() -> Path | None:
    """The source checkout, when convmed runs from one."""
    return _REPO if (_REPO / "pyproject.toml").is_file() else None


def conformance_dir() -> Path | None:
    if os.environ.get("CONVMED_CONFORMANCE"):
        return Path(os.environ["CONVMED_CONFORMANCE"])
    bundled = _PACKAGE / "_data" / "conformance_tests"
    if bundled.is_dir():
        return bundled
    root = repo_root()
    return root / "conformance_tests" if root else None


def seeds_dir() -> Path | None:
    """The seed documents: $CONVMED_SOURCES, else ../shared/seeds next to the checkout or the cwd."""
    env = os.environ.get("CONVMED_SOURCES")
    if env:
        return Path(env)
    candidates = [Path.cwd() / ".." / "shared" / "seeds"]
    root = repo_root()
    if root:
        candidates.insert(0, root.parent / "shared" / "seeds")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None
