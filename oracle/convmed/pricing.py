"""The per-encounter oracle: price each billed line of a claim, with its trace.

Pure: `price_claim(claim, spec)` takes a schema-valid claim (a dict) and returns the
result dict (schemas/result.schema.json). Reading files and validating input happen
at the edges (`convmed.io_claims`, the CLI).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from convmed import __version__
from convmed.conditions import compiled, describe, evaluate
from convmed.facts import Facts, MissingFact, history_fact
from convmed.model import Concept, Spec
from convmed.money import fmt, parse_decimal, round_to
from convmed.timeline import Entry, parse_entry

_STATUS_FR = {"signed": "signé", "draft": "projet", "convention_2016": "convention 2016",
              "proposal": "proposition", "derived": "dérivé"}


class _Refused(Exception):
    def __init__(self, status: str, reason: str, message: str, instead: str | None = None):
        super().__init__(reason)
        self.status, self.reason, self.message, self.instead = status, reason, message, instead


def _sources(raw: dict) -> list[dict]:
    return [{k: s[k] for k in ("seed", "path", "quote")} for s in raw.get("sources", [])]


def _value_step(concept: Concept, entry: Entry, until: date | None, sources: list[dict]) -> dict:
    raw = entry.raw
    step = {"step": "value", "rule": f"{concept.id}#values/{entry.index}", "outcome": "pass",
            "from": entry.start_text(), "sources": sources}
    if until:
        step["until"] = until.isoformat()
    if entry.value is not None:
        status = raw["status"]
        step.update(value=fmt(entry.value), status=status,
                    detail=f"{concept.data['code']} vaut {fmt(entry.value)} {concept.data['unit']} "
                           f"à partir du {entry.start_text()} ({_STATUS_FR[status]})")
        if status == "derived":
            step["detail"] += f" ; dérivation : {raw['derivation']['formula']}"
        if "conflict" in raw:
            c = raw["conflict"]
            step["detail"] += f" ; conflit {c['id']} : {c['resolution']}"
    return step


def _validity(window: tuple[date | None, Entry | None], on: date) -> str:
    until, start = window
    if until is not None and on >= until:
        return "out"
    if start is None:
        return "in"
    if on < start.lo:
        return "out"
    return "in" if on >= start.hi else "uncertain"


class Pricer:
    def __init__(self, spec: Spec, overlays: list | None = None):
        self.spec = spec
        self.overlays = list(overlays or [])  # convmed.overlay.Overlay, loaded only when asked
        self._spec_version = spec.version
        self._categories = {code: c.data["category"] for code, c in spec.acts_by_code.items()}
        self.facts_vocabulary = spec.vocabulary("facts")
        self._roundings: dict[str, Concept] = {}  # applies_to -> rounding rule (the first, as Spec.rounding)
        for c in spec.of_kind("rounding"):
            self._roundings.setdefault(c.data.get("applies_to"), c)
        line_rounding = self._roundings.get("line_amount")
        self.rounding = line_rounding.data if line_rounding else None
        self.rounding_id = line_rounding.id if line_rounding else None
        self._association_rules = spec.of_kind("association")
        # per-spec memos of pure functions of spec items (keyed by id: the pricer keeps the spec alive);
        # the lists and strings they return are shared by every result: read them, do not mutate them
        self._memo_sources: dict[int, list[dict]] = {}
        self._memo_described: dict[int, str] = {}
        self._memo_windows: dict[int, tuple[date | None, Entry | None]] = {}
        self._memo_applicable: dict[tuple[int, str], list[tuple[Concept, dict]]] = {}
        self._requirement_plans: dict[int, list[tuple]] = {}
        self._memo_value_steps: dict[tuple, dict] = {}

    def _round_by(self, applies_to: str, amount: Decimal, code: str) -> tuple[Decimal, Concept]:
        """`amount` rounded by the spec's rounding rule for `applies_to`; without that rule, a gap."""
        rounding = self._roundings.get(applies_to)
        if rounding is None:
            raise _Refused("unknown", "VALUE_GAP", f"{code} : aucune règle d'arrondi du plafond ({applies_to}).")
        r = rounding.data
        return round_to(amount, parse_decimal(r["quantum"]), r["mode"]), rounding

    def _src(self, raw: dict) -> list[dict]:
        found = self._memo_sources.get(id(raw))
        if found is None:
            found = self._memo_sources[id(raw)] = _sources(raw)
        return found

    def _describe(self, condition: dict) -> str:
        found = self._memo_described.get(id(condition))
        if found is None:
            found = self._memo_described[id(condition)] = describe(condition)
        return found

    def _value_step(self, concept: Concept, entry: Entry, until: date | None) -> dict:
        """The trace step of a dated value (a copy of a memo: the step depends on the entry and its end only)."""
        key = (id(entry), until)
        found = self._memo_value_steps.get(key)
        if found is None:
            found = self._memo_value_steps[key] = _value_step(concept, entry, until, self._src(entry.raw))
        return dict(found)

    def _lookup_detail(self, concept: Concept) -> str:
        found = self._memo_described.get(id(concept))
        if found is None:
            found = self._memo_described[id(concept)] = f"{concept.data['code']} : {concept.data['label']}"
        return found

    def _window(self, item: dict) -> tuple[date | None, Entry | None]:
        """An item's (requirement, limit, rule) optional `until` as a date and `from` as an entry (memoised)."""
        found = self._memo_windows.get(id(item))
        if found is None:
            until, start = item.get("until"), item.get("from")
            found = self._memo_windows[id(item)] = (
                date.fromisoformat(until) if until else None,
                None if start is None else parse_entry(0, {"from": start, "gap": {}}))
        return found

    def _valid(self, item: dict, on: date) -> str:
        """'in' / 'out' / 'uncertain' on `on` for an item (requirement, limit, rule) with optional from / until;
        an uncertain `from` ({not_before, in_force_by}) is 'uncertain' between its bounds."""
        return _validity(self._window(item), on)

    def price(self, claim: dict) -> dict:
        on = date.fromisoformat(claim["date"])
        territory = claim.get("territory", "metropole")
        lines = []
        accepted: list[str] = []   # codes of the earlier lines of this claim not refused (they count for limits)
        total = Decimal("0")
        complete = True
        self._results = lines  # earlier lines' results (base act of a percent_cap / declared line)
        self._on, self._territory = on, territory
        self._external: dict[int, Decimal] = {}  # lines priced from an external base tariff (CCAM acts)
        self._overlays_used: list[str] = []
        specialty = claim["doctor"].get("specialty")
        for index, line in enumerate(claim["lines"]):
            result = self._line(claim, index, line, on, territory, specialty, accepted)
            lines.append(result)
            status = result["status"]
            if status == "priced":
                total += parse_decimal(result["amount"])
            if status != "refused":
                accepted.append(line["code"])
            if status == "unknown":
                complete = False
        total, complete = self._associations(claim, on, lines, total, complete)
        out = {"claim_id": claim["id"]} if "id" in claim else {}
        out.update(convmed={"oracle_version": __version__, "spec_version": self._spec_version},
                   date=claim["date"], territory=territory, lines=lines, total=fmt(total), complete=complete)
        if self._overlays_used:
            out["convmed"]["overlays"] = self._overlays_used
        return out

    # ------------------------------------------------------------------ one line
    def _line(self, claim: dict, index: int, line: dict, on: date, territory: str, specialty: str | None,
              accepted: list[str]) -> dict:
        code = line["code"]
        trace: list[dict] = []
        out = {"index": index, "code": code}
        try:
            concept = self.spec.acts_by_code.get(code)
            self._index = index
            if concept is None and (base := self._external_base(code, line, trace)) is not None:
                self._external[index] = base  # acte CCAM : tarif de base hors sources (surcouche ou ligne)
                out.update(status="priced", amount=fmt(base), unit_value=fmt(base), trace=trace)
                return out
            if concept is None:
                known = next((i for i in (self.spec.concepts["coverage"].data["index"] if "coverage" in self.spec.concepts
                                          else []) if i["name"] == code and "gap" in i), None)
                raise _Refused("refused", "UNKNOWN_CODE",
                               f"Le code {code} n'existe pas dans le spec convmed {self.spec.version}"
                               + (f" : code nommé par les sources mais non encodé — {known['gap']}" if known else "")
                               + " (un acte CCAM se tarife avec son tarif de base : line.base_amount ou --overlay).")
            out["concept"] = concept.id
            trace.append({"step": "lookup", "rule": concept.id, "outcome": "pass", "detail": self._lookup_detail(concept)})
            resolution = concept.timeline.resolve(on, territory, specialty)
            self._check_in_force(concept, resolution, on, territory, specialty, trace)
            facts = Facts(claim, index, self.facts_vocabulary, on)
            facts.categories = self._categories  # encounter.has_consultation_or_visit, encounter.has_visit
            uncertain_rules = self._requirements(concept, facts, on, trace)
            self._limits(concept, claim, facts, on, accepted, trace)
            amount, unit_value = self._amount(concept, resolution, line, trace, uncertain_rules)
            unit_text = fmt(unit_value)
            out.update(status="priced", amount=unit_text if amount is unit_value else fmt(amount), unit_value=unit_text)
        except _Refused as r:
            out.update(status=r.status, reason=r.reason, message=r.message)
            if r.instead:
                out["instead"] = r.instead
        out["trace"] = trace
        return out

    def _check_in_force(self, concept, resolution, on, territory, specialty, trace):
        code = concept.data["code"]
        if resolution.entry is None:
            track = concept.timeline.track(territory, specialty)
            if not track:
                detail = (f"les sources ne donnent aucune valeur de {code} pour le territoire {territory} "
                          f"(les tarifs des DROM figurent dans une annexe absente des sources)")
                trace.append({"step": "in_force", "rule": concept.id, "outcome": "unknown", "detail": detail})
                raise _Refused("unknown", "VALUE_GAP", detail[0].upper() + detail[1:] + ".")
            when = f" (première valeur : {track[0].start_text()})"
            trace.append({"step": "in_force", "rule": concept.id, "outcome": "fail",
                          "detail": f"{code} n'est pas en vigueur le {on.isoformat()}{when}"})
            raise _Refused("refused", "NOT_IN_FORCE", f"{code} n'est pas en vigueur le {on.isoformat()}{when}.")
        entry = resolution.entry
        if entry.is_abolished and not resolution.uncertain:
            trace.append({"step": "in_force", "rule": f"{concept.id}#values/{entry.index}", "outcome": "fail",
                          "detail": f"{code} est supprimé depuis le {entry.start_text()}",
                          "from": entry.start_text(), "sources": self._src(entry.raw)})
            raise _Refused("refused", "ABOLISHED", f"{code} est supprimé depuis le {entry.start_text()}.")
        if resolution.uncertain:
            trace.append({"step": "in_force", "rule": concept.id, "outcome": "unknown",
                          "detail": f"{code} : valeur à partir d'une date non donnée par les sources ({entry.start_text()})"})
        else:
            trace.append({"step": "in_force", "rule": concept.id, "outcome": "pass",
                          "detail": f"{code} est en vigueur le {on.isoformat()}"})

    def _applicable(self, concept: Concept, key: str) -> list[tuple[Concept, dict]]:
        """The concept's own items under `key` (requirements, limits), then those of the rules naming its
        code, in that order (memoised per concept: a pure function of the spec)."""
        found = self._memo_applicable.get((id(concept), key))
        if found is None:
            found = [(concept, item) for item in concept.data.get(key, [])]
            for rule in self.spec.rules_by_code.get(concept.data["code"], []):
                found += [(rule, item) for item in rule.data.get(key, [])]
            self._memo_applicable[(id(concept), key)] = found
        return found

    def _requirement_plan(self, concept: Concept) -> list[tuple]:
        """Per requirement of the concept and of the rules naming its code, in order: (the requirement, the
        constant part of its trace step, its validity window, its condition as a function) — built once."""
        found = self._requirement_plans.get(id(concept))
        if found is None:
            found = self._requirement_plans[id(concept)] = [
                (req, {"step": "requirement", "rule": f"{owner.id}#{req['id']}", "outcome": "pass",
                       "detail": f"{req['description']} — {self._describe(req['condition'])}",
                       "status": req["status"], "sources": self._src(req)},
                 self._window(req), compiled(req["condition"]))
                for owner, req in self._applicable(concept, "requirements")]
        return found

    def _requirements(self, concept, facts, on, trace) -> list[str]:
        uncertain = []
        for req, template, window, condition in self._requirement_plan(concept):
            validity = _validity(window, on)
            if validity == "out":
                continue
            rule_id = template["rule"]
            try:
                ok = condition(facts)
            except MissingFact as m:
                trace.append({"step": "requirement", "rule": rule_id, "outcome": "fail",
                              "detail": f"fait manquant : {m.name} (nécessaire à « {req['description']} »)",
                              "sources": self._src(req)})
                raise _Refused("refused", "MISSING_FACT",
                               f"La demande ne renseigne pas {m.name}, nécessaire à la règle « {req['description']} ».")
            step = dict(template)
            if not ok:
                step["outcome"] = "fail"
            if validity == "uncertain":
                step["outcome"] = "unknown" if not ok else "pass"
                step["detail"] += " (date d'effet de la règle non donnée par les sources)"
            trace.append(step)
            if not ok and validity == "uncertain":
                uncertain.append(rule_id)
            elif not ok:
                refusal = req["refusal"]
                raise _Refused("refused", refusal["reason"], refusal["message"], refusal.get("instead"))
        return uncertain

    def _limits(self, concept, claim, facts, on, accepted, trace):
        """`accepted`: codes of the earlier lines of the claim not refused; they count as history entries of
        the claim's own date, patient, doctor, stay and context."""
        limits = self._applicable(concept, "limits")
        if not limits:
            return
        patient = claim.get("patient") or {}
        history = list(claim.get("history", [])) + [
            {"date": claim["date"], "code": code, "patient_id": patient.get("id"), "doctor_id": claim["doctor"].get("id"),
             "stay_id": patient.get("stay_id"), "context": claim.get("context", {})} for code in accepted]
        for owner, limit in limits:
            if self._valid(limit, on) == "out":
                continue
            if "when" in limit and not self._limit_applies(limit, facts, owner, trace):
                continue
            try:
                counted = [h for h in history if h["code"] in limit["count_codes"]
                           and self._same_period(limit, h, claim, on) and self._same_facts(limit, h, facts)]
            except MissingFact as m:
                trace.append({"step": "limit", "rule": f"{owner.id}#{limit['id']}", "outcome": "fail",
                              "detail": f"fait manquant : {m.name} (nécessaire à « {limit['description']} »)",
                              "sources": self._src(limit)})
                raise _Refused("refused", "MISSING_FACT",
                               f"La demande ne renseigne pas {m.name}, nécessaire à la limite « {limit['description']} ».")
            ok = len(counted) < limit["max"]
            trace.append({"step": "limit", "rule": f"{owner.id}#{limit['id']}", "outcome": "pass" if ok else "fail",
                          "detail": f"{limit['description']} — {len(counted)} déjà facturé(s), maximum {limit['max']}",
                          "status": limit["status"], "sources": self._src(limit)})
            if not ok:
                raise _Refused("refused", limit["refusal"]["reason"], limit["refusal"]["message"],
                               limit["refusal"].get("instead"))

    @staticmethod
    def _limit_applies(limit, facts, owner, trace) -> bool:
        """A limit with `when` counts only when its condition holds for this line."""
        try:
            return evaluate(limit["when"], facts)
        except MissingFact as m:
            trace.append({"step": "limit", "rule": f"{owner.id}#{limit['id']}", "outcome": "fail",
                          "detail": f"fait manquant : {m.name} (nécessaire à « {limit['description']} »)",
                          "sources": _sources(limit)})
            raise _Refused("refused", "MISSING_FACT",
                           f"La demande ne renseigne pas {m.name}, nécessaire à la limite « {limit['description']} ».")

    @staticmethod
    def _same_period(limit, h, claim, on) -> bool:
        when = date.fromisoformat(h["date"])
        period = limit["period"]
        if when > on:
            return False
        if period == "calendar_year":
            return when.year == on.year
        if period == "calendar_quarter":
            return (when.year, (when.month - 1) // 3) == (on.year, (on.month - 1) // 3)
        if period == "iso_week":
            return when.isocalendar()[:2] == on.isocalendar()[:2]
        if period == "day":
            return when == on
        if period == "rolling_days":
            return (on - when).days < limit["days"]
        if period == "stay":
            stay = (claim.get("patient") or {}).get("stay_id")
            return stay is not None and h.get("stay_id") == stay
        return True  # ever

    @staticmethod
    def _same_facts(limit, h, facts) -> bool:
        """Does history entry `h` share the limit's `same` facts with the claim?

        The history is the patient's own (claim schema): without a patient id on the claim every
        entry is the patient's. Any other fact the claim lacks raises MissingFact (refused
        MISSING_FACT): the oracle does not guess which acts count.
        """
        for name in limit.get("same", []):
            try:
                mine = facts.get(name)
            except MissingFact:
                if name == "patient.id":
                    continue
                raise
            theirs = history_fact(h, name)
            if theirs is not None and theirs != mine:
                return False
        return True

    def _amount(self, concept, resolution, line, trace, uncertain_rules):
        code = concept.data["code"]
        entry = resolution.entry
        if resolution.uncertain:
            prev = resolution.previous
            before = ("pas en vigueur" if prev is None else
                      "lacune" if prev.is_gap else "supprimé" if prev.is_abolished else fmt(prev.value))
            after = "lacune" if entry.is_gap else "supprimé" if entry.is_abolished else fmt(entry.value)
            note = entry.raw["from"].get("note", "")
            trace.append({"step": "value", "rule": f"{concept.id}#values/{entry.index}", "outcome": "unknown",
                          "from": entry.start_text(), "sources": self._src(entry.raw),
                          "detail": f"date d'effet non donnée : {before} avant, {after} après ; {note}"})
            raise _Refused("unknown", "DATE_UNCERTAIN",
                           f"{code} : les sources ne datent pas le passage de « {before} » à « {after} » "
                           f"({entry.start_text()}). {note}".strip())
        filled = self._fill_gap(concept, entry, line, trace) if entry.is_gap and (
            self.overlays or "base_amount" in line) else None
        if entry.is_gap and filled is None:
            gap = entry.raw["gap"]
            trace.append({"step": "value", "rule": f"{concept.id}#values/{entry.index}", "outcome": "unknown",
                          "from": entry.start_text(), "sources": self._src(entry.raw),
                          "detail": f"lacune : {gap['note']} (voir : {gap['points_to']})"})
            raise _Refused("unknown", "VALUE_GAP",
                           f"{code} : montant non donné par les sources — {gap['note']} (voir : {gap['points_to']}).")
        if filled is None:
            trace.append(self._value_step(concept, entry, resolution.until))
        if uncertain_rules:
            raise _Refused("unknown", "DATE_UNCERTAIN",
                           f"{code} : une règle dont la date d'effet n'est pas donnée pourrait refuser la ligne "
                           f"({', '.join(uncertain_rules)}).")
        unit_value = entry.value if filled is None else filled
        method = concept.data.get("pricing", "fixed")
        if method in ("percent_cap", "declared"):
            return self._depassement(concept, method, unit_value, line, trace), unit_value
        if method == "external_base":
            self._external[self._index] = unit_value
        if method in ("fixed", "external_base"):
            amount = unit_value
        elif method == "percent_of_base":
            amount = self._percent_of_base(concept, unit_value, line, trace)
        else:
            field = "quantity" if method == "per_quantity" else "coefficient"
            if field not in line:
                raise _Refused("refused", "MISSING_QUANTITY", f"{code} se facture avec une quantité ({field}).")
            factor = parse_decimal(line[field])
            amount = unit_value * factor
            trace.append({"step": "amount", "rule": concept.id, "outcome": "info",
                          "detail": f"{fmt(unit_value)} × {line[field]} = {amount}"})
        if self.rounding and amount != amount.quantize(parse_decimal(self.rounding["quantum"])):
            rounded = round_to(amount, parse_decimal(self.rounding["quantum"]), self.rounding["mode"])
            trace.append({"step": "rounding", "rule": self.rounding_id, "outcome": "info",
                          "detail": f"{amount} arrondi à {fmt(rounded)} ({self.rounding['label']})"})
            amount = rounded
        return amount, unit_value


    # ------------------------------------------------------------ dépassements
    def _category(self, result: dict) -> str | None:
        """Act category of an earlier line: its concept's, or acte_technique for a code priced from an
        external base tariff (a CCAM act, `base_amount` or overlay)."""
        if result.get("concept") in self.spec.concepts:
            return self.spec.concepts[result["concept"]].data["category"]
        if result["index"] in getattr(self, "_external", {}):
            return "acte_technique"
        return None

    def _base_line(self, concept, line) -> dict:
        """The earlier priced line a dépassement applies to: `line.base_line`, else the first earlier line
        whose act category is one of the act's `base.categories`."""
        code = concept.data["code"]
        categories = concept.data.get("base", {}).get("categories", [])
        results = getattr(self, "_results", [])
        if "base_line" in line:
            candidates = [r for r in results if r["index"] == line["base_line"]]
        else:
            candidates = [r for r in results if self._category(r) in categories]
        base = candidates[0] if candidates else None
        if base is None or self._category(base) is None:
            raise _Refused("refused", "MISSING_BASE_ACT",
                           f"{code} s'applique à un acte principal facturé avant lui sur la même demande "
                           f"(catégories : {', '.join(categories)}) : aucun n'est trouvé.")
        category = self._category(base)
        if category not in categories:
            raise _Refused("refused", "MISSING_BASE_ACT",
                           f"{code} ne s'applique qu'à un acte principal ({', '.join(categories)}) ; "
                           f"la ligne {base['index']} ({base['code']}) est de catégorie {category}.")
        if base["status"] == "unknown":
            raise _Refused("unknown", base["reason"],
                           f"{code} : le montant de l'acte de base {base['code']} n'est pas connu, le plafond ne peut "
                           f"pas être calculé.")
        if base["status"] != "priced":
            raise _Refused("refused", "MISSING_BASE_ACT",
                           f"{code} : l'acte de base {base['code']} (ligne {base['index']}) est refusé.")
        return base

    def _depassement(self, concept, method, unit_value, line, trace) -> Decimal:
        code = concept.data["code"]
        base = self._base_line(concept, line)
        if "amount" not in line:
            raise _Refused("refused", "MISSING_AMOUNT",
                           f"{code} se facture avec le montant du dépassement demandé (champ amount de la ligne).")
        asked = parse_decimal(line["amount"])
        base_amount = parse_decimal(base["amount"])
        category = self._category(base)
        if method == "declared":
            trace.append({"step": "amount", "rule": concept.id, "outcome": "info",
                          "detail": f"dépassement de {fmt(asked)} € sur l'acte principal {base['code']} "
                                    f"(ligne {base['index']}, {fmt(base_amount)} €) ; montant non plafonné par les sources"})
            return asked
        rate = unit_value / Decimal(100)
        if category in concept.data.get("base", {}).get("clinical", []):
            ceiling_raw = base_amount * (1 + rate)
            ceiling, rounding = self._round_by("depassement_cap_clinical", ceiling_raw, code)
            cap = ceiling - base_amount
            detail = (f"plafond (acte clinique) : {fmt(base_amount)} × (1 + {fmt(unit_value)} %) = {ceiling_raw.normalize():f}, "
                      f"arrondi à {fmt(ceiling)} ({rounding.data['label']}, {rounding.id}) ; dépassement maximal "
                      f"{fmt(ceiling)} − {fmt(base_amount)} = {fmt(cap)} €")
        else:
            cap_raw = base_amount * rate
            cap, rounding = self._round_by("depassement_cap_technical", cap_raw, code)
            detail = (f"plafond (acte technique) : {fmt(unit_value)} % de {fmt(base_amount)} = {cap_raw.normalize():f}, "
                      f"soit {fmt(cap)} € ({rounding.data['label']}, {rounding.id})")
        detail += f" ; demandé {fmt(asked)} € sur {base['code']} (ligne {base['index']})"
        ok = asked <= cap
        trace.append({"step": "amount", "rule": concept.id, "outcome": "pass" if ok else "fail",
                      "detail": detail, "value": fmt(cap)})
        if not ok:
            raise _Refused("refused", "DEPASSEMENT_CAP_EXCEEDED",
                           f"{code} : le dépassement demandé ({fmt(asked)} €) excède le plafond de {fmt(cap)} € "
                           f"({fmt(unit_value)} % de {base['code']} à {fmt(base_amount)} €"
                           f"{', total arrondi à l’euro supérieur' if category in concept.data.get('base', {}).get('clinical', []) else ''}).")
        return asked


    # ------------------------------------------------------------ partie B : surcouches, CCAM
    def _overlay_row(self, code: str):
        for overlay in self.overlays:
            row = overlay.find(code, self._on, self._territory)
            if row is not None:
                return overlay, row
        return None

    def _mark_overlay(self, overlay):
        if overlay.name not in self._overlays_used:
            self._overlays_used.append(overlay.name)

    def _external_base(self, code: str, line: dict, trace: list) -> Decimal | None:
        """Base tariff of a code the spec does not price (a CCAM act): from an overlay asked for, else
        from the line's `base_amount` (the user's external table). None when neither gives one."""
        found = self._overlay_row(code)
        if found is not None:
            from convmed.overlay import overlay_step

            overlay, row = found
            self._mark_overlay(overlay)
            trace.append(overlay_step(overlay, row, code, "tarif de base"))
            return row.value
        if "base_amount" in line:
            if parse_decimal(line["base_amount"]) < 0:
                from convmed.errors import ConvmedError

                raise ConvmedError.single(f"{code} : tarif de base négatif ({line['base_amount']})",
                                          pointer=f"/lines/{self._index}/base_amount", code="input")
            trace.append({"step": "overlay", "rule": "line.base_amount", "outcome": "info", "status": "external",
                          "value": line["base_amount"],
                          "detail": f"{code} : tarif de base {line['base_amount']} fourni par la demande (table externe, "
                                    f"par exemple la CCAM : les sources conventionnelles ne donnent pas ce tarif)"})
            return parse_decimal(line["base_amount"])
        return None

    def _fill_gap(self, concept, entry, line, trace) -> Decimal | None:
        """A dated gap of the spec filled by an overlay asked for (never a seed value replaced), or, for an act
        priced from an external base tariff, by the line's `base_amount`."""
        code = concept.data["code"]
        found = self._overlay_row(code)
        if found is None and not (concept.data.get("pricing") == "external_base" and "base_amount" in line):
            return None
        from convmed.overlay import overlay_step

        gap = entry.raw["gap"]
        trace.append({"step": "value", "rule": f"{concept.id}#values/{entry.index}", "outcome": "info",
                      "from": entry.start_text(), "sources": self._src(entry.raw),
                      "detail": f"lacune des sources : {gap['note']} — comblée par une valeur externe ci-dessous"})
        if found is not None:
            overlay, row = found
            self._mark_overlay(overlay)
            trace.append(overlay_step(overlay, row, code, "valeur"))
            return row.value
        return self._external_base(code, line, trace)

    def _percent_of_base(self, concept, rate: Decimal, line: dict, trace: list) -> Decimal:
        """A modifier: rate % of the base tariff (hors modificateurs) of the act it applies to — the line
        `modifies` (an earlier priced line), else the line's own `base_amount`."""
        code = concept.data["code"]
        if "modifies" in line:
            target = next((r for r in self._results if r["index"] == line["modifies"]), None)
            if target is None:
                raise _Refused("refused", "MISSING_BASE_ACT",
                               f"{code} s'applique à la ligne {line['modifies']}, absente ou postérieure au modificateur.")
            if target["status"] == "unknown":
                raise _Refused("unknown", target["reason"],
                               f"{code} : le tarif de l'acte modifié {target['code']} n'est pas connu.")
            if target["status"] != "priced":
                raise _Refused("refused", "MISSING_BASE_ACT",
                               f"{code} : l'acte modifié {target['code']} (ligne {target['index']}) est refusé.")
            base, origin = parse_decimal(target["unit_value"]), f"{target['code']} (ligne {target['index']})"
        elif "base_amount" in line:
            base, origin = parse_decimal(line["base_amount"]), "tarif de base fourni par la ligne (table externe)"
        else:
            raise _Refused("refused", "MISSING_BASE_ACT",
                           f"{code} est un pourcentage du tarif de l'acte modifié : la ligne doit indiquer `modifies` "
                           f"(l'acte CCAM de la demande) ou `base_amount`.")
        amount = base * rate / Decimal(100)
        if amount == amount.quantize(Decimal("0.01")):
            amount = amount.quantize(Decimal("0.01"))
        trace.append({"step": "amount", "rule": concept.id, "outcome": "info", "value": fmt(base),
                      "detail": f"{fmt(rate)} % de {fmt(base)} ({origin}) = {amount.normalize():f}"})
        return amount

    def _associations(self, claim, on, lines, total, complete):
        """Association rules (spec kind `association`): the external-base acts of the claim ranked by base
        tariff, each rank paid at its rate; acts beyond the last rate refused."""
        if not self._external:
            return total, complete
        priced = [i for i in sorted(self._external) if lines[i]["status"] == "priced"]
        if len(priced) < 1:
            return total, complete
        for concept in self._association_rules:
            rule = concept.data
            validity = self._valid(rule, on)
            if validity == "out":
                continue
            try:
                applies = evaluate(rule["when"], Facts(claim, priced[0], self.facts_vocabulary))
            except MissingFact:
                applies = False
            if not applies:
                continue
            ranked = sorted(priced, key=lambda i: (-self._external[i], i))
            rates = [parse_decimal(r) for r in rule["rates"]]
            for rank, i in enumerate(ranked):
                result = lines[i]
                old = parse_decimal(result["amount"])
                step = {"step": "amount", "rule": concept.id, "status": rule["status"], "sources": self._src(rule)}
                if rank >= len(rates):
                    step.update(outcome="fail", detail=f"{rule['label']} : acte de rang {rank + 1}, au-delà de "
                                                       f"{len(rates)} actes associés")
                    new_status = ("refused", rule["refusal"]["reason"], rule["refusal"]["message"])
                    amount = None
                else:
                    amount = self._external[i] * rates[rank] / Decimal(100)
                    if self.rounding:
                        amount = round_to(amount, parse_decimal(self.rounding["quantum"]), self.rounding["mode"])
                    step.update(outcome="pass", value=fmt(rates[rank]),
                                detail=f"{rule['label']} : acte de rang {rank + 1} (tarif hors modificateurs "
                                       f"{fmt(self._external[i])}) payé à {fmt(rates[rank])} % = {fmt(amount)}")
                    new_status = None
                if validity == "uncertain":
                    step["outcome"] = "unknown"
                    step["detail"] += " (date d'effet de la règle non donnée par les sources)"
                    new_status = ("unknown", "DATE_UNCERTAIN",
                                  f"{result['code']} : la règle {concept.id}, dont la date d'effet n'est pas donnée, "
                                  f"paierait cet acte {'au rang ' + str(rank + 1) if amount is not None else '0 (refusé)'} "
                                  f"au lieu de {fmt(old)}.")
                result["trace"].append(step)
                total -= old
                if new_status is None:
                    result["amount"] = fmt(amount)
                    total += amount
                else:
                    status, reason, message = new_status
                    for k in ("amount", "unit_value"):
                        result.pop(k, None)
                    result.update(status=status, reason=reason, message=message)
                    if status == "unknown":
                        complete = False
        return total, complete


def price_claim(claim: dict, spec: Spec | None = None, overlays: list | None = None) -> dict:
    """`overlays`: convmed.overlay.Overlay objects (or names / paths), used only when given."""
    from convmed.model import load_spec

    spec = spec or load_spec()
    if overlays:
        from convmed.overlay import Overlay, load_overlay

        overlays = [o if isinstance(o, Overlay) else load_overlay(str(o), spec.root) for o in overlays]
    return Pricer(spec, overlays).price(claim)
