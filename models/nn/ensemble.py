"""Several independently seeded AttentionLSTMs in one artifact, their probabilities averaged
(a deep ensemble, Lakshminarayanan et al., 2017).

Each member is calibrated on its own (its vector scaling folded into its head), then the
members' probabilities are averaged: calibration is affine in a member's logits, but not in the
average of several softmaxes, so folding it per member is what keeps every inference path exact.
``AveragedEnsemble`` returns ``log(mean_k softmax(member_k(x)))``: a "logit" whose softmax is the
averaged probability, so any caller that applies softmax to a model's output needs no change.

In ``model.safetensors`` a single model keeps its plain parameter names; an ensemble's are
prefixed ``member{i}.``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from bt_attention_lstm.models.logit_scaling import VectorScaling
from bt_attention_lstm.models.nn.network import AttentionLSTM
from bt_attention_lstm.models.nn.position_head import three_logit_twin

logger = logging.getLogger(__name__)


class AveragedEnsemble(nn.Module):
    """log of the members' averaged probabilities, for (batch, seq_len, n_features) windows."""

    def __init__(self, members: Sequence[AttentionLSTM]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.config = members[0].config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        log_probs = torch.stack([torch.log_softmax(m(x), dim=-1) for m in self.members])
        return torch.logsumexp(log_probs, dim=0) - math.log(len(self.members))


def calibrated_network(
    members: Sequence[AttentionLSTM], calibrations: Sequence[VectorScaling]
) -> tuple[nn.Module, tuple[AttentionLSTM, ...]]:
    """(the network whose softmax is the artifact's probability, the calibrated members).

    One member: that member itself (an ``AttentionLSTM``); several: an ``AveragedEnsemble``.
    A position head becomes its three-logit twin first (``models.nn.position_head``), so the
    softmax's p_up - p_down is its position.
    """
    folded = tuple(
        c.fold_into(three_logit_twin(m)).eval()
        for m, c in zip(members, calibrations, strict=True)
    )
    network: nn.Module = folded[0] if len(folded) == 1 else AveragedEnsemble(folded).eval()
    return network, folded


def member_state(members: Sequence[AttentionLSTM]) -> dict[str, torch.Tensor]:
    """One flat state dict: plain names for a single model, ``member{i}.`` prefixes otherwise."""
    if len(members) == 1:
        return {k: v.detach().cpu().contiguous() for k, v in members[0].state_dict().items()}
    return {
        f"member{i}.{k}": v.detach().cpu().contiguous()
        for i, m in enumerate(members)
        for k, v in m.state_dict().items()
    }


def split_member_state(
    state: Mapping[str, torch.Tensor], n_members: int
) -> list[dict[str, torch.Tensor]]:
    """The inverse of ``member_state``; unexpected keys are left for ``load_state_dict`` to
    refuse (they land in no member, or keep a prefix no member has)."""
    if n_members == 1:
        return [dict(state)]
    parts: list[dict[str, torch.Tensor]] = [{} for _ in range(n_members)]
    for key, value in state.items():
        head, _, rest = key.partition(".")
        index = head.removeprefix("member")
        if head.startswith("member") and index.isdigit() and int(index) < n_members:
            parts[int(index)][rest] = value
        else:
            parts[0][key] = value  # strict loading will name it
    return parts
