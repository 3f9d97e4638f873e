"""Batch engine: price millions of claims (and FMT patientèles) with the same spec, columnar.

Design (see `signature.py`): every claim is reduced to a *canonical signature*, the facts the
spec's conditions can read, with the date reduced to the interval between the effective dates
that occur in the spec, the age to the interval between the age bounds used by the conditions,
the time to the hour, identifiers to their presence. Claims with the same signature have the
same result; each distinct signature is priced once by the scalar oracle
(`convmed.pricing.price_claim`) and the result is joined back. Claims the signature cannot
capture (a history where some code counts acts against a limit, explicit nulls, mixed JSON types)
go through the scalar path one by one; a history the prices cannot read (no code of the claim has a
limit) is checked on the columns and left out of the signature. The set of facts and bounds is derived from the spec, never written by hand.
"""
