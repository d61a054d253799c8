"""The desk's business-hour service levels count on the operator's own calendar (its
holidays, from promise.yaml), the same the promise is computed on."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from ordercare.desk.service_levels import load_service_levels
from ordercare.domain.moments import to_us
from ordercare.engine import Engine
from ordercare.policy import load_policies

HOUR_US = 3_600_000_000


def test_a_business_hours_target_skips_the_operators_holiday():
    policies = load_policies()
    christmas = policies.promise.model_copy(update={"holidays": (date(2026, 12, 25),)})
    engine = Engine(msgspec.structs.replace(policies, promise=christmas))
    desk = load_service_levels().model_copy(update={"clock": "business"})
    opened = to_us(datetime.fromisoformat("2026-12-24T10:00:00+01:00"))  # Thursday, Christmas Eve
    due = desk.due(opened, 24, 60, engine.casework.calendar)
    # Friday the 25th is a holiday here: 24 h from Thursday fall on Monday, not on Friday.
    assert due == to_us(datetime.fromisoformat("2026-12-28T10:00:00+01:00"))
    assert due - opened == 96 * HOUR_US
