"""Reads of the warehouse for the CLI, insights and the demo: stock, and the warehouse's
figures (pack accuracy per station, mismatch rate, inspection outcomes, parcels that left
unchecked, stock-outs by SKU, returns by cause). Aggregates run in the database (GROUP BY),
the same SQL on SQLite and PostgreSQL; ordering is done here so NULLs sort alike on both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, text

from ordercare.fulfil import tables as t
from ordercare.fulfil.packcheck import INSPECTION_OUTCOMES, MISPACKS, PackCheck
from ordercare.store.repo import iso


def inventory(db: Engine) -> list[dict[str, Any]]:
    """``ordercare inventory --json`` (CONTRACT §2): one object per (fc, sku, seller)."""
    with db.connect() as conn:
        rows = conn.execute(text(f"SELECT fc_id, sku, seller_id, on_hand, reserved FROM {t.STOCK} "
                                 "ORDER BY fc_id, sku, seller_id")).all()
    return [{"fc_id": r[0], "sku": r[1], "seller_id": r[2], "on_hand": r[3], "reserved": r[4],
             "available": r[3] - r[4]} for r in rows]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _count(cond: str) -> str:
    return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"


def _stations(conn: Connection) -> list[dict[str, Any]]:
    mispacked = ", ".join(f"'{o}'" for o in MISPACKS)
    conds = ["verdict <> 'unchecked'", "verdict = 'diverted'", "state = 'left_unchecked'",
             "state = 'held'", "rechecks > 0", "recheck_verdict = 'diverted'",
             f"recheck_outcome IN ({mispacked})", *(f"outcome = '{o}'" for o in INSPECTION_OUTCOMES)]
    rows = conn.execute(text(f"SELECT fc_id, station, COUNT(*), {', '.join(map(_count, conds))} "
                             f"FROM {t.PACKS} GROUP BY fc_id, station")).all()
    out = []
    for r in rows:
        fc, station, parcels, checked, diverted, gone, held, rechecked, again, still, *found = (
            r[0], r[1], *(int(v or 0) for v in r[2:]))
        outcomes = dict(zip(INSPECTION_OUTCOMES, found, strict=True))
        confirmed = sum(outcomes[o] for o in MISPACKS)
        out.append({
            "fc_id": fc, "station": station or "unassigned", "parcels": parcels, "checked": checked,
            "diverted": diverted, "mismatch_rate": _rate(diverted, checked),
            "inspections": outcomes, "confirmed_mispacks": confirmed,
            "pack_accuracy": round(1 - confirmed / checked, 4) if checked else None,
            "inspection_hit_rate": _rate(confirmed, sum(outcomes.values())),
            "left_unchecked": gone, "awaiting_inspection": held,
            # Put right after a mis-pack and weighed again: still wrong (diverted again), and
            # found mis-packed by the second inspection. ``pack_accuracy`` is the first pass.
            "rechecked": rechecked, "recheck_diverted": again, "recheck_mispacks": still})
    return sorted(out, key=lambda s: (s["fc_id"] or "", s["station"]))


def _held(conn: Connection) -> list[dict[str, Any]]:
    """The parcels held for inspection, oldest first: what the inspectors have to open (a
    parcel held again after a re-weigh says so, with its second weight)."""
    rows = conn.execute(text(
        "SELECT shipment_id, order_id, seller_id, fc_id, station, packed_us, weight_g, expected_g, deviation_g, "
        f"case_id, rechecks, recheck_us, recheck_g, recheck_deviation_g FROM {t.PACKS} WHERE state = 'held'")).all()
    out = []
    for r in rows:
        again = bool(r[10]) and r[11] is not None
        out.append({"shipment_id": r[0], "order_id": r[1], "seller_id": r[2], "fc_id": r[3],
                    "station": r[4] or "unassigned", "held_since": iso(r[11] if again else r[5], 0),
                    "weight_g": r[12] if again else r[6], "expected_g": r[7],
                    "deviation_g": r[13] if again else r[8], "case_id": r[9], "recheck": again})
    return sorted(out, key=lambda p: (p["held_since"] or "", p["shipment_id"]))


def _left_unchecked(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        "SELECT shipment_id, order_id, seller_id, fc_id, station, packed_us, shipped_us, "
        f"deviation_g, case_id FROM {t.PACKS} WHERE state = 'left_unchecked'")).all()
    out = [{"shipment_id": r[0], "order_id": r[1], "seller_id": r[2], "fc_id": r[3],
            "station": r[4] or "unassigned", "packed_at": iso(r[5], 0), "shipped_at": iso(r[6], 0),
            "deviation_g": r[7], "case_id": r[8]} for r in rows]
    return sorted(out, key=lambda p: (p["shipped_at"] or "", p["shipment_id"]))


_WAITING = _count("state = 'short'")


def _stockouts(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        f"SELECT sku, seller_id, COUNT(*), {_count('short_us IS NOT NULL')}, "
        f"SUM(CASE WHEN short_us IS NOT NULL THEN qty ELSE 0 END), {_WAITING} "
        f"FROM {t.LINES} WHERE fulfilled_by = 'platform' GROUP BY sku, seller_id")).all()
    out = [{"sku": r[0], "seller_id": r[1], "platform_lines": int(r[2]),
            "stockout_lines": int(r[3] or 0), "stockout_units": int(r[4] or 0),
            "stockout_rate": _rate(int(r[3] or 0), int(r[2])), "still_waiting": int(r[5] or 0)}
           for r in rows if r[3]]
    return sorted(out, key=lambda s: (-s["stockout_lines"], s["sku"], s["seller_id"]))


def _returns(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        "SELECT seller_id, sku, return_fc, return_condition, return_reason, COUNT(*), SUM(qty), "
        f"SUM(COALESCE(refund, 0)) FROM {t.LINES} WHERE returned_us IS NOT NULL "
        "GROUP BY seller_id, sku, return_fc, return_condition, return_reason")).all()
    out = [{"seller_id": r[0], "sku": r[1], "fc_id": r[2], "condition": r[3], "reason": r[4],
            "lines": int(r[5]), "units": int(r[6] or 0), "refunded": round(float(r[7] or 0), 2)}
           for r in rows]
    return sorted(out, key=lambda x: (-x["lines"], x["seller_id"], x["sku"], x["fc_id"] or "",
                                      x["condition"] or "", x["reason"] or ""))


def _catalogue_flags(conn: Connection) -> list[dict[str, Any]]:
    blob = t.packcheck_state(conn)
    if blob is None:
        return []
    return [{"sku": f.sku, "catalogue_g": f.catalogue_g, "estimated_g": f.estimated_g,
             "error_g": f.error_g, "evidence": f.evidence}
            for f in PackCheck.loads(blob).catalogue_flags()]


def warehouse_report(db: Engine) -> dict[str, Any]:
    """The warehouse's figures, for ``ordercare warehouse``, insights and the demo.

    ``pack_accuracy`` = 1 - mis-packs confirmed by inspection / parcels checked: it only sees
    the mis-packs the check caught, so it is an upper bound. ``left_unchecked`` lists the
    diverted parcels that shipped before any inspection.
    """
    with db.connect() as conn:
        stations = _stations(conn)
        report = {"stations": stations, "held": _held(conn), "left_unchecked": _left_unchecked(conn),
                  "stockouts": _stockouts(conn), "returns": _returns(conn),
                  "catalogue_flags": _catalogue_flags(conn)}
    checked = sum(s["checked"] for s in stations)
    diverted = sum(s["diverted"] for s in stations)
    outcomes = {o: sum(s["inspections"][o] for s in stations) for o in INSPECTION_OUTCOMES}
    confirmed = sum(outcomes[o] for o in MISPACKS)
    stock = inventory(db)
    totals = {
        "parcels": sum(s["parcels"] for s in stations), "checked": checked, "diverted": diverted,
        "mismatch_rate": _rate(diverted, checked), "inspections": outcomes,
        "confirmed_mispacks": confirmed,
        "pack_accuracy": round(1 - confirmed / checked, 4) if checked else None,
        "awaiting_inspection": sum(s["awaiting_inspection"] for s in stations),
        **{k: sum(s[k] for s in stations) for k in ("rechecked", "recheck_diverted", "recheck_mispacks")},
        "left_unchecked": len(report["left_unchecked"]),
        "stockout_lines": sum(s["stockout_lines"] for s in report["stockouts"]),
        "returned_lines": sum(r["lines"] for r in report["returns"]),
        "refunded_on_return": round(sum(r["refunded"] for r in report["returns"]), 2),
        "on_hand": sum(r["on_hand"] for r in stock), "reserved": sum(r["reserved"] for r in stock),
    }
    return {"totals": totals, **report}
