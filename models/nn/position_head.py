"""A position head as three logits, so that every inference path serves it unchanged.

A long-short position head outputs z and trades tanh(z). With logits (-z, FLAT_LOGIT, z) the
softmax gives p_flat = 0 (to float precision) and p_up - p_down = (e^z - e^-z) / (e^z + e^-z) =
tanh(z). A long-only head trades sigmoid(z): logits (FLAT_LOGIT, 0, z) give p_down = 0 and
p_up - p_down = e^z / (1 + e^z) = sigmoid(z). Either way the confidence line that the batched,
per-bar (numpy and torch), CUDA and stacked-ensemble paths already compute is the position, and
an ensemble's averaged probabilities average its members' positions.
"""

from __future__ import annotations

import copy
import dataclasses

import torch

from bt_attention_lstm.models.nn.network import AttentionLSTM

# exp(FLAT_LOGIT - z) underflows to 0 in float32 and bfloat16 for any |z| the head produces.
FLAT_LOGIT = -1.0e4


def three_logit_twin(model: AttentionLSTM) -> AttentionLSTM:
    """A classifier-shaped copy of a position-head network whose softmax's p_up - p_down is its
    position (module docstring); a classifier is returned as it is."""
    if model.config.head == "classify":
        return model
    twin = AttentionLSTM(dataclasses.replace(model.config, head="classify", n_classes=3))
    state = copy.deepcopy(model.state_dict())
    weight, bias = state.pop("head.1.weight"), state.pop("head.1.bias")
    twin.load_state_dict(state, strict=False)
    head = twin.head_linear
    with torch.no_grad():
        zero, flat = torch.zeros_like(weight), torch.full_like(bias, FLAT_LOGIT)
        if model.config.head == "long":
            head.weight.copy_(torch.cat([zero, zero, weight]))
            head.bias.copy_(torch.cat([flat, torch.zeros_like(bias), bias]))
        else:
            head.weight.copy_(torch.cat([-weight, zero, weight]))
            head.bias.copy_(torch.cat([-bias, flat, bias]))
    return twin.train(model.training)
