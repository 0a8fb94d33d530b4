"""edit_outcome_table on hand-made outcome lists."""

from __future__ import annotations

import pytest

from swe_monkeys.swebench.edit_blocks import RULES
from swe_monkeys.swebench.edit_stats import STATUSES, edit_outcome_table
from swe_monkeys.swebench.edits import EditOutcome


def test_shares_by_status_and_what_each_rule_saved():
    outcomes = ([EditOutcome("no_edits")] * 8 + [EditOutcome("parse_error")] * 4 + [EditOutcome("apply_failed")] * 2
                + [EditOutcome("missing_file")] + [EditOutcome("ok", patch="p")]
                + [EditOutcome("ok", patch="p", rules=("unterminated_block", "indentation"))] * 2
                + [EditOutcome("ok", patch="p", rules=("indentation",))]
                + [EditOutcome("apply_failed", rules=("indentation",))])  # a rule on a failure saves nothing
    table = edit_outcome_table(outcomes)
    assert table["samples"] == 20
    assert list(table["status"]) == list(STATUSES)
    assert table["status"]["no_edits"] == {"count": 8, "share": 0.4}
    assert table["status"]["apply_failed"]["count"] == 3 and table["status"]["no_change"]["count"] == 0
    assert table["status"]["applied"] == {"count": 4, "share": 0.2}
    assert sum(s["count"] for s in table["status"].values()) == 20
    assert (table["applied"], table["applied_exact"], table["rescued"]) == (4, 1, 3)
    assert list(table["applied_by_rule"]) == list(RULES)
    assert table["applied_by_rule"]["indentation"] == 3 and table["applied_by_rule"]["unterminated_block"] == 2
    assert sum(table["applied_by_rule"].values()) == 5  # an outcome may need several rules


def test_an_empty_list_and_unknown_names_are_counted_not_dropped():
    empty = edit_outcome_table([])
    assert empty["samples"] == 0 and all(s == {"count": 0, "share": 0.0} for s in empty["status"].values())
    odd = edit_outcome_table([EditOutcome("weird"), EditOutcome("ok", rules=("from_the_future",))])
    assert list(odd["status"])[-1] == "weird" and odd["status"]["weird"]["share"] == pytest.approx(0.5)
    assert odd["applied_by_rule"]["from_the_future"] == 1


def test_the_table_is_pure():
    outcomes = [EditOutcome("ok", rules=("elision",)), EditOutcome("no_edits")]
    assert edit_outcome_table(outcomes) == edit_outcome_table(iter(outcomes)) == edit_outcome_table(outcomes)
    assert outcomes == [EditOutcome("ok", rules=("elision",)), EditOutcome("no_edits")]
