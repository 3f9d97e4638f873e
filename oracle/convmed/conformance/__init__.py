"""The conformance kit: vectors, self-check, harness protocol, runner, reports, fuzzing.

A vendor's billing engine talks to the runner through an *adapter* (a small program
speaking JSON lines on stdin/stdout, an HTTP endpoint, or a Python callable). The runner
sends each vector's input, compares the answer to the vector's expected projection and
writes reports that name the failing rules with the convention's text behind them.

Modules:
- `vectors`  : loading, validation and filtering of the vector files of one suite version;
- `compare`  : the partial-projection comparison (`expected` ⊆ actual);
- `oracles`  : the reference oracle per case kind (claim → pricing, forfait → forfaits);
- `protocol` : harness messages and the three adapter transports;
- `runner`   : workers, timeouts, restarts, filters;
- `reports`  : JUnit XML, JSON Lines, Markdown, badge JSON (written incrementally);
- `lint`     : the suite's self-check;
- `fuzz`     : differential fuzzing with Hypothesis;
- `pytest_plugin` : one pytest test per vector (`pytest --convmed-adapter CMD`).
"""

PROTOCOL_VERSION = 1
