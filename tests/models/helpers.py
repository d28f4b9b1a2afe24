"""Helpers shared by the model tests."""

from __future__ import annotations

import torch

from bt_attention_lstm.models.network import AttentionLSTM, ModelConfig


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
