"""Where the spec, the schemas, the seeds and the vectors are.

In this order: `CONVMED_SPEC` / `CONVMED_SCHEMAS` / `CONVMED_CONFORMANCE`; else the convmed checkout the
command runs in (the current folder or one of its parents holding a `pyproject.toml` of the convmed project
and a `spec/meta.yaml`: a vendor's or a contributor's clone is checked, built and priced with its own files,
never the installed package's); else the data an installed wheel carries under `convmed/_data/`; else the
repository of an editable install. `CONVMED_SOURCES` points to the seed documents.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent.parent


def checkout_root() -> Path | None:
    """The convmed checkout the current folder is in (the folder itself or a parent), if any."""
    try:
        here = Path.cwd().resolve()
    except OSError:
        return None
    for folder in (here, *here.parents):
        project = folder / "pyproject.toml"
        if project.is_file() and (folder / "spec" / "meta.yaml").is_file():
            try:
                text = project.read_text(encoding="utf-8", errors="replace")[:20000]
            except OSError:
                continue
            if 'name = "convmed"' in text:
                return folder
    return None


def _data_dir(name: str, env: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    checkout = checkout_root()
    if checkout is not None and (checkout / name).is_dir():
        return checkout / name
    bundled = _PACKAGE / "_data" / name
    if bundled.is_dir():
        return bundled
    return _REPO / name


def spec_dir() -> Path:
    return _data_dir("spec", "CONVMED_SPEC")


def schemas_dir() -> Path:
    return _data_dir("schemas", "CONVMED_SCHEMAS")


def repo_root() -> Path | None:
    """The source checkout: the one the command runs in, else the repository of an editable install."""
    return checkout_root() or (_REPO if (_REPO / "pyproject.toml").is_file() else None)


def conformance_dir() -> Path | None:
    if os.environ.get("CONVMED_CONFORMANCE"):
        return Path(os.environ["CONVMED_CONFORMANCE"])
    checkout = checkout_root()
    if checkout is not None and (checkout / "conformance_tests").is_dir():
        return checkout / "conformance_tests"
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
