"""A position-head model (the Sharpe objective, the default) through AttentionLSTMStrategy: it
trades with volatility targeting by default, identically in every run mode, and abstains only
when asked to and its training found no edge."""

from __future__ import annotations

import pytest

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.data.synthetic import planted_edge_market, random_walk_market
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.training.pipeline import train_and_save
from bt_attention_lstm.models.training.position import position_cv_warnings
from bt_attention_lstm.runners.research.cerebro import run_cerebro

SMALL = ModelConfig(
    n_features=FeatureSpec().n_features, hidden=8, layers=1, heads=2, dropout=0.0, seq_len=10
)
FAST = TrainConfig(epochs=3, patience=2, folds=2, batch_size=128, seed=3, device="cpu")
PARAMS = {"device": "cpu"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    df = planted_edge_market(1400, seed=5)
    out = tmp_path_factory.mktemp("planted") / "model"
    path, _ = train_and_save([df.iloc[:900]], SMALL, FAST, out, progress=False)
    return df, load_artifact(path)


def test_a_position_model_trades_with_vol_targeting_in_every_run_mode(planted):
    df, artifact = planted
    start = df.index[900]
    runs = [
        run_cerebro(df, artifact, PARAMS, trade_start=start, runonce=runonce, preload=preload)
        for runonce, preload in ((True, True), (False, True), (False, False))
    ]
    first = runs[0]
    assert len(first.trades) >= 3
    for other in runs[1:]:
        assert other.final_value == pytest.approx(first.final_value, rel=1e-9)
        assert other.trades[["entry_time", "exit_time", "size"]].equals(
            first.trades[["entry_time", "exit_time", "size"]]
        )


def test_abstain_opens_nothing_when_training_found_no_edge(tmp_path):
    df = random_walk_market(1400, seed=1)
    path, _ = train_and_save([df.iloc[:900]], SMALL, FAST, tmp_path / "m", progress=False)
    artifact = load_artifact(path)
    # the premise of this test: training on a random walk found no edge (deterministic on CPU)
    assert position_cv_warnings(artifact.meta["cv"])
    start = df.index[900]
    both_sides = {**PARAMS, "allow_short": True}
    trading = run_cerebro(df, artifact, both_sides, trade_start=start)
    abstaining = run_cerebro(df, artifact, {**both_sides, "abstain": True}, trade_start=start)
    assert len(trading.trades) > 0
    assert abstaining.trades.empty
    assert abstaining.final_value == pytest.approx(100_000.0)
