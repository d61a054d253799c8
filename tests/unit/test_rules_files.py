"""Rules files fail loudly: the file, the path inside it, the line and the allowed values."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordercare.cli import app
from ordercare.playbooks.proactive import ProactivePlaybook
from ordercare.policy import load_policies
from ordercare.rules import RulesError, parse_rules
from ordercare.watch.thresholds import Thresholds


def test_the_shipped_rules_load():
    policies = load_policies()
    assert policies.watch.no_scan_hours == 24 and policies.watch.stalled_hours == 72
    assert policies.proactive.actions_for("seller_cancellation") == ("refund", "message_customer")


def test_an_unknown_action_names_the_file_the_path_the_line_and_the_choices():
    text = "on_open:\n  late_shipment: [message_customer]\n  seller_cancellation: [refnd]\n"
    with pytest.raises(RulesError) as err:
        parse_rules(text, ProactivePlaybook, "proactive.yaml")
    message = str(err.value)
    assert "proactive.yaml: on_open.seller_cancellation[0] (line 3)" in message
    assert "'refnd'" in message and "message_customer" in message


def test_an_unknown_key_is_refused_with_the_allowed_keys():
    with pytest.raises(RulesError) as err:
        parse_rules("no_scan_hours: 24\nstaled_hours: 72\n", Thresholds, "watch.yaml")
    assert "watch.yaml: staled_hours (line 2): unknown key" in str(err.value)
    assert "stalled_hours" in str(err.value)


def test_ordercare_check_rejects_a_bad_policy_folder(tmp_path: Path):
    (tmp_path / "watch.yaml").write_text("no_scan_hours: -3\n")
    result = CliRunner().invoke(app, ["check", "--policy-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "watch.yaml: no_scan_hours (line 1)" in result.output
    assert CliRunner().invoke(app, ["check"]).exit_code == 0


def test_the_domain_imports_no_database_or_web_code():
    code = ("import sys, ordercare.domain.events, ordercare.domain.order, ordercare.domain.cases, "
            "ordercare.domain.promise; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'alembic', 'psycopg', 'fastapi', 'typer')]; print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_desk_rule_answers_as_another_reason_in_one_step_only():
    from ordercare.desk.playbook import DeskPlaybook, Situation, load_desk_playbook

    limits = "limits: {refund_without_return_max: 60, review_after_refunds: 3}\n"
    with pytest.raises(RulesError) as err:
        parse_rules(limits + "reasons:\n  other:\n    - {actions: [reply], answer_as: where_is_my_order}\n",
                    DeskPlaybook, "playbook.yaml")
    assert "either actions or answer_as" in str(err.value)
    with pytest.raises(RulesError) as err:
        parse_rules(limits + "reasons:\n  other:\n    - {answer_as: not_received}\n"
                    "  not_received:\n    - {answer_as: other}\n", DeskPlaybook, "playbook.yaml")
    assert "one step only" in str(err.value)
    in_transit = Situation(delivered=False, late=False)
    assert load_desk_playbook().decide("not_received", in_transit, 9.5) == ("where_is_my_order", ("reply",))
