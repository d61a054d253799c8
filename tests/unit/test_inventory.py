"""The stock book's choices, and the warehouse rows as stored."""

from __future__ import annotations

from ordercare.fulfil.inventory import Inventory, Request
from ordercare.fulfil.tables import LINE_COLS, LineRec


def book(**on_hand: int) -> Inventory:
    inv = Inventory()
    for fc, qty in on_hand.items():
        inv.receive(fc, "k", "s", qty)
    return inv


def test_a_line_goes_to_the_centre_with_the_most_units_ties_to_the_smaller_id():
    assert book(fc3=5, fc1=5, fc2=4).reserve_order([Request(("o", "l"), "k", "s", 2)]) == {("o", "l"): [("fc1", 2)]}
    assert book(fc1=2, fc2=9).reserve_order([Request(("o", "l"), "k", "s", 2)]) == {("o", "l"): [("fc2", 2)]}


def test_a_line_no_centre_can_serve_alone_is_split_largest_first_and_none_when_all_cannot():
    inv = book(fc3=3, fc1=3, fc2=4, fc4=0)
    assert inv.reserve_order([Request(("o", "l"), "k", "s", 9)]) == {("o", "l"): [("fc2", 4), ("fc1", 3), ("fc3", 2)]}
    assert inv.reserve_order([Request(("o", "m"), "k", "s", 2)]) == {("o", "m"): None}  # one unit left


def test_a_line_row_stores_its_parts_as_json_and_reads_back_the_same():
    rec = LineRec("o", "l", "k", "s", 3, "platform", "reserved", [("fc2", 2), ("fc1", 1)], placed_us=7)
    again = LineRec("o", "l2", "k", "s", 3, "platform", "reserved", [("fc2", 2), ("fc1", 1)], placed_us=7)
    row = rec.row()
    assert dict(zip(LINE_COLS, row, strict=True)) == {
        "order_id": "o", "line_id": "l", "sku": "k", "seller_id": "s", "qty": 3, "fulfilled_by": "platform",
        "state": "reserved", "parts": '[["fc2", 2], ["fc1", 1]]', "placed_us": 7, "short_us": None,
        "filled_us": None, "case_id": None, "shipped_us": None, "returned_us": None, "return_condition": None,
        "return_reason": None, "return_fc": None, "refund": None}
    assert row[7] == '[["fc2", 2], ["fc1", 1]]' and again.row()[7] == row[7]
    assert LineRec.from_row(row) == rec
