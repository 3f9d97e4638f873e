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


# -- resolve against its definition, on every timeline of the spec -------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from convmed.model import load_spec  # noqa: E402

_SPEC = load_spec()
_TIMELINES = sorted((c.id, c.timeline) for c in _SPEC.concepts.values() if c.data.get("values"))
_TERRITORIES = ["metropole", "guadeloupe", "martinique", "guyane", "reunion", "mayotte"]
_SPECIALTIES = sorted({s for _, t in _TIMELINES for e in t.entries for s in (e.specialties or ())}) + [
    "medecine_generale", None]


def _by_definition(entries, on, territory, specialty, national):
    """The entries applying to (territory, specialty) — a general entry (no territories) applies in the métropole,
    elsewhere only if the timeline is national (SEMANTIQUE § 3.7 b) —, a restricted one replacing a general one with
    the same start; the last whose earliest start is on or before `on`; uncertain before its certain start."""
    chosen = {}
    for e in entries:
        general_applies = territory == "metropole" or national
        if ((e.territories is None and general_applies) or (e.territories is not None and territory in e.territories)) and \
                (e.specialties is None or specialty in e.specialties):
            if (e.lo, e.hi) not in chosen or e.territories is not None or e.specialties is not None:
                chosen[(e.lo, e.hi)] = e
    track = sorted(chosen.values(), key=lambda e: (e.lo, e.hi))
    started = [i for i, e in enumerate(track) if e.lo <= on]
    if not started:
        return None, None, False, None
    i = started[-1]
    until = track[i + 1].lo if i + 1 < len(track) else None
    if track[i].hi <= on:
        return track[i], None, False, until
    return track[i], track[i - 1] if i > 0 else None, True, until


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_resolve_agrees_with_its_definition_on_every_timeline_of_the_spec(data):
    """The timelines are shared and their tracks memoised per (territory, specialty) when an entry is restricted
    to some: asked in any order, on any day, a resolution is the one the definition gives."""
    for _ in range(20):
        concept_id, timeline = data.draw(st.sampled_from(_TIMELINES))
        on = data.draw(st.dates(date(2015, 1, 1), date(2031, 12, 31)))
        territory = data.draw(st.sampled_from(_TERRITORIES))
        specialty = data.draw(st.sampled_from(_SPECIALTIES))
        r = timeline.resolve(on, territory, specialty)
        assert (r.entry, r.previous, r.uncertain, r.until) == _by_definition(timeline.entries, on, territory,
                                                                            specialty, timeline.national), concept_id
