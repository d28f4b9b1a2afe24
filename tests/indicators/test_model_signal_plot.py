"""cerebro.plot() of a position model: the position alone on ModelSignal's subplot, readable."""

from __future__ import annotations

import backtrader as bt
import pytest

from bt_attention_lstm.indicators import ModelSignal
from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.training.pipeline import train_and_save
from bt_attention_lstm.runners.research.cerebro import pandas_feed

SMALL = ModelConfig(n_features=FeatureSpec().n_features, hidden=8, layers=1, heads=1,
                    dropout=0.0, seq_len=10)


@pytest.fixture(scope="module")
def position_artifact(orcl_df, tmp_path_factory):
    frame = orcl_df.loc["2004":"2008"].copy()
    config = TrainConfig(epochs=1, folds=2, patience=1, batch_size=128, seed=1, device="cpu")
    path, _ = train_and_save([frame], SMALL, config, tmp_path_factory.mktemp("p") / "m",
                             progress=False)
    return load_artifact(path)


class _Probe(bt.Strategy):
    params = (("artifact", None),)

    def __init__(self) -> None:
        self.signal = ModelSignal(self.data, artifact=self.p.artifact, device="cpu")


def _signal(df, artifact) -> ModelSignal:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(pandas_feed(df))
    cerebro.addstrategy(_Probe, artifact=artifact)
    return cerebro.run()[0].signal


def test_a_position_model_plots_its_position_alone(orcl_df, position_artifact):
    signal = _signal(orcl_df.loc["2008":"2010"], position_artifact)
    skipped = {n for n in signal.lines.getlinealiases()
               if getattr(getattr(signal.plotlines, n), "_plotskip", False)}
    assert skipped == {"p_down", "p_flat", "p_up"}
    assert signal.plotlines.confidence._name == "position"


def test_a_classifier_keeps_its_probability_lines(orcl_df, tiny_artifact):
    signal = _signal(orcl_df.loc["2008":"2010"], load_artifact(tiny_artifact))
    assert not any(getattr(getattr(signal.plotlines, n), "_plotskip", False)
                   for n in ("p_down", "p_flat", "p_up"))
    assert signal.plotlines.confidence._name == "confidence"
