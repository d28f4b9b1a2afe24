"""The model's probabilities for every bar of a DataFrame, without a Cerebro."""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.features.compute import feature_matrix, warmup_bars
from bt_attention_lstm.models.inference.predictors import BatchedPredictor

logger = logging.getLogger(__name__)

SIGNAL_COLUMNS = ("p_down", "p_flat", "p_up", "confidence")
OHLCV = ("open", "high", "low", "close", "volume")


def predict_frame(
    df: pd.DataFrame,
    model_path: str | os.PathLike[str] | Artifact,
    *,
    device: str = "auto",
    batch_size: int = 4096,
) -> pd.DataFrame:
    """p_down, p_flat, p_up and confidence (p_up - p_down) for every bar of ``df``.

    ``df`` has open/high/low/close/volume columns, oldest bar first; ``model_path`` is an
    artifact directory (or a loaded ``Artifact``). The values equal ``ModelSignal``'s lines on
    the same bars (the same feature code, scaler and batched path); bars inside the warm-up
    (``warmup_bars(spec) + seq_len - 1`` of them) are NaN, and a frame shorter than that is
    all NaN.
    """
    missing = [c for c in OHLCV if c not in df.columns]
    if missing:
        raise DataError(f"predict_frame needs column(s) {', '.join(missing)}")
    artifact = model_path if isinstance(model_path, Artifact) else load_artifact(model_path)
    spec = artifact.feature_spec
    open_, high, low, close, volume = (df[c].to_numpy(dtype=np.float64) for c in OHLCV)
    out = np.full((len(df), len(SIGNAL_COLUMNS)), np.nan)
    first_signal = warmup_bars(spec) + artifact.seq_len - 1  # the first bar with a full window
    if len(df) > first_signal:
        features = feature_matrix(open_, high, low, close, volume, spec=spec)
        predictor = BatchedPredictor(artifact, device, batch_size, threads=None)
        probs = predictor.probabilities(features, first_signal, len(df))
        out[first_signal:, :3] = probs
        out[first_signal:, 3] = probs[:, 2] - probs[:, 0]
    else:
        logger.warning(
            "predict_frame: %d bars; the model needs %d before its first signal", len(df),
            first_signal + 1,
        )
    return pd.DataFrame(out, index=df.index, columns=list(SIGNAL_COLUMNS))
