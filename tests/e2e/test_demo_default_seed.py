"""The demo's own promise, on the default seed (the world `ordercare demo` shows a newcomer):
the scorecard's targets hold, so the figures in the README cannot drift below them unseen.
About a minute: the whole 20,000-order world, with its twin."""

from __future__ import annotations

import pytest

from ordercare.sim.demo import run_demo
from ordercare.sim.world import FLAKY_CARRIER


@pytest.mark.slow
def test_default_world_meets_the_scorecard_targets(tmp_path):
    card = run_demo(db_url=f"sqlite:///{tmp_path}/demo.db", report_path=str(tmp_path / "report.html"),
                    progress=False)
    t = card.totals
    assert t["recall"] >= 0.95 and t["precision"] >= 0.95, t
    assert t["proactive_rate"] >= 0.9, t
    assert card.contacts["reduction"] >= 0.6, card.contacts
    assert card.contacts["self_service"]["made_good"] >= 0.8 * card.contacts["self_service"]["clicks"] > 0
    flagged = [(f["dimension"], f["key"]) for f in card.flags if not f.get("missed")]
    missed = [(f["dimension"], f["key"]) for f in card.flags if f.get("missed")]
    assert not [m for m in missed if m[0] in ("seller", "carrier")], missed
    carriers = [key for dim, key in flagged if dim == "carrier"]
    assert carriers[:1] == [FLAKY_CARRIER], flagged
    assert flagged[0] == ("carrier", FLAKY_CARRIER), "the flaky carrier tops the insights"
    sellers = [f for f in card.flags if f["dimension"] == "seller" and not f.get("missed")]
    assert sellers and all(f["truly_bad"] for f in sellers), "every seller flagged is truly bad"
    # The desk's replacements: asked of the warehouse and the sellers, sent by the world (or
    # not); every one not shipped by its ship-by is chased at once, none sent in time is.
    rp = card.replacements
    assert rp["requests"] >= 30 and rp["to_platform"] > 0 and rp["kept"] >= 0.8 * rp["requests"], rp
    assert rp["broken"] >= 1 and rp["chased"] == rp["broken"] and rp["delay_median_h"] < 1, rp
    assert rp["false_chases"] == 0, rp
