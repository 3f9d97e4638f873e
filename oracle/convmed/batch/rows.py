"""Rows of a batch chunk back to claims: a frame's rows as dicts (`records`), a flat row of dotted columns back
to the nested claim (`nest`, with `compact` for the arrays read back from polars)."""

from __future__ import annotations

import json

import polars as pl

from convmed.batch.signature import Leaf


def records(frame: pl.DataFrame) -> list[dict]:
    """The rows of `frame` as dicts of their non-null values (a reader's `claim_of` reads a null and an absent
    value alike), built column by column: `iter_rows(named=True)` makes a dict of every column for every row,
    3-4 times slower on a chunk's 70 mostly empty columns. One query for the null counts; a column's values by
    `to_list` (each Series method is a polars query of its own: ~0.1 ms on a frame of a few rows)."""
    recs: list[dict] = [{} for _ in range(frame.height)]
    for column, nulls in zip(frame.get_columns(), frame.null_count().row(0)):
        if nulls == frame.height:
            continue
        name = column.name
        if nulls == 0:
            for rec, value in zip(recs, column.to_list()):
                rec[name] = value
        else:
            for rec, value in zip(recs, column.to_list()):
                if value is not None:
                    rec[name] = value
    return recs


def compact(value):
    """Drop None values and empty objects, recursively (a polars row back to the claim's JSON)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            if isinstance(v, (dict, list)):   # scalars as they are: no call per value
                v = compact(v)
                if isinstance(v, dict) and not v:
                    continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [compact(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def nest(rec: dict, leaves: list[Leaf], arrays: list[str]) -> dict:
    """A flat row (dotted columns) back to a nested claim dict."""
    claim: dict = {}
    get = rec.get
    for leaf in leaves:
        value = get(leaf.name)
        if value is None:
            continue
        path = leaf.path
        if len(path) == 1:
            claim[path[0]] = value
            continue
        node = claim
        for part in path[:-1]:
            node = node.get(part) or node.setdefault(part, {})
        node[path[-1]] = value
    for name in arrays:
        value = rec.get(name)
        if isinstance(value, str):
            value = json.loads(value)
        if value is not None:
            claim[name] = compact(value)
    return claim
