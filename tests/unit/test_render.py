"""Local times as the CLI and the contract print them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ordercare.notify.render import iso_local, local


@given(at_us=st.integers(min_value=0, max_value=4_102_444_800_000_000),  # up to 2100
       tz_min=st.integers(min_value=-12 * 60, max_value=14 * 60),
       whole_second=st.booleans())
def test_iso_local_is_exactly_the_datetime_isoformat(at_us: int, tz_min: int, whole_second: bool) -> None:
    if whole_second:
        at_us -= at_us % 1_000_000
    assert iso_local(at_us, tz_min) == local(at_us, tz_min).isoformat()


def test_iso_local_examples() -> None:
    assert iso_local(0, 0) == "1970-01-01T00:00:00+00:00"
    # 31 May 2026 23:30 UTC is already 1 June in Paris (UTC+2), and still 31 May in New York
    at = 1_780_270_200_000_000
    assert iso_local(at, 120) == "2026-06-01T01:30:00+02:00"
    assert iso_local(at, -240) == "2026-05-31T19:30:00-04:00"
    assert iso_local(at + 5, 330) == "2026-06-01T05:00:00.000005+05:30"


def test_a_parcel_held_up_again_is_not_announced_as_on_its_way() -> None:
    from ordercare.notify.render import render
    facts = {"update": "reopened", "titles": ["Le Petit Prince"], "order_id": "o-1", "name": "Anne",
             "reason_text": "no carrier scan", "phone": "", "again": False}
    subject_en, body_en = render("en", "case_update", **facts)
    subject_fr, body_fr = render("fr", "case_update", **facts)
    assert subject_en == "Your order o-1 is held up again" and "held up again" in body_en
    assert subject_fr == "Votre commande o-1 est de nouveau retardée" and "de nouveau bloqué" in body_fr
