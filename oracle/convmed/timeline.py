"""Dated values: which entry of a concept applies on a date, in a territory.

Entries are half-open intervals [from, next from). An entry whose start the seeds
do not give has an uncertain start bounded by `not_before` and `in_force_by`: on a
date inside that window the answer is DATE_UNCERTAIN (two candidates), never a guess.

Territorial scope (spec/SEMANTIQUE.md, § Valeur datée): an entry without `territories` is the
métropole value; in another territory only the entries restricted to it apply, unless the
concept is `national` (`territorial_scope: national`, the sources or their reading say the value
applies everywhere), in which case the general entries apply there too.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from datetime import date
from decimal import Decimal

from convmed.money import parse_decimal

_MIN = date.min
_MAX = date.max


@dataclass(frozen=True)
class Entry:
    index: int               # position in the file's `values` list
    lo: date                 # earliest possible start
    hi: date                 # the entry certainly applies from this day on
    raw: dict
    value: Decimal | None    # None for a gap or an abolition
    territories: tuple[str, ...] | None
    specialties: tuple[str, ...] | None

    @cached_property   # the entry is immutable: computed once, then read from the instance
    def is_gap(self) -> bool:
        return "gap" in self.raw

    @cached_property
    def is_abolished(self) -> bool:
        return bool(self.raw.get("abolished"))

    @property
    def uncertain(self) -> bool:
        return self.lo != self.hi

    def applies_to(self, territory: str, specialty: str | None = None) -> bool:
        return ((self.territories is None or territory in self.territories)
                and (self.specialties is None or specialty in self.specialties))

    @property
    def specific(self) -> bool:
        return self.territories is not None or self.specialties is not None

    @cached_property
    def key(self) -> str:
        """The entry's stable id, cited as `<concept>#values/<key>` (spec/SEMANTIQUE.md § 7.1): its explicit `id`,
        else its start (`2024-12-22`; an uncertain start `2024-12-22..2025-07-01`, an open bound left empty),
        followed by `@<territories>` and `+<specialties>` when the entry is restricted to some. Unique within a
        concept (`spec check`); it does not move when an entry is inserted before it."""
        return value_key(self.raw)

    def start_text(self) -> str:
        text = self.__dict__.get("_start_text")  # memo (the entry is immutable; not a dataclass field)
        if text is None:
            if not self.uncertain:
                text = self.lo.isoformat()
            else:
                lo = "?" if self.lo == _MIN else self.lo.isoformat()
                hi = "?" if self.hi == _MAX else self.hi.isoformat()
                text = f"entre {lo} et {hi}"
            self.__dict__["_start_text"] = text
        return text


def value_key(raw: dict) -> str:
    """The stable id of a `values` entry (Entry.key), computed from its raw YAML."""
    if raw.get("id"):
        return str(raw["id"])
    start = raw.get("from")
    if isinstance(start, dict):
        key = f"{start.get('not_before') or ''}..{start.get('in_force_by') or ''}"
    else:
        key = str(start)
    if raw.get("territories"):
        key += "@" + ",".join(raw["territories"])
    if raw.get("specialties"):
        key += "+" + ",".join(raw["specialties"])
    return key


def item_window(item: dict) -> tuple[date | None, Entry | None]:
    """The dated validity of a requirement, base, non-cumul, limit or association rule (spec/SEMANTIQUE.md
    § 1.4): its exclusive `until` and its start read as an entry (certain or uncertain)."""
    until, start = item.get("until"), item.get("from")
    return (date.fromisoformat(str(until)) if until else None,
            None if start is None else parse_entry(0, {"from": start, "gap": {}}))


def validity(window: tuple[date | None, Entry | None], on: date) -> str:
    """'in' / 'out' / 'uncertain' on `on` for an item's window (SEMANTIQUE.md § 1.4): out from `until` on and
    before `not_before` (or `from`); uncertain from `not_before` up to the day before `in_force_by`; else in.
    One definition, read by the pricer and by the forfait engine."""
    until, start = window
    if until is not None and on >= until:
        return "out"
    if start is None:
        return "in"
    if on < start.lo:
        return "out"
    return "in" if on >= start.hi else "uncertain"


def parse_entry(index: int, raw: dict) -> Entry:
    start = raw["from"]
    if isinstance(start, str):
        lo = hi = date.fromisoformat(start)
    else:
        lo = date.fromisoformat(start["not_before"]) if start.get("not_before") else _MIN
        hi = date.fromisoformat(start["in_force_by"]) if start.get("in_force_by") else _MAX
    # the bounds of spec/common.schema.json `decimal` (a spec read without `spec check`, in a modified checkout,
    # must not price -30 € or fail on a 60-digit number): ValueError, located by the caller
    value = parse_decimal(raw["value"], max_int_digits=12, max_decimals=8) if "value" in raw else None
    if value is not None and value < 0:
        raise ValueError(f"{raw['value']} : valeur négative refusée (un tarif, un taux ou une part est positif ou nul)")
    terr = tuple(raw["territories"]) if raw.get("territories") else None
    spec = tuple(raw["specialties"]) if raw.get("specialties") else None
    return Entry(index, lo, hi, raw, value, terr, spec)


@dataclass(frozen=True)
class Resolution:
    """What a timeline says on a date: one entry, nothing yet, or an uncertain pair."""

    entry: Entry | None            # the entry in force (certain), or the newer candidate
    previous: Entry | None = None  # with an uncertain start: the entry that may still apply
    uncertain: bool = False
    until: date | None = None      # exclusive end of `entry`, when a later entry is known

    @property
    def in_force(self) -> bool:
        return self.entry is not None and not self.entry.is_abolished and not self.uncertain


_NOTHING = Resolution(None)


class Timeline:
    def __init__(self, entries: list[Entry], national: bool = False):
        self.entries = entries
        self.national = national   # general entries apply in every territory (else: in métropole only)
        # entries never change: one track per (territory, specialty), and its resolutions (Timeline._resolutions)
        self._tracks: dict[tuple, tuple[Entry, ...]] = {}
        self._resolved: dict[tuple, tuple] = {}
        # a territory or a specialty chooses among the entries only when an entry is restricted to some
        self._by_territory = any(e.territories is not None for e in entries)
        self._by_specialty = any(e.specialties is not None for e in entries)

    @classmethod
    def from_values(cls, values: list[dict], national: bool = False) -> "Timeline":
        return cls([parse_entry(i, v) for i, v in enumerate(values)], national)

    def track(self, territory: str, specialty: str | None = None) -> tuple[Entry, ...]:
        """The entries that apply to one territory and specialty, in order.

        An entry restricted to territories or specialties replaces a general entry that
        starts on the same day (e.g. a DROM value beside the métropole amount). Outside the
        métropole, a general entry applies only when the timeline is national.
        """
        general = territory == "metropole" or self.national
        key = (territory if (self._by_territory or not general) else None,
               specialty if self._by_specialty else None)
        cached = self._tracks.get(key)
        if cached is not None:
            return cached
        chosen: dict[tuple, Entry] = {}
        for e in self.entries:
            if not e.applies_to(territory, specialty) or (e.territories is None and not general):
                continue
            start = (e.lo, e.hi)
            if start not in chosen or e.specific:
                chosen[start] = e
        track = tuple(sorted(chosen.values(), key=lambda e: (e.lo, e.hi)))
        if len(self._tracks) >= 1024:
            self._tracks.clear()
        self._tracks[key] = track
        return track

    def resolve(self, on: date, territory: str = "metropole", specialty: str | None = None) -> Resolution:
        """What the timeline says on `on`: the last entry of the track starting on or before `on` (by its
        earliest start), uncertain while `on` is before the day it certainly applies from."""
        general = territory == "metropole" or self.national
        los, track, certain, uncertain = self._resolutions(
            territory if (self._by_territory or not general) else None, specialty if self._by_specialty else None)
        i = bisect_right(los, on) - 1
        if i < 0:
            return _NOTHING
        return certain[i] if track[i].hi <= on else uncertain[i]

    def _resolutions(self, territory: str | None, specialty: str | None) -> tuple:
        """Per track: the entries' earliest starts and, per entry, its certain and its uncertain Resolution
        (immutable, shared by every caller). `territory` and `specialty` are None when no entry is restricted
        to some (`resolve`)."""
        key = (territory, specialty)
        found = self._resolved.get(key)
        if found is None:
            track = self.track(territory or "metropole", specialty)
            certain, uncertain = [], []
            for i, e in enumerate(track):
                until = track[i + 1].lo if i + 1 < len(track) else None
                certain.append(Resolution(e, until=until))
                uncertain.append(Resolution(e, previous=track[i - 1] if i > 0 else None, uncertain=True, until=until))
            found = ([e.lo for e in track], track, certain, uncertain)
            if len(self._resolved) >= 1024:
                self._resolved.clear()
            self._resolved[key] = found
        return found

    def change_dates(self) -> list[date]:
        """Every date on which a value of this timeline certainly starts."""
        return sorted({e.lo for e in self.entries if not e.uncertain})


def overlaps(entries: list[Entry]) -> list[tuple[Entry, Entry, str]]:
    """Pairs of consecutive entries (one territory) that are not strictly ordered."""
    problems = []
    for a, b in zip(entries, entries[1:]):
        if a.lo == _MIN and a.hi == _MAX:
            problems.append((a, b, "an entry with a fully unknown start must be the last one"))
        elif not a.hi <= b.lo or (a.lo, a.hi) == (b.lo, b.hi):
            problems.append((a, b, f"starts out of order or overlapping ({a.start_text()} then {b.start_text()})"))
    return problems
