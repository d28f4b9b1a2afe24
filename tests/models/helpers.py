"""Helpers shared by the model tests."""

from __future__ import annotations

import numpy as np
import torch

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.inference.inflight_windows import InFlightWindows
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig


def sharp_random_model(config: ModelConfig, seed: int = 0) -> AttentionLSTM:
    """A seeded random network whose logits sit far from zero (weights x3), so that a missed
    scale, bias or member in an inference path shows in its probabilities."""
    torch.manual_seed(seed)
    model = AttentionLSTM(config)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(3.0)
    return model.eval()


def torch_in_flight_probabilities(network: torch.nn.Module, artifact: Artifact,
                                  raw: np.ndarray) -> np.ndarray:
    """The torch per-bar path (``InFlightWindows``, what CUDA runs) driven on the CPU."""
    scaled = torch.from_numpy(artifact.scaler.transform(raw)).float()
    windows, L, got = InFlightWindows(network, torch.device("cpu")), artifact.seq_len, []
    with torch.inference_mode():
        for i, row in enumerate(scaled):
            windows.step(row, i % L)
            if i >= L - 1:
                got.append(torch.softmax(windows.logits(i % L), dim=-1)[0].double().numpy())
    return np.asarray(got)
