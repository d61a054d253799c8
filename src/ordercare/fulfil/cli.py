"""``ordercare inventory`` and ``ordercare warehouse``: thin, they open the store, call
``fulfil.service`` and print. Mounted on the main app as plain commands::

    app.command("inventory")(inventory_cmd)
    app.command("warehouse")(warehouse_cmd)
"""

from __future__ import annotations

from rich.table import Table

from ordercare.cli_common import DbOpt, JsonOpt, open_store_or_exit, out, print_json
from ordercare.fulfil import service


def inventory_cmd(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """Stock per fulfilment centre, SKU and seller: on hand, reserved, available."""
    rows = service.inventory(open_store_or_exit(db))
    if as_json:
        print_json(rows)
        return
    table = Table("fc", "sku", "seller", "on hand", "reserved", "available")
    for r in rows:
        table.add_row(r["fc_id"], r["sku"], r["seller_id"], str(r["on_hand"]), str(r["reserved"]),
                      str(r["available"]))
    out.print(table)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def warehouse_cmd(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """The warehouse's figures: pack accuracy per station, mismatches, inspections, parcels
    that left unchecked, stock-outs by SKU, returns by cause."""
    report = service.warehouse_report(open_store_or_exit(db))
    if as_json:
        print_json(report)
        return
    tot = report["totals"]
    out.print(f"{tot['parcels']} parcels weighed, {tot['diverted']} diverted (mismatch rate "
              f"{_pct(tot['mismatch_rate'])}), pack accuracy {_pct(tot['pack_accuracy'])}, "
              f"{tot['awaiting_inspection']} awaiting inspection, "
              f"{tot['left_unchecked']} left unchecked, {tot['rechecked']} weighed again after "
              f"a repack ({tot['recheck_diverted']} still wrong); {tot['stockout_lines']} "
              f"stock-outs; {tot['returned_lines']} lines returned "
              f"({tot['refunded_on_return']} refunded)")
    stations = Table("fc", "station", "parcels", "diverted", "mismatch", "ok", "repacked",
                     "wrong", "missing", "accuracy", "left unchecked", "re-weighed", "still wrong")
    for s in report["stations"]:
        i = s["inspections"]
        stations.add_row(s["fc_id"] or "-", s["station"], str(s["parcels"]), str(s["diverted"]),
                         _pct(s["mismatch_rate"]), str(i["ok"]), str(i["repacked"]),
                         str(i["wrong_item"]), str(i["missing_item"]), _pct(s["pack_accuracy"]),
                         str(s["left_unchecked"]), str(s["rechecked"]), str(s["recheck_diverted"]))
    out.print(stations)
    for p in report["held"]:
        out.print(f"  held for inspection: {p['shipment_id']} (order {p['order_id']}, station {p['station']}, "
                  f"since {p['held_since']}, {p['weight_g']} g"
                  + (f", {p['deviation_g']:+} g off" if p["deviation_g"] is not None else "")
                  + (", weighed again after a repack" if p["recheck"] else "") + f", case {p['case_id']})")
    for p in report["left_unchecked"]:
        out.print(f"  left unchecked: {p['shipment_id']} (order {p['order_id']}, station "
                  f"{p['station']}, shipped {p['shipped_at']}, case {p['case_id']})")
    if report["stockouts"]:
        stock = Table("sku", "seller", "platform lines", "stock-outs", "rate", "still waiting")
        for s in report["stockouts"]:
            stock.add_row(s["sku"], s["seller_id"], str(s["platform_lines"]),
                          str(s["stockout_lines"]), _pct(s["stockout_rate"]),
                          str(s["still_waiting"]))
        out.print(stock)
    for f in report["catalogue_flags"]:
        out.print(f"  catalogue weight of {f['sku']} looks wrong: {f['catalogue_g']} g listed, "
                  f"{f['estimated_g']} g measured over {f['evidence']} parcels")
