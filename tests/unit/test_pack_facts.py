"""A parcel's record stored before its facts were kept (migration 0013) still tells them."""

from __future__ import annotations

from ordercare.fulfil.packing import INSPECTED, WEIGHED, pack_facts
from ordercare.fulfil.tables import PackRec


def test_a_record_stored_before_its_facts_were_kept_tells_them_from_its_columns() -> None:
    rec = PackRec("sh-1", "o-1", "s-1", "FC-PAR", "st-1", 100, 1003.0, verdict="diverted", state="held",
                  outcome="repacked", inspected_us=200, rechecks=1, recheck_us=300, recheck_g=1001.0,
                  recheck_verdict="diverted", recheck_outcome="missing_item")
    assert pack_facts(rec) == [
        [100, WEIGHED, 1, 1003.0, "st-1", "FC-PAR"],
        [200, INSPECTED, 1, "repacked"],
        [300, WEIGHED, 1, 1001.0, "st-1", "FC-PAR"],
        [300, INSPECTED, 1, "missing_item"],
    ], "all of them already learnt: reading them again teaches the check nothing twice"


def test_a_record_with_its_facts_gives_them_as_kept() -> None:
    facts = [[100, WEIGHED, 0, 1352.0, "st-1", "FC-PAR"]]
    assert pack_facts(PackRec("sh-1", "o-1", None, "FC-PAR", "st-1", 100, 1352.0, facts=facts)) is facts
