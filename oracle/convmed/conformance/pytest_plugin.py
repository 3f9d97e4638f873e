"""pytest plugin: one test per conformance vector.

    pytest --convmed-adapter "node adapter.js"            # JSON-lines adapter
    pytest --convmed-url http://localhost:8080/convmed    # HTTP mode
    pytest --convmed-python mymodule:price                # in-process callable
    options: --convmed-suite DIR, --convmed-level required, --convmed-family F, --convmed-timeout S

Registered through the `pytest11` entry point; inactive unless one of the first three
options is given. Each test is named `convmed-conformance::<case id>`; a failure shows
the differences, the rule ids and the seed quotes behind the vector.
"""

from __future__ import annotations

import itertools
import time

import pytest

_ADAPTER_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("convmed", "suite de conformité convmed")
    group.addoption("--convmed-adapter", metavar="COMMANDE", help="adaptateur (lignes JSON sur stdin/stdout)")
    group.addoption("--convmed-url", metavar="URL", help="adaptateur HTTP (chaque message en POST)")
    group.addoption("--convmed-python", metavar="MODULE:FONCTION", help="fonction Python appelée dans le processus")
    group.addoption("--convmed-suite", metavar="DOSSIER", help="version de la suite (défaut : la plus récente)")
    group.addoption("--convmed-level", choices=["required", "optional"], help="ne garder que ce niveau")
    group.addoption("--convmed-family", action="append", default=[], help="famille de règles (répétable)")
    group.addoption("--convmed-timeout", type=float, default=10.0, help="délai par cas en secondes")


def _enabled(config) -> bool:
    return any(config.getoption(o) for o in ("convmed_adapter", "convmed_url", "convmed_python"))


def pytest_configure(config):
    config.addinivalue_line("markers", "convmed_required: vecteur de conformité de niveau required")
    config.addinivalue_line("markers", "convmed_optional: vecteur de conformité de niveau optional")


class ConformanceFailure(Exception):
    def __init__(self, outcome):
        super().__init__(outcome.id)
        self.outcome = outcome


class ConvmedSuite(pytest.Collector):
    def __init__(self, *, suite, cases, **kw):
        super().__init__(**kw)
        self.suite, self.cases = suite, cases

    def collect(self):
        for case in self.cases:
            item = ConvmedCase.from_parent(self, name=case.id, case=case)
            item.add_marker(getattr(pytest.mark, f"convmed_{case.level}"))
            yield item


class ConvmedCase(pytest.Item):
    def __init__(self, *, case, **kw):
        super().__init__(**kw)
        self.case = case

    def _adapter(self):
        from convmed.conformance.protocol import AdapterStartError, make_adapter, start_message

        state = self.config.stash.setdefault(_ADAPTER_KEY, {})
        if "adapter" not in state:
            opt = self.config.getoption
            adapter = make_adapter(command=opt("convmed_adapter"), url=opt("convmed_url"), python=opt("convmed_python"))
            suite = self.parent.suite
            try:
                adapter.start(start_message(suite.suite_version, suite.spec_version))
            except AdapterStartError as exc:
                state["adapter"], state["error"] = None, str(exc)
            else:
                state["adapter"], state["seq"] = adapter, itertools.count(1)
        if state["adapter"] is None:
            pytest.fail(f"l'adaptateur ne démarre pas : {state['error']}", pytrace=False)
        return state

    def runtest(self):
        from convmed.conformance.protocol import AdapterStartError, Response
        from convmed.conformance.runner import judge

        state = self._adapter()
        t0 = time.monotonic()
        try:
            response = state["adapter"].run(next(state["seq"]), self.case.wire(), self.config.getoption("convmed_timeout"))
        except AdapterStartError as exc:
            response = Response("errored", reason=f"redémarrage de l'adaptateur impossible : {exc}")
        outcome = judge(self.case, response, time.monotonic() - t0)
        if outcome.status == "skipped":
            pytest.skip(outcome.message)
        if outcome.status != "passed":
            raise ConformanceFailure(outcome)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ConformanceFailure):
            o = excinfo.value.outcome
            head = "ERREUR (adaptateur)" if o.status == "errored" else "ÉCHEC"
            return f"{head} {o.id} [{o.level}]\n{o.explanation()}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.case.file, self.case.line, f"{self.case.family} : {self.case.id}"


def pytest_collection_modifyitems(session, config, items):
    if not _enabled(config):
        return
    from pathlib import Path

    from convmed.conformance.vectors import Filters, load_suite

    from convmed.errors import ConvmedError

    root = config.getoption("convmed_suite")
    try:
        suite, _ = load_suite(Path(root) if root else None)
        filters = Filters(families=config.getoption("convmed_family"), level=config.getoption("convmed_level"))
        cases = filters.select(suite)
    except ConvmedError as exc:
        raise pytest.UsageError(f"suite de conformité convmed invalide :\n{exc}") from None
    node = ConvmedSuite.from_parent(session, name="convmed-conformance", nodeid="convmed-conformance",
                                    suite=suite, cases=cases)
    items.extend(node.collect())


def pytest_unconfigure(config):
    state = config.stash.get(_ADAPTER_KEY, None)
    if state and state.get("adapter") is not None:
        state["adapter"].close()
