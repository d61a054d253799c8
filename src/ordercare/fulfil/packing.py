"""The pack station's weight check, for the warehouse capability (``capability.py``;
docs/fulfilment.md).

A weighing checks the parcel against its lines (``PackCheck``). A mismatch opens a
``warehouse`` case, reason ``weight_mismatch``, with ``divert_for_inspection`` at the pack
instant, and holds the parcel. The inspection records what it found, teaches the check and
resolves the case. A parcel the inspection found mis-packed (and put right) is checked again
when it is weighed again. A held parcel that ships uninspected *left unchecked*: a defect,
recorded, reported, and escalated on the case. Parcels that pass teach the check.

**Arrival order.** A parcel's weighings and inspections come from two systems (the scales,
the inspectors' app), each sending files of its own, so they may reach us in any order. Each
is kept on the parcel's record (``PackRec.facts``). One that happened after everything heard
of the parcel (and not before its departure, once that is known) is applied on what the
record says. Any other makes the record be read again from all its facts in event-time
order, with the departure in its place. So the verdict, the case and the warehouse's figures
do not depend on which arrived first. What the pack check learnt stays learnt, and a fact
teaches it once. An inspection heard before any weighing of its parcel waits for it
(``early``, kept in the store).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine

from ordercare.domain import events as ev
from ordercare.domain.cases import Action, Case
from ordercare.domain.order import Order
from ordercare.fulfil import tables as t
from ordercare.fulfil.packcheck import MISPACKS, PackCheck, PackLine
from ordercare.fulfil.tables import PackRec

LEFT_UNCHECKED = "left_unchecked"  # the rule named on the escalate action
DIVERT = "divert_for_inspection"
_MISPACK_NOTED = ("wrong_item", "missing_item")
WEIGHED, INSPECTED = "w", "i"  # the kinds of a parcel's facts
_RANK = {WEIGHED: 0, INSPECTED: 1}  # at one instant: the weighing, then its inspection

Fact = list[Any]  # [at_us, kind, learnt, ...]: see ``PackRec.facts``


def _order_key(fact: Fact) -> tuple[int, int]:
    return fact[0], _RANK[fact[1]]


def _after_departure(fact: Fact, left_us: int) -> bool:
    """Did ``fact`` happen once the parcel had left at ``left_us``? (An inspection at that
    very instant came before it; a weighing, after.)"""
    return fact[0] > left_us or (fact[0] == left_us and fact[1] == WEIGHED)


def pack_facts(rec: PackRec) -> list[Fact]:
    """The parcel's facts; for a record stored before they were kept, those its columns still
    tell (the first weighing, its inspection, the latest re-check and what answered it), all
    learnt already."""
    if rec.facts:
        return rec.facts
    facts: list[Fact] = [[rec.packed_us, WEIGHED, 1, rec.weight_g, rec.station, rec.fc_id]]
    if rec.outcome is not None:
        facts.append([rec.inspected_us if rec.inspected_us is not None else rec.packed_us, INSPECTED, 1, rec.outcome])
    if rec.recheck_us is not None:
        facts.append([rec.recheck_us, WEIGHED, 1, rec.recheck_g, rec.station, rec.fc_id])
        if rec.recheck_outcome is not None:
            facts.append([rec.recheck_us, INSPECTED, 1, rec.recheck_outcome])
    return facts


def case_of(order: Order, case_id: str | None) -> Case | None:
    return next((c for c in order.cases if c.id == case_id), None) if case_id else None


class Packing:
    """The pack-check part of ``Fulfilment``: what it needs of the rest of the capability is
    declared here."""

    packs: dict[str, PackRec]
    packcheck: PackCheck
    early: dict[str, list[Fact]]  # inspections heard before any weighing of their parcel
    _dirty_packs: set[str]
    _dirty_check: bool
    _dirty_early: bool
    _db: Engine | None

    # ---- events --------------------------------------------------------------------------

    def _packed(self, e: ev.ShipmentPacked, order: Order | None, at: int, eng: Any) -> None:
        d = e.data
        if order is None:
            return
        ship = order.shipments[d.shipment_id]
        fact: Fact = [at, WEIGHED, 0, d.weight_g, d.station, d.fc_id]
        rec = self.packs.get(d.shipment_id)
        if rec is None and (ship.weighings > 1 or (ship.packed_us or at) < at):
            rec = self._fetch_pack(d.shipment_id)  # weighed in an earlier run (or one before the count)
        if rec is not None:
            self._hear(rec, fact, order, eng)
            return
        rec = PackRec(d.shipment_id, order.order_id, ship.seller_id or None, d.fc_id, d.station, at, d.weight_g,
                      facts=[fact])
        self.packs[rec.shipment_id] = rec
        self._touch_pack(rec)
        early = self.early.pop(d.shipment_id, None)
        if early or ship.shipped_us is not None:
            # Inspected, or gone, before we heard it was weighed: read in event-time order.
            if early:
                rec.facts += early
                self._dirty_early = True
            self._reread(rec, order, eng)
            return
        self._first_weighing(rec, fact, order, eng)

    def _inspected(self, e: ev.InspectionCompleted, order: Order | None, at: int, eng: Any) -> None:
        sid = e.data.shipment_id
        if order is None:
            return
        fact: Fact = [at, INSPECTED, 0, e.data.outcome]
        rec = self.packs.get(sid) or self._fetch_pack(sid)
        if rec is None:
            self.early.setdefault(sid, []).append(fact)  # its weighing is still to come
            self._dirty_early = True
            return
        self._hear(rec, fact, order, eng)

    def _pack_left(self, order: Order, shipment_id: str, at: int, eng: Any) -> None:
        """The parcel left (``shipment.shipped``, its newest label)."""
        rec = self.packs.get(shipment_id)
        if rec is None:
            ship = order.shipments.get(shipment_id)
            if ship is None or ship.packed_us is None:
                return  # never weighed here
            rec = self._fetch_pack(shipment_id)  # weighed in an earlier run
            if rec is None:
                return
        self._touch_pack(rec)
        if any(_after_departure(f, at) for f in pack_facts(rec)):
            self._reread(rec, order, eng)  # inspected (or weighed) after it left: heard before
        else:
            self._left(rec, at, order, eng)

    def _hear(self, rec: PackRec, fact: Fact, order: Order, eng: Any) -> None:
        """A weighing or an inspection of a parcel already weighed: applied on the record when
        it happened after everything heard of the parcel, else the record is read again."""
        ship = order.shipments.get(rec.shipment_id)
        left = ship.shipped_us if ship is not None else None
        facts = rec.facts = pack_facts(rec)
        key = _order_key(fact)
        in_order = all(_order_key(f) <= key for f in facts) and \
            (left is None or (rec.shipped_us == left and fact[0] >= left))
        facts.append(fact)
        self._touch_pack(rec)
        if not in_order:
            self._reread(rec, order, eng)
        elif fact[1] == WEIGHED:
            self._reweighed(rec, fact, order, eng)
        else:
            self._inspection(rec, fact, order, eng)

    def _reread(self, rec: PackRec, order: Order, eng: Any) -> None:
        """Derive the parcel's record, and its case, again from all its facts in event-time
        order, the departure in its place."""
        facts = sorted(pack_facts(rec), key=_order_key)
        first = next(f for f in facts if f[1] == WEIGHED)
        ship = order.shipments.get(rec.shipment_id)
        left = ship.shipped_us if ship is not None else None
        case = case_of(order, rec.case_id)
        if case is not None:
            _unwind(case)
        fresh = PackRec(rec.shipment_id, rec.order_id, rec.seller_id, first[5], first[4], first[0], first[3],
                        case_id=rec.case_id, facts=facts)
        self.packs[rec.shipment_id] = fresh
        self._touch_pack(fresh)
        self._first_weighing(fresh, first, order, eng)
        gone = False
        for fact in facts:
            if fact is first:
                continue
            if not gone and left is not None and _after_departure(fact, left):
                self._left(fresh, left, order, eng)
                gone = True
            if fact[1] == WEIGHED:
                self._reweighed(fresh, fact, order, eng)
            else:
                self._inspection(fresh, fact, order, eng)
        if not gone and left is not None:
            self._left(fresh, left, order, eng)
        if case is not None:
            if case.has_action(DIVERT):
                eng.casework.touch(case)
            elif eng.casework.withdraw(order, case):
                fresh.case_id = None  # read in order, the parcel was never diverted: no case
            else:  # (something stands on it: it stays, resolved as of now)
                if case.status != "resolved":
                    eng.casework.resolve(case, eng.now)
                eng.casework.touch(case)

    # ---- the steps, in event-time order ----------------------------------------------------

    def _first_weighing(self, rec: PackRec, fact: Fact, order: Order, eng: Any) -> None:
        at, weight, station = fact[0], fact[3], fact[4]
        lines = self._pack_lines(order, order.shipments[rec.shipment_id].line_ids, eng, at)
        if lines is None or weight <= 0:
            return  # nothing to compare with: recorded as unchecked
        v = self.packcheck.check(lines, weight, station)
        rec.expected_g, rec.tolerance_g = round(v.expected_g, 1), round(v.tolerance_g, 1)
        rec.deviation_g, rec.basis = round(v.deviation_g, 1), v.basis
        if not v.divert:
            rec.verdict = rec.state = "passed"
            self._learn(fact, lines, weight, "passed", station)
            return
        rec.verdict, rec.state = "diverted", "held"
        self._hold(rec, order, at, eng)

    def _reweighed(self, rec: PackRec, fact: Fact, order: Order, eng: Any) -> None:
        """The parcel is on a scale again. Only a parcel the inspection found mis-packed (and
        so put right: re-packed, the wrong item swapped, the missing one added) is checked
        again, its content having changed: right now, it passes and teaches the check; still
        wrong, it is held again and its case reopened, waiting for a second inspection, or
        escalated if it leaves without one. Any other re-weigh (of a parcel that passed, one
        still held, one the inspection found right, one gone) changes nothing: the first
        weighing counts."""
        at, weight, station = fact[0], fact[3], fact[4]
        answered = rec.recheck_outcome if rec.recheck_verdict == "diverted" else rec.outcome
        if rec.state != "inspected" or answered not in MISPACKS or \
                (rec.shipped_us is not None and rec.shipped_us <= at):
            return
        lines = self._pack_lines(order, order.shipments[rec.shipment_id].line_ids, eng, at)
        if lines is None or weight <= 0:
            return
        v = self.packcheck.check(lines, weight, station)
        rec.rechecks += 1
        rec.recheck_us, rec.recheck_g, rec.recheck_deviation_g = at, weight, round(v.deviation_g, 1)
        if not v.divert:
            rec.recheck_verdict, rec.state = "passed", "rechecked"  # right now: no more re-checks
            self._learn(fact, lines, weight, "passed", station)
            return
        rec.recheck_verdict, rec.state, rec.recheck_outcome = "diverted", "held", None
        self._hold(rec, order, at, eng, rule="recheck")

    def _inspection(self, rec: PackRec, fact: Fact, order: Order, eng: Any) -> None:
        at, outcome = fact[0], fact[3]
        again = rec.recheck_verdict == "diverted"  # held again after a re-check: this answers it
        if (rec.recheck_outcome if again else rec.outcome) is not None:
            return  # already inspected: the first word counts
        if again:
            rec.recheck_outcome = outcome
        else:
            rec.outcome, rec.inspected_us = outcome, at
        if rec.state == "held":
            rec.state = "inspected"
        if rec.verdict == "diverted":
            ship = order.shipments.get(rec.shipment_id)
            weighed = rec.recheck_us if again and rec.recheck_us is not None else rec.packed_us
            lines = self._pack_lines(order, ship.line_ids if ship else [], eng, weighed)
            if lines is not None:
                weight = rec.recheck_g if again and rec.recheck_g is not None else rec.weight_g
                self._learn(fact, lines, weight, outcome, rec.station)
        case = case_of(order, rec.case_id)
        if case is not None and case.status != "resolved":
            if outcome in _MISPACK_NOTED and outcome not in case.reasons:
                case.reasons = [*case.reasons, outcome]
            eng.casework.resolve(case, at)

    def _left(self, rec: PackRec, at: int, order: Order, eng: Any) -> None:
        rec.shipped_us = at
        if rec.state == "held":  # diverted, never inspected, and gone: a defect
            rec.state = LEFT_UNCHECKED
            case = case_of(order, rec.case_id)
            if case is not None:
                case.add_action(Action("escalate", at, shipment_ids=[rec.shipment_id], rule=LEFT_UNCHECKED))
                eng.casework.touch(case)

    # ---- helpers -------------------------------------------------------------------------

    def _hold(self, rec: PackRec, order: Order, at: int, eng: Any, rule: str | None = None) -> Case:
        """Divert the parcel for inspection: its ``weight_mismatch`` case opened (waiting on
        the inspection, no word to the customer), or reopened when it is held again."""
        ids, sids = list(order.shipments[rec.shipment_id].line_ids), [rec.shipment_id]
        divert = Action(DIVERT, at, line_ids=ids, shipment_ids=sids, rule=rule)
        case = case_of(order, rec.case_id)
        if case is None:
            case = eng.casework.open_case(order, "weight_mismatch", "warehouse", at, line_ids=ids,
                                          shipment_ids=sids, actions=[divert], status="waiting")
            rec.case_id = case.id
            return case
        if not case.has_action(DIVERT):  # (read again: the case opens as of this weighing)
            case.opened_us = at
            eng.casework.set_service_level(order, case, "proactive", at)
        case.add_action(divert)
        case.set_status("waiting", at)
        eng.casework.touch(case)
        return case

    def _learn(self, fact: Fact, lines: list[PackLine], weight: float, outcome: str, station: str | None) -> None:
        """Teach the pack check what this fact showed, once."""
        if fact[2]:
            return
        self.packcheck.learn(lines, weight, outcome, station)
        fact[2] = 1
        self._dirty_check = True

    def _pack_lines(self, order: Order, line_ids: Iterable[str], eng: Any, weighed_us: int) -> list[PackLine] | None:
        """The lines that should be in the parcel on the scale at ``weighed_us``, with their
        catalogue weights (a line cancelled before then should not be: a parcel with it is
        mis-packed); ``None`` if one has no weight, or none is left to weigh."""
        out = []
        for lid in line_ids:
            ln = order.line(lid)
            if ln is None or (ln.cancelled_us is not None and ln.cancelled_us < weighed_us):
                continue
            weight = eng.party("sku", ln.sku).get("weight_g")
            if not weight or weight <= 0:
                return None
            out.append(PackLine(ln.sku, ln.qty, float(weight)))
        return out or None

    def _touch_pack(self, rec: PackRec) -> None:
        self._dirty_packs.add(rec.shipment_id)

    def _fetch_pack(self, shipment_id: str) -> PackRec | None:
        if self._db is None:
            return None
        with self._db.connect() as conn:
            rec = t.pack(conn, shipment_id)
        if rec is not None:
            self.packs[shipment_id] = rec
        return rec

    def _early_state(self) -> bytes:
        return json.dumps(self.early, sort_keys=True).encode()


def _unwind(case: Case) -> None:
    """Take back what the pack check did to its case, before reading the parcel's facts again."""
    case.actions = [a for a in case.actions
                    if a.type != DIVERT and not (a.type == "escalate" and a.rule == LEFT_UNCHECKED)]
    case.reasons = [r for r in case.reasons if r not in _MISPACK_NOTED]
    case.status, case.resolved_us, case.waiting_since_us, case.paused_us = "open", None, None, 0
