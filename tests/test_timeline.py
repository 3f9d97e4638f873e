"""Dated values: half-open intervals, uncertain starts, territory and specialty tracks."""

from datetime import date
from decimal import Decimal

from convmed.timeline import Timeline, overlaps

D = date.fromisoformat


def tl(*entries):
    return Timeline.from_values(list(entries))


def test_half_open_intervals():
    t = tl({"from": "2017-01-01", "value": "3.00"}, {"from": "2017-07-01", "value": "5.00"})
    assert t.resolve(D("2016-12-31")).entry is None
    assert t.resolve(D("2017-06-30")).entry.value == Decimal("3.00")
    r = t.resolve(D("2017-07-01"))
    assert r.entry.value == Decimal("5.00") and r.until is None
    assert t.resolve(D("2017-01-01")).until == D("2017-07-01")


def test_uncertain_start_gives_both_candidates_inside_its_window():
    t = tl({"from": "2017-05-01", "value": "2.00"},
           {"from": {"not_before": "2024-06-22", "in_force_by": "2024-12-22", "note": "n"}, "abolished": True})
    assert t.resolve(D("2024-06-21")).entry.value == Decimal("2.00")
    r = t.resolve(D("2024-09-01"))
    assert r.uncertain and r.previous.value == Decimal("2.00") and r.entry.is_abolished
    r = t.resolve(D("2024-12-22"))
    assert not r.uncertain and r.entry.is_abolished and not r.in_force


def test_open_start_is_uncertain_until_in_force_by():
    t = tl({"from": {"in_force_by": "2017-04-30", "note": "n"}, "value": "23.00"})
    assert t.resolve(D("2017-04-29")).uncertain
    assert not t.resolve(D("2017-04-30")).uncertain


def test_specific_entry_replaces_general_one_on_the_same_day():
    t = tl({"from": "2024-12-22", "gap": {"note": "n", "points_to": "p"}},
           {"from": "2024-12-22", "value": "35.00", "specialties": ["gynecologie_medicale"]},
           {"from": "2026-01-01", "value": "0.80", "territories": ["reunion"]})
    assert t.resolve(D("2025-01-01"), "metropole", "gynecologie_medicale").entry.value == Decimal("35.00")
    assert t.resolve(D("2025-01-01"), "metropole", "rhumatologie").entry.is_gap
    assert t.resolve(D("2026-02-01"), "reunion", None).entry.value == Decimal("0.80")
    assert t.resolve(D("2026-02-01"), "metropole", None).entry.is_gap


def test_overlaps_detected():
    t = tl({"from": "2017-07-01", "value": "3.00"}, {"from": "2017-07-01", "value": "5.00"})
    assert overlaps(t.entries)
    t = tl({"from": {"not_before": None, "in_force_by": None, "note": "n"}, "value": "1.00"},
           {"from": "2020-01-01", "value": "2.00"})
    assert overlaps(t.entries)
    t = tl({"from": "2017-01-01", "value": "3.00"}, {"from": "2017-07-01", "value": "5.00"})
    assert not overlaps(t.entries)
