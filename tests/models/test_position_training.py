"""The position head and its Sharpe objective: the loss, the panel sampling, the nested CV beside
the rules, the artifact, and that every inference path reads the head's position."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.data.synthetic import planted_edge_market
from bt_attention_lstm.models.errors import ArtifactError, ConfigError
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.inference.frame_predictions import predict_frame
from bt_attention_lstm.models.nn.network import AttentionLSTM
from bt_attention_lstm.models.nn.position_head import three_logit_twin
from bt_attention_lstm.models.portfolio.trading_rules import RULES
from bt_attention_lstm.models.portfolio.vol_targeting import VolTarget
from bt_attention_lstm.models.training.classifier import Segment
from bt_attention_lstm.models.training.pipeline import train_and_save
from bt_attention_lstm.models.training.position import (
    MODEL_NAME,
    PanelTargets,
    SharpeLoss,
    epoch_blocks,
    portfolio_returns,
    position_cv_warnings,
)

N_FEATURES = FeatureSpec().n_features
SMALL = ModelConfig(n_features=N_FEATURES, hidden=8, layers=1, heads=2, dropout=0.0, seq_len=10)
FAST = TrainConfig(epochs=3, patience=2, folds=2, batch_size=128, seed=3, device="cpu")


@pytest.fixture(scope="module")
def planted_artifact(tmp_path_factory):
    df = planted_edge_market(1500, seed=5)
    out = tmp_path_factory.mktemp("position") / "model"
    path, result = train_and_save([df.iloc[:1000]], SMALL, FAST, out, progress=False)
    return df, load_artifact(path), result


def test_three_logit_twin_gives_tanh_as_the_confidence():
    torch.manual_seed(0)
    model = AttentionLSTM(ModelConfig(**{**SMALL.to_dict(), "head": "position"})).eval()
    x = torch.randn(64, SMALL.seq_len, N_FEATURES) * 3.0
    with torch.no_grad():
        probs = torch.softmax(three_logit_twin(model).eval()(x), dim=-1)
        position = model.position(x)
    assert torch.allclose(probs[:, 2] - probs[:, 0], position, atol=1e-6)
    assert float(probs[:, 1].max()) == 0.0
    assert float(position.abs().max()) > 0.5  # the check is not vacuous: positions move


def test_sharpe_loss_is_minus_the_annualised_sharpe_after_costs():
    vol = VolTarget(target_vol=0.15, max_leverage=1.0, periods_per_year=252.0)
    position = torch.tensor([[0.5, 1.0, -0.5, 0.2]], dtype=torch.float64)
    sigma = torch.tensor([[0.01, 0.02, 0.01, 0.015]], dtype=torch.float64)
    nxt = torch.tensor([[0.01, -0.02, 0.005, 0.01]], dtype=torch.float64)
    loss = float(SharpeLoss(vol, cost=0.001)(position, sigma, nxt))
    w = np.clip(position.numpy()[0] * 0.15 / (sigma.numpy()[0] * math.sqrt(252)), -1, 1)
    net = w * nxt.numpy()[0]
    net[1:] -= 0.001 * np.abs(np.diff(w))
    expected = -net.mean() / net.std(ddof=1) * math.sqrt(252)
    assert loss == pytest.approx(expected, rel=1e-6)


def test_epoch_blocks_draw_every_symbol_alike_whatever_its_length():
    long_rows, short_rows = np.arange(0, 5000), np.arange(6000, 6500)
    ends = np.concatenate([long_rows, short_rows])
    symbol = np.zeros(6500, dtype=np.int64)
    symbol[6000:] = 1
    blocks = epoch_blocks(ends, symbol, 50, np.random.default_rng(0))
    from_short = sum(int(b[0] >= 6000) for b in blocks)
    assert len(blocks) == pytest.approx(110, abs=2)
    assert 0.35 < from_short / len(blocks) < 0.65  # 9% of the rows, half of the blocks
    for block in blocks:
        assert np.all(np.diff(block) == 1)  # consecutive bars of one symbol
        assert len(set(symbol[block])) == 1


def test_portfolio_returns_average_the_symbols_date_by_date():
    times = np.array([1, 2, 3, 1, 2], dtype=np.int64)
    targets = PanelTargets(
        next_return=np.array([0.01, -0.02, np.nan, 0.03, np.nan]),
        sigma=np.full(5, 0.15 / math.sqrt(252.0)),  # weight == position
        symbol=np.array([0, 0, 0, 1, 1]),
        rule_positions={},
        periods_per_year=252.0,
    )
    ends = np.array([0, 1, 3])
    positions = np.array([1.0, 0.5, -1.0])
    vol = VolTarget(periods_per_year=252.0)
    returns = portfolio_returns(ends, positions, targets, times, vol, cost=0.0)
    assert returns.loc[1] == pytest.approx((0.01 - 0.03) / 2)
    assert returns.loc[2] == pytest.approx(0.5 * -0.02)


def test_sharpe_training_writes_a_position_artifact_scored_beside_the_rules(planted_artifact):
    df, artifact, result = planted_artifact
    assert artifact.model_config.head == "position"
    assert artifact.meta["objective"] == "sharpe"
    assert artifact.prior_confidence == 0.0 and not artifact.says_nothing
    table = artifact.meta["cv"]["table"]
    assert table["models"] == [MODEL_NAME, *RULES]
    assert len(table["folds"]) == FAST.folds
    assert all(math.isfinite(v["sharpe"]) for v in table["mean"].values())
    signal = predict_frame(df, artifact, device="cpu")
    position = signal["confidence"].dropna()
    assert position.between(-1.0, 1.0).all()
    assert position.std() > 0.05  # it takes positions, not a constant
    assert (signal["p_flat"].dropna() == 0.0).all()


def test_position_cv_warnings_name_the_best_rule():
    table = {"mean": {MODEL_NAME: {"sharpe": 0.3}, "tsmom": {"sharpe": 0.8},
                      "macd": {"sharpe": 0.1}}}
    lines = position_cv_warnings({"table": table})
    assert len(lines) == 1 and "tsmom" in lines[0] and "0.30" in lines[0]
    lines = position_cv_warnings({"table": {"mean": {MODEL_NAME: {"sharpe": -0.2},
                                                     "tsmom": {"sharpe": -0.5}}}})
    assert len(lines) == 1 and "no evidence of an edge" in lines[0]


def test_old_classifier_meta_loads_as_a_classifier():
    raw = SMALL.to_dict()
    raw.pop("head")
    assert ModelConfig.from_dict(raw).head == "classify"
    with pytest.raises(ArtifactError, match="head"):
        ModelConfig.from_dict({**raw, "head": "regress"})
    with pytest.raises(ConfigError, match="objective"):
        TrainConfig(objective="return")


def test_sharpe_objective_needs_the_closes():
    from bt_attention_lstm.models.training.position import PositionTrainer

    seg = Segment(np.zeros((50, N_FEATURES)), np.zeros(50, dtype=np.int64),
                  np.arange(50, dtype=np.int64))
    with pytest.raises(Exception, match="closes"):
        PositionTrainer(SMALL, FAST, progress=False).fit([seg])


def test_panel_targets_score_each_symbol_on_its_own_bars():
    a = planted_edge_market(600, seed=1)
    b = planted_edge_market(400, seed=2)
    segs = [Segment(np.zeros((len(d), N_FEATURES)), np.zeros(len(d), dtype=np.int64),
                    d.index.as_unit("ns").asi8, d["close"].to_numpy()) for d in (a, b)]
    targets = PanelTargets.of(segs)
    assert targets.symbol.tolist() == [0] * 600 + [1] * 400
    # the last bar of each symbol has no next return: no window reads across symbols
    assert np.isnan(targets.next_return[599]) and np.isnan(targets.next_return[999])
    expected = a["close"].iloc[1] / a["close"].iloc[0] - 1
    assert targets.next_return[0] == pytest.approx(expected)
    assert isinstance(pd.Series(targets.sigma).dropna().iloc[0], float)
