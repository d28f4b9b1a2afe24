"""The model the benchmark measures: an architecture of ``--model-size`` with random weights,
saved and loaded as a real artifact (inference cost does not depend on training), and its FLOPs
per window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.config import ModelConfig
from bt_attention_lstm.models.features.compute import DEFAULT_SPEC, compute_features
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.nn.network import AttentionLSTM
from tests.perf.timing import SEED

MODEL_SIZES = ("design", "small")



def model_config_for(size: str) -> ModelConfig:
    """The architecture of ``size`` with the default objective's head (a position)."""
    if size == "small":
        from bt_attention_lstm.runners.research.default_model import (
            default_model_config,
        )

        return default_model_config(DEFAULT_SPEC)
    return ModelConfig(n_features=DEFAULT_SPEC.n_features, head="position")


def ensemble_for(size: str, ensemble: int | None) -> int:
    """--ensemble, or its default: one member for design, the default model's for small."""
    if ensemble is not None:
        return ensemble
    if size == "small":
        from bt_attention_lstm.runners.research.default_model import (
            DEFAULT_TRAIN_CONFIG,
        )

        return DEFAULT_TRAIN_CONFIG.ensemble
    return 1


def random_artifact(
    df: pd.DataFrame, out: Path, model_config: ModelConfig, members: int = 1
) -> Artifact:
    """The architecture with random weights (``members`` of them: an ensemble when several),
    saved and loaded as a real artifact."""
    features = compute_features(df).to_numpy()
    models = []
    for m in range(members):
        torch.manual_seed(SEED + m)
        models.append(AttentionLSTM(model_config).eval())
    scaler = FeatureScaler.fit(features[np.isfinite(features).all(axis=1)])
    save_artifact(out, models, scaler, DEFAULT_SPEC, horizon=5, extra_meta={"benchmark": True})
    return load_artifact(out)


def flops_per_window(cfg: ModelConfig, fused: bool) -> float:
    """Multiply-add FLOPs (x2) of one window: AttentionLSTM as written, or its fused twin."""
    L, F, H, nh = cfg.seq_len, cfg.n_features, cfg.hidden, cfg.heads
    upper_layers = (cfg.layers - 1) * L * 2 * H * 4 * H * 2
    ffn_head = 2 * H * 2 * H * 2 + H * cfg.n_classes * 2
    if fused:
        lstm = L * (F + H) * 4 * H * 2 + upper_layers
        attention = 2 * H * nh * H * 2 + 2 * nh * L * H * 2
    else:
        lstm = L * F * H * 2 + L * 2 * H * 4 * H * 2 + upper_layers
        attention = L * H * 2 * H * 2 + 2 * H * H * 2 + 2 * L * H * 2
    return float(lstm + attention + ffn_head)
