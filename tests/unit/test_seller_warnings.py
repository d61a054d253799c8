"""A seller whose rate hovers at its target is warned once, not every time it slips back."""

from __future__ import annotations

from datetime import UTC, datetime

from ordercare.domain.order import DAY_US
from ordercare.sellers.capability import SellerHealth
from ordercare.sellers.standing import Standing
from ordercare.sellers.status import SellerStatus

T0 = 1_780_000_000_000_000


def _go(health: SellerHealth, st: Standing, state: str, at: int) -> None:
    metrics = health.book.metrics("s1", at)
    health._change("s1", st, metrics, SellerStatus("s1", datetime.now(UTC), state, ()), at)  # type: ignore[arg-type]


def test_back_at_risk_soon_after_recovering_continues_the_same_warning() -> None:
    health = SellerHealth()
    assert health.policy.warning.repeat_after_days == 14
    st = health._standing("s1")
    _go(health, st, "at_risk", T0)
    first = st.case
    assert first is not None and [a.type for a in first.actions] == ["seller_warning"]
    _go(health, st, "good", T0 + 2 * DAY_US)
    assert st.case is None and first.status == "resolved"
    _go(health, st, "at_risk", T0 + 5 * DAY_US)  # three days later: the same case goes on
    assert st.case is first and first.status == "open" and first.resolved_us is None
    assert [a.type for a in first.actions] == ["seller_warning", "seller_still_at_risk"]
    assert st.cases == 1, "no second warning case"

    _go(health, st, "good", T0 + 6 * DAY_US)
    _go(health, st, "at_risk", T0 + 30 * DAY_US)  # weeks later: a new warning
    assert st.case is not None and st.case is not first and st.cases == 2
    assert [a.type for a in st.case.actions] == ["seller_warning"]


def test_the_last_warning_survives_a_restart() -> None:
    health = SellerHealth()
    st = health._standing("s1")
    _go(health, st, "at_risk", T0)
    _go(health, st, "good", T0 + DAY_US)
    again = Standing.from_row(st.status, st.since_us, st.data())
    assert again.last_warning is not None and again.last_warning.id == st.last_warning.id  # type: ignore[union-attr]
    assert again.last_warning.order_id is None  # type: ignore[union-attr]
