"""The reference oracle as an in-process conformance target (`--python _inproc:oracle`): the floor of
benchmark c (same cases, same harness, no adapter process, no JSON lines)."""

from convmed.conformance.oracles import evaluate


def oracle(case):
    return evaluate(case["kind"], case["input"])
