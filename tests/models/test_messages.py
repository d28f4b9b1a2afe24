"""Library messages name parameters in backticks, never a command's flags: the CLI turns
`folds` into --folds (runners.cli.errors), a notebook user reads the parameter they pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.data import require_one_timeframe, timeframe_mismatch
from bt_attention_lstm.models.data.synthetic import synthetic_market
from bt_attention_lstm.models.device import resolve_device
from bt_attention_lstm.models.errors import ConfigError, DataError
from bt_attention_lstm.models.training.multi_symbol import expand_data_paths
from bt_attention_lstm.models.training.nested_cv import inner_split

DAY = 86_400_000_000_000


def test_a_short_training_fold_asks_for_fewer_folds_by_parameter():
    with pytest.raises(DataError, match=r"use more data or fewer `folds`$"):
        inner_split(np.arange(15, dtype=np.int64) * DAY, 0.2, 5)


def test_an_empty_data_folder_is_named_as_the_data_parameter(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"^`data`={tmp_path}: no .csv/.txt/.parquet files in it$"):
        expand_data_paths([str(tmp_path)])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_a_missing_gpu_points_at_the_device_parameter():
    with pytest.raises(ConfigError, match=r"no CUDA GPU is available; use `device`=cpu$"):
        resolve_device("cuda")


def test_files_of_different_timeframes_point_at_the_timeframe_parameter():
    daily = synthetic_market(30, seed=1)
    minutes = synthetic_market(30, seed=1, start="2020-01-02 09:30", freq="5min")
    with pytest.raises(DataError, match=r"\(synthetic: 1d, synthetic: 5min\).*one `timeframe`$"):
        require_one_timeframe([daily, minutes])
    assert require_one_timeframe([daily, daily.iloc[:20]]) == "1d"


def test_config_errors_name_the_parameters_and_their_values():
    with pytest.raises(ConfigError, match=r"^`hidden`=10 must be divisible by `heads`=4$"):
        ModelConfig(n_features=15, hidden=10, heads=4)
    with pytest.raises(ConfigError, match=r"^`lr` must be a positive number, got -1.0$"):
        TrainConfig(lr=-1.0)


def test_timeframe_mismatch_is_none_when_the_model_knows_no_other_timeframe():
    meta = {"training": {"timeframe": "1d"}}
    assert timeframe_mismatch(meta, "1d") is None
    assert timeframe_mismatch({}, "5min") is None  # an artifact that never recorded it
    assert timeframe_mismatch(meta, "1w") == (
        "the model was trained on 1d bars but the data has 1w bars"
    )
