"""StrategyConfig: the flat params read into groups, checked in one place, without a Cerebro."""

from __future__ import annotations

import pytest

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from bt_attention_lstm.strategies.config import DEFAULTS, StrategyConfig


def test_the_defaults_resolve_as_for_a_classifier() -> None:
    config = StrategyConfig.from_params({})
    assert config.sizing.rule == "confidence" and not config.sizing.vol_target
    assert config.entry.threshold == 0.2 and config.entry.exit_level == 0.0
    assert config.entry.cooldown == 0
    assert config.risk.stop_loss == 0.05 and config.risk.trail_percent is None
    assert config.live.on_existing_position == "refuse" and config.live.state_path is None
    assert dict(AttentionLSTMStrategy.params._getitems()) == DEFAULTS


def test_the_rule_decides_the_defaults_left_at_none() -> None:
    config = StrategyConfig.from_params({"sizing": "vol_target", "exit_threshold": None})
    assert config.entry.threshold == 0.0 and config.entry.cooldown == 5
    assert config.entry.exit_level == 0.0
    assert StrategyConfig.from_params({"exit_threshold": None}).entry.exit_level == -0.2


@pytest.mark.parametrize(("params", "named"), [
    ({"stop_loss": -0.1}, "`stop_loss`"),
    ({"atr_stop": 0}, "`atr_stop`"),
    ({"threshold": 1.5}, "`threshold`"),
    ({"exit_threshold": 0.5}, "`exit_threshold`"),
    ({"max_position": 0}, "`max_position`"),
    ({"rebalance_band": 1.0}, "`rebalance_band`"),
    ({"cooldown": -1}, "`cooldown`"),
    ({"cooldown": True}, "`cooldown`"),
    ({"sizing": "kelly"}, "`sizing`"),
    ({"on_existing_position": "sell"}, "`on_existing_position`"),
    ({"max_order_retries": 1.5}, "`max_order_retries`"),
    ({"regime_scale": 2}, "`regime_scale`"),
    ({"target_vol": "high"}, "`target_vol`"),
])
def test_a_bad_value_names_its_param(params: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        StrategyConfig.from_params(params)


def test_an_unknown_param_is_refused() -> None:
    with pytest.raises(ConfigError, match="stoploss"):
        StrategyConfig.from_params({"stoploss": 0.1})


def test_the_groups_are_frozen() -> None:
    config = StrategyConfig.from_params({})
    with pytest.raises(AttributeError):
        config.risk.stop_loss = 0.1  # type: ignore[misc]
