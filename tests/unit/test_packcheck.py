"""Behaviour of the pack-station weight check (issue 8): pure, learning, no database."""

from __future__ import annotations

import random
from importlib import resources

import numpy as np
import pytest
import yaml

from ordercare.fulfil.packcheck import PackCheck, PackLine
from ordercare.fulfil.packcheck_policy import PackCheckPolicy, load_policy
from ordercare.rules import RulesError, parse_rules

MUG = PackLine("MUG-350", 2, 350.0)
BOOK = PackLine("BOOK-500", 1, 500.0)


def policy_with(**sections: dict[str, object]) -> PackCheckPolicy:
    """The packaged policy with some values changed, validated like the real file."""
    text = resources.files("ordercare.fulfil").joinpath("packcheck_policy.yaml").read_text()
    data = yaml.safe_load(text)
    for section, values in sections.items():
        data[section].update(values)
    return parse_rules(yaml.safe_dump(data), PackCheckPolicy, "test_policy.yaml")


QUICK = policy_with(learning={"min_history": 6, "class_min_history": 40, "offset_min_history": 20})


def pack_station(pc: PackCheck, lines: list[PackLine], weights: list[float]) -> list[bool]:
    """Run parcels through check and learn like the engine; inspection finds them right."""
    diverted = []
    for w in weights:
        verdict = pc.check(lines, w, "st1")
        pc.learn(lines, w, "ok" if verdict.divert else "passed", "st1")
        diverted.append(verdict.divert)
    return diverted


def test_four_parcels_at_one_station_two_wrong_ones_are_diverted() -> None:
    pc = PackCheck()
    order = [MUG, BOOK]  # 2 x 350 g + 500 g in a 150 g box: 1350 g
    right_a, right_b = 1362.0, 1341.0  # within the packaging's slack
    one_mug_missing = 1003.0
    book_packed_twice = 1848.0

    verdicts = {w: pc.check(order, w, "st1") for w in (right_a, one_mug_missing, right_b)}
    verdicts[book_packed_twice] = pc.check(order, book_packed_twice, "st1")

    assert not verdicts[right_a].divert and not verdicts[right_b].divert
    assert verdicts[right_a].reason == "within_tolerance" and verdicts[right_a].action is None
    for wrong in (one_mug_missing, book_packed_twice):
        v = verdicts[wrong]
        assert v.divert and v.reason == "weight_mismatch"
        assert v.action == "divert_for_inspection"
        assert v.expected_g == pytest.approx(1350.0) and v.basis == "default"
    assert verdicts[one_mug_missing].deviation_g == pytest.approx(-347.0)
    assert verdicts[book_packed_twice].deviation_g == pytest.approx(498.0)

    pc.learn(order, right_a, "passed", "st1")
    pc.learn(order, right_b, "passed", "st1")
    pc.learn(order, one_mug_missing, "missing_item", "st1")
    pc.learn(order, book_packed_twice, "repacked", "st1")
    [st1] = pc.station_report()
    assert (st1.station, st1.parcels, st1.diverted, st1.confirmed_mispacks) == ("st1", 4, 2, 2)
    assert st1.mismatch_rate == 0.5 and st1.pack_accuracy == 0.5
    assert st1.inspection_hit_rate == 1.0
    assert st1.outcomes == {"ok": 0, "repacked": 1, "wrong_item": 0, "missing_item": 1}


def test_sku_with_wrong_catalogue_weight_is_flagged_and_stops_being_diverted() -> None:
    pc = PackCheck()
    lamp = [PackLine("LAMP-1", 1, 400.0)]  # the catalogue says 400 g; a lamp weighs 480 g
    rng = random.Random(8)
    weights = [25 + 480 + rng.gauss(0, 3) for _ in range(12)]  # envelope + lamp

    diverted = pack_station(pc, lamp, weights)

    evidence = pc.policy.catalogue.flag_min_evidence
    assert diverted[:evidence] == [True] * evidence  # every parcel, until proven
    assert not any(diverted[evidence:])  # then the corrected weight is used
    [flag] = pc.catalogue_flags()
    assert flag.sku == "LAMP-1" and flag.catalogue_g == 400.0
    assert flag.estimated_g == pytest.approx(480, abs=3)
    assert flag.evidence == 12 and flag.error_g == pytest.approx(80, abs=3)
    assert pc.check(lamp, 506.0).corrected_skus == ("LAMP-1",)
    assert pc.check(lamp, 425.0).divert  # a parcel at the catalogue weight is now suspect

    fixed = [PackLine("LAMP-1", 1, 480.0)]  # the catalogue gets corrected: the flag goes
    pc.learn(fixed, 506.0, "passed")
    assert pc.catalogue_flags() == []


def test_ok_inspection_teaches_the_weight_but_mispacks_do_not() -> None:
    pc = PackCheck()
    cup = [PackLine("CUP", 1, 200.0)]
    pc.learn(cup, 300.0, "ok", "st2")  # diverted, yet inspection found it right
    assert pc.state.skus["CUP"].unit_g == [pytest.approx(275.0)]

    for outcome in ("repacked", "wrong_item", "missing_item"):
        pc.learn(cup, 900.0, outcome, "st2")
    assert pc.state.skus["CUP"].unit_g == [pytest.approx(275.0)]  # not evidence
    [st2] = pc.station_report()
    assert (st2.parcels, st2.diverted, st2.confirmed_mispacks) == (4, 4, 3)
    assert st2.inspection_hit_rate == 0.75 and st2.pack_accuracy == 0.25


def test_learned_tolerance_catches_a_light_unit_the_default_lets_through() -> None:
    pc = PackCheck(QUICK)
    clips = [PackLine("CLIP", 2, 25.0)]  # 2 x 25 g in a 25 g envelope: 75 g
    rng = random.Random(1)
    right = [rng.gauss(25, 1) + rng.gauss(25, 0.2) + rng.gauss(25, 0.2) for _ in range(60)]
    one_missing = 50.0

    first = pc.check(clips, one_missing)
    assert first.basis == "default" and not first.divert  # 25 g is inside max(30 g, 5 %)

    pack_station(pc, clips, right)

    later = pc.check(clips, one_missing)
    assert later.basis == "learned" and later.divert
    assert later.tolerance_g < first.tolerance_g / 2
    assert not pc.check(clips, 76.0).divert


def test_tolerance_grows_with_quantity_of_a_variable_product() -> None:
    pc = PackCheck(QUICK)
    rng = random.Random(2)
    for _ in range(150):  # cheese wheels: 1.2 kg each, +-3 % unit to unit
        qty = rng.choice([1, 1, 1, 2, 3])
        lines = [PackLine("CHEESE", qty, 1200.0)]
        box = 350.0 if qty > 1 else 150.0
        w = box * rng.gauss(1, 0.03) + sum(rng.gauss(1200, 36) for _ in range(qty))
        pc.learn(lines, w + rng.gauss(0, 3), "passed")

    one, three = (pc.expected([PackLine("CHEESE", q, 1200.0)]) for q in (1, 3))
    assert one.basis == three.basis == "learned"
    assert three.sigma_g > 1.4 * one.sigma_g  # unit spread adds up: about sqrt(3) times
    assert 20 < pc.state.skus["CHEESE"].unit_var ** 0.5 < 55


def test_packaging_that_weighs_more_than_the_policy_says_is_learnt_not_blamed_on_skus() -> None:
    pc = PackCheck(QUICK)
    rng = random.Random(3)
    for i in range(80):  # the new box_s weighs 185 g where the policy says 150 g
        lines = [PackLine(f"TOY-{i % 8}", 1, 500.0 + 60 * (i % 8))]
        pc.learn(lines, 185 + lines[0].weight_g + rng.gauss(0, 4), "passed")

    assert pc.state.classes["box_s"].offset_g == pytest.approx(35, abs=3)
    assert pc.catalogue_flags() == []
    assert not pc.check([PackLine("TOY-3", 1, 680.0)], 865.0).divert


def test_a_parcel_with_two_unknown_skus_teaches_neither() -> None:
    pc = PackCheck()
    pc.learn([PackLine("A", 1, 100.0), PackLine("B", 1, 300.0)], 440.0, "passed")
    assert pc.state.skus == {}
    pc.learn([PackLine("A", 1, 100.0)], 126.0, "passed")
    assert pc.state.skus["A"].unit_g == [pytest.approx(101.0)]


def test_check_is_a_pure_query_and_state_round_trips() -> None:
    pc = PackCheck(QUICK)
    rng = random.Random(4)
    pack_station(pc, [MUG, BOOK], [1350 + rng.gauss(0, 8) for _ in range(50)])
    pc.learn([PackLine("MUG-350", 1, np.float64(350.0))], np.float64(520.0), "passed")
    before = pc.dumps()
    verdict = pc.check([MUG, BOOK], 1380.0, "st1")
    assert pc.dumps() == before

    again = PackCheck.loads(before, QUICK)
    assert again.check([MUG, BOOK], 1380.0, "st1") == verdict
    assert again.station_report() == pc.station_report()


def test_bad_input_is_refused_with_the_allowed_values() -> None:
    pc = PackCheck()
    with pytest.raises(ValueError, match="ok, repacked, wrong_item, missing_item"):
        pc.learn([MUG], 700.0, "broken")
    with pytest.raises(ValueError, match="at least one line"):
        pc.check([], 100.0)
    with pytest.raises(ValueError, match="qty must be >= 1"):
        pc.check([PackLine("MUG-350", 0, 350.0)], 100.0)
    with pytest.raises(ValueError, match="known: envelope, box_s, box_m, box_l"):
        pc.check([MUG], 800.0, packaging="crate")


def test_policy_file_errors_name_the_file_the_path_and_the_line() -> None:
    text = resources.files("ordercare.fulfil").joinpath("packcheck_policy.yaml").read_text()
    bad = text.replace("  k_sigma: 3.5", "  k_sigmaa: 3.5")
    with pytest.raises(RulesError) as err:
        parse_rules(bad, PackCheckPolicy, "packcheck_policy.yaml")
    message = str(err.value)
    assert "packcheck_policy.yaml: learning.k_sigmaa (line " in message
    assert "unknown key; allowed keys are:" in message
    assert "packcheck_policy.yaml: learning.k_sigma" in message  # now missing

    no_catch_all = yaml.safe_load(text)
    del no_catch_all["packaging"][-1]
    with pytest.raises(
        RulesError, match=r"policy.yaml: packaging .*'box_m'.*must be the catch-all"
    ):
        parse_rules(yaml.safe_dump(no_catch_all), PackCheckPolicy, "packcheck_policy.yaml")
    load_policy()  # the shipped file is valid


def test_windows_shorter_than_the_history_they_need_are_refused() -> None:
    with pytest.raises(RulesError, match=r"learning.sku_window \(6\).*min_history"):
        policy_with(learning={"sku_window": 6, "min_history": 8})
