"""Batch engine: price millions of claims (and FMT patientèles) with the same spec, columnar.

Design (see `signature.py`): every claim is reduced to a *canonical signature*, the facts the
spec's conditions can read, with the date reduced to the interval between the effective dates
that occur in the spec, the age to the interval between the age bounds used by the conditions,
the time to the hour, identifiers to their presence. Claims with the same signature have the
same result; each distinct signature is priced once by the scalar oracle
(`convmed.pricing.price_claim`) and the result is joined back. Claims the signature cannot
capture (history for frequency limits, explicit nulls, mixed JSON types) go through the scalar
path one by one. The set of facts and bounds is derived from the spec, never written by hand.
"""
