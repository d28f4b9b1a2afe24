"""A model that calibration replaced by the class prior says nothing: its constant confidence
(the prior's p_up - p_down) must not open positions, however far it is from zero."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.training.calibration import VectorScaling
from bt_attention_lstm.runners.research.cerebro import run_cerebro
from tests.strategies.conftest import constant_signal_artifact, crafted_market, wiggle
from tests.strategies.live_helpers import HeldBroker, live_cerebro, protected_units

# training labels that rose 70% of the time: the prior's confidence is 0.7 - 0.1 = +0.6
SKEWED_LABELS = np.array([0] * 10 + [1] * 20 + [2] * 70)


def with_calibration(source: Artifact, out: Path, calibration: VectorScaling) -> Artifact:
    save_artifact(out, source.model, source.scaler, source.feature_spec, source.horizon,
                  {"training": source.meta["training"]}, calibrations=[calibration])
    return load_artifact(out)


def test_a_prior_model_never_opens_a_position(tmp_path, caplog):
    raw = constant_signal_artifact(tmp_path / "raw", 0.3, 0.3)
    prior = with_calibration(raw, tmp_path / "prior", VectorScaling.prior(SKEWED_LABELS))
    assert prior.says_nothing and not raw.says_nothing
    df = crafted_market(wiggle(300))
    with caplog.at_level(logging.WARNING, logger="bt_attention_lstm.strategies.attention_lstm"):
        result = run_cerebro(df, prior, {"device": "cpu", "threshold": 0.2})
    assert result.trades.empty
    assert "calibrated to the class prior" in caplog.text


def test_the_same_confidence_from_a_real_model_trades(tmp_path):
    # the control: a (constant) model that was not replaced by the prior, confidence +0.6
    model = constant_signal_artifact(tmp_path / "model", 0.1, 0.7)
    assert not model.says_nothing
    result = run_cerebro(crafted_market(wiggle(300)), model, {"device": "cpu", "threshold": 0.2})
    assert not result.trades.empty


@pytest.mark.parametrize("exit_threshold", [0.0, None])
def test_a_prior_model_leaves_an_adopted_position_to_its_stops(tmp_path, exit_threshold):
    """A prior from labels that fell 70% of the time has a constant confidence of -0.6, which
    any exit rule would read as "against the long position": a constant is no signal, for
    exits as for entries."""
    falling = np.array([0] * 70 + [1] * 20 + [2] * 10)
    raw = constant_signal_artifact(tmp_path / "raw", 0.3, 0.3)
    prior = with_calibration(raw, tmp_path / "prior", VectorScaling.prior(falling))
    cerebro, feed = live_cerebro(crafted_market(wiggle(200)), prior, backfill=120,
                                 broker=HeldBroker(held={}), on_existing_position="adopt",
                                 stop_loss=0.05, threshold=0.2, exit_threshold=exit_threshold)
    cerebro.broker.p.held = {feed: (500.0, 100.0)}
    strat = cerebro.run()[0]
    assert [o for o in strat.broker.orders if strat.order_role(o.ref) in ("entry", "exit")] == []
    assert cerebro.broker.getposition(feed).size == 500
    assert protected_units(strat, feed) == 500
