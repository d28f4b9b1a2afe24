"""The final fit of a position model must fit its training bars: a network that earns no
positive Sharpe on them (its folds chose one epoch, so its positions are still its random
start's) is trained again from another seed.

The case is a real one of the built-in market's family (docs/MODEL_QUALITY.md): market seed 5,
training seed 9, the default model. Its folds chose epochs 1, 1 and 8; the first final network
trades against the trend, in sample and out of sample."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.data.synthetic import synthetic_market
from bt_attention_lstm.models.training import position
from bt_attention_lstm.models.training.pipeline import train_and_save
from bt_attention_lstm.runners.research.default_model import (
    DEFAULT_TRAIN_CONFIG,
    default_model_config,
)
from bt_attention_lstm.runners.research.evaluation.beside_rules import model_positions

TRAIN_BARS = 2400


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    df = synthetic_market(4000, seed=5)
    config = dataclasses.replace(DEFAULT_TRAIN_CONFIG, seed=9, device="cpu", ensemble=1)
    out = tmp_path_factory.mktemp("final-fit") / "model"
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.WARNING)
    position.logger.addHandler(handler)
    try:
        path, result = train_and_save([df.iloc[:TRAIN_BARS]], default_model_config(), config,
                                      out, progress=False)
    finally:
        position.logger.removeHandler(handler)
    return df, load_artifact(path), result, [r.getMessage() for r in records]


def test_a_final_network_that_does_not_fit_is_trained_again(trained):
    _, _, result, messages = trained
    assert result.final_epochs == 1  # the folds chose epochs 1, 1 and 8
    assert [f.chosen_epochs for f in result.cv.folds] == [[1], [1], [8]]
    retried = [m for m in messages if "did not fit" in m]
    assert len(retried) == 1 and "from seed 1009" in retried[0]  # the first attempt's seed
    assert "training it again" in retried[0]
    assert result.training_sharpe[0] > 0.5
    # recorded in the artifact's meta.json and shown by train
    assert result.cv_summary()["final_training_sharpe"] == result.training_sharpe


def test_the_kept_network_follows_the_trend_it_was_trained_on(trained):
    df, artifact, _, _ = trained
    held = model_positions(df, artifact, allow_short=True)
    momentum = np.log(df["close"]).diff().rolling(60).sum()
    in_sample = pd.concat([held, momentum], axis=1).iloc[:TRAIN_BARS].dropna()
    out_of_sample = pd.concat([held, momentum], axis=1).iloc[TRAIN_BARS:].dropna()
    # the first attempt's positions correlated -0.7 with the 60-bar return, in sample and out
    assert in_sample.corr().iloc[0, 1] > 0.3
    assert out_of_sample.corr().iloc[0, 1] > 0.3
