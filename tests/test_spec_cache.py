"""The parsed-spec cache (issue 19): data only, authenticated, refused when unsafe — what `price` reads is what
`spec check` checked. A crafted or tampered cache can neither run code nor change a tariff."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from convmed.model import load_spec_uncached
from convmed.pricing import price_claim

CLAIM = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}]}


@pytest.fixture
def setup(tmp_path, monkeypatch, repo):
    monkeypatch.setenv("CONVMED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CONVMED_NO_CACHE", raising=False)
    root = tmp_path / "spec"
    shutil.copytree(repo / "spec", root)
    assert price_claim(CLAIM, load_spec_uncached(root))["total"] == "30.00"   # writes the cache
    [cache] = (tmp_path / "cache").glob("spec-*.json")
    return root, cache


def _poison(cache, value="999.00", redigest=False, keyed=False):
    """Rewrite G's cached value to `value`; with `redigest`, recompute the document's digest without the key (what an
    attacker who cannot read the key can do at best)."""
    import hashlib

    head, _, body = cache.read_bytes().partition(b"\n")
    entries = json.loads(body)
    g = next(k for k in entries if k.endswith("G.yaml"))
    for entry in entries[g]["data"]["values"]:
        if entry.get("value") == "30.00":
            entry["value"] = value
    body = json.dumps(entries).encode()
    header = json.loads(head)
    if redigest:
        header["digest"] = hashlib.blake2b(body, digest_size=32).hexdigest()
    if keyed:   # with the user's own key: what only the user (or a bug) could write
        header["digest"] = hashlib.blake2b(body, key=(cache.parent / "key").read_bytes(), digest_size=32).hexdigest()
    cache.write_bytes(json.dumps(header).encode() + b"\n" + body)


@pytest.mark.parametrize("redigest", [False, True])
def test_a_tampered_cache_does_not_change_a_tariff(setup, redigest):
    root, cache = setup
    _poison(cache, redigest=redigest)
    assert price_claim(CLAIM, load_spec_uncached(root))["total"] == "30.00"   # refused, the files read


def test_the_cache_is_data_only_a_pickle_payload_runs_nothing(setup, tmp_path):
    import pickle

    root, cache = setup
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    cache.write_bytes(pickle.dumps(Evil()))
    assert price_claim(CLAIM, load_spec_uncached(root))["total"] == "30.00"
    assert not marker.exists()


@pytest.mark.parametrize("where", ["file", "folder", "key"])
def test_a_cache_others_can_write_is_refused_and_never_written(setup, where):
    root, cache = setup
    _poison(cache)
    # even a cache whose digest verifies is refused when others can write it; here it would serve 999.00 if used
    target = {"file": cache, "folder": cache.parent, "key": cache.parent / "key"}[where]
    os.chmod(target, 0o777 if where == "folder" else 0o666)
    assert price_claim(CLAIM, load_spec_uncached(root))["total"] == "30.00"


def test_a_symlinked_cache_is_refused(setup, tmp_path):
    root, cache = setup
    elsewhere = tmp_path / "elsewhere.json"
    cache.rename(elsewhere)
    cache.symlink_to(elsewhere)
    _poison(elsewhere)
    assert price_claim(CLAIM, load_spec_uncached(root))["total"] == "30.00"


def test_spec_check_rewrites_the_cache_from_what_it_checked(setup, seeds):
    """Even a cache that verifies (written with the user's key) but disagrees with the files is replaced by what
    `spec check` parsed: after a check, `price` reads what was checked."""
    root, cache = setup
    _poison(cache, keyed=True)
    assert price_claim(CLAIM, load_spec_uncached(root))["total"] == "999.00"   # the keyed forgery is used...
    env = {**os.environ, "CONVMED_CACHE_DIR": str(cache.parent), "CONVMED_SOURCES": str(seeds)}
    proc = subprocess.run([sys.executable, "-m", "convmed", "spec", "check", "--spec", str(root)], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert price_claim(CLAIM, load_spec_uncached(root))["total"] == "30.00"     # ...until spec check rewrites it
