"""The README's params table is generated from the strategy's code and stays in step with it."""

from __future__ import annotations

import pytest

from bt_attention_lstm.strategies import AttentionLSTMStrategy
from bt_attention_lstm.strategies.params_table import documented_params, params_table
from tests.conftest import REPO_ROOT

START, END = "<!-- params:start -->", "<!-- params:end -->"


def test_the_readme_holds_the_generated_params_table():
    text = (REPO_ROOT / "README.md").read_text()
    table = text[text.index(START) + len(START):text.index(END)].strip()
    assert table == params_table(), (
        "README's params table is stale: regenerate it with "
        "bt_attention_lstm.strategies.params_table.params_table()"
    )


def test_every_param_has_a_documented_default_equal_to_the_code():
    documented = documented_params()
    for name, _value in AttentionLSTMStrategy.params._getitems():
        assert name in documented, name
    table = params_table()
    assert table.count("\n") == len(AttentionLSTMStrategy.params._getitems()) + 1
    assert "| `sizing` | `None` |" in table and "| `rebalance_band` | `0.1` |" in table


def test_a_docstring_default_that_drifts_from_the_code_is_refused():
    class Drifted(AttentionLSTMStrategy):
        __doc__ = (AttentionLSTMStrategy.__doc__ or "").replace(
            "rebalance_band (0.1)", "rebalance_band (0.2)"
        )

    with pytest.raises(ValueError, match="rebalance_band"):
        params_table(Drifted)
