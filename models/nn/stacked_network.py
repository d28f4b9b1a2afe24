"""StackedFusedEnsemble: an ensemble's fused members run as one network, for inference.

Run one after the other, K members cost K times the per-call overhead of every small operation:
with the default model (hidden 16) that overhead is most of a per-bar step (0.34 ms for one
member, 0.97 ms for three on the development machine). Here the members share every operation:

- Their LSTMs become one ``nn.LSTM`` of hidden K x H whose weights are block-diagonal within
  each gate block (member m's units at rows and columns m*H .. (m+1)*H), so no unit reads
  another member's state: the same recurrences, in one fused kernel. Layer 0 reads the shared
  input row through the members' stacked input weights.
- The rest is one wide network too: the feed-forward block and the head are block-diagonal
  matrices, each member's LayerNorm is one group of a ``group_norm``, and attention uses two
  wide matrices that keep every (member, head) query and output inside its member's block
  (``_attention_weights``). The zero blocks cost arithmetic, which is cheap at these sizes;
  the members no longer cost a call each.
- The output is ``log(mean_k softmax(logits_k))``, as ``AveragedEnsemble``'s: its softmax is the
  members' averaged probability.

The function is the members' (to float rounding, ~1e-6); ``.lstm``, ``.config`` (hidden K x H)
and ``.tail`` follow ``FusedAttentionLSTM``, so ``InFlightWindows`` and the predictors run it
unchanged. Inference only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from bt_attention_lstm.models.nn.fused_network import FusedAttentionLSTM, FusedNetwork


def _block_gates(weights: Sequence[torch.Tensor], hidden: int, block_diagonal: bool
                 ) -> torch.Tensor:
    """One (4 K H, in) weight or (4 K H,) bias from K members' (4 H, in_m) ones, gate by gate
    (nn.LSTM's order i, f, g, o): member m's rows of each gate at m*H .. (m+1)*H; its columns at
    m*in_m .. when ``block_diagonal`` (the input is the members' stacked states), else shared."""
    gates = []
    for q in range(4):
        rows = [w[q * hidden : (q + 1) * hidden] for w in weights]
        if block_diagonal and rows[0].dim() == 2:
            gates.append(torch.block_diag(*rows))
        else:
            gates.append(torch.cat(rows, dim=0))
    return torch.cat(gates, dim=0)


def stacked_lstm(members: Sequence[FusedAttentionLSTM]) -> nn.LSTM:
    """The members' (folded) LSTMs as one LSTM of hidden K x H with block-diagonal gates."""
    cfg, k = members[0].config, len(members)
    h = cfg.hidden
    lstm = nn.LSTM(cfg.n_features, k * h, num_layers=cfg.layers, batch_first=True)
    with torch.no_grad():
        for name, param in lstm.named_parameters():
            parts = [getattr(m.lstm, name).detach().double() for m in members]
            shared_input = name == "weight_ih_l0"  # every member reads the same features
            value = _block_gates(parts, h, block_diagonal=not shared_input)
            param.copy_(value.to(param.dtype))
    return lstm.eval()


def _attention_weights(members: Sequence[FusedAttentionLSTM]) -> dict[str, torch.Tensor]:
    """The members' folded attention as two wide matrices over the stacked state (K H wide).

    ``qk``: the stacked last step -> for each (member k, head n) a query vector over the whole
    stacked state, zero outside member k's block, so one batched product with the sequence
    gives every member's scores. ``vo``: each (k, n) context vector -> member k's attention
    output, reading only member k's block: what the other members' blocks hold is multiplied
    by zero.
    """
    k, h, nh = len(members), members[0].hidden, members[0].heads
    width = k * h
    qk_w = torch.zeros(width, k * nh * width, dtype=torch.float64)
    qk_b = torch.zeros(k * nh * width, dtype=torch.float64)
    vo_w = torch.zeros(k * nh * width, width, dtype=torch.float64)
    for m, member in enumerate(members):
        rows = slice(m * h, (m + 1) * h)
        for n in range(nh):
            cols = slice((m * nh + n) * width + m * h, (m * nh + n) * width + (m + 1) * h)
            qk_w[rows, cols] = member.qk_weight_t[:, n * h : (n + 1) * h].double()
            qk_b[cols] = member.qk_bias[n * h : (n + 1) * h].double()
            vo_w[cols, rows] = member.vo_weight_t[n * h : (n + 1) * h].double()
    vo_b = torch.cat([m.vo_bias.double() for m in members])
    return {"qk_weight_t": qk_w, "qk_bias": qk_b, "vo_weight_t": vo_w, "vo_bias": vo_b}


class StackedFusedEnsemble(FusedNetwork):
    """K fused members as one network: ``log`` of their averaged probabilities."""

    def __init__(self, members: Sequence[FusedAttentionLSTM]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("a stacked ensemble needs at least two members")
        cfg = members[0].config
        if any(m.config != cfg for m in members):
            raise ValueError("the members of an ensemble share one architecture")
        self.members = len(members)
        self.hidden, self.heads = cfg.hidden, cfg.heads
        self.width = self.members * cfg.hidden
        self.config = dataclasses.replace(cfg, hidden=self.width)
        self.lstm = stacked_lstm(members)

        def stacked(name: str) -> torch.Tensor:
            parts = [getattr(m, name).double() for m in members]
            return torch.block_diag(*parts) if parts[0].dim() == 2 else torch.cat(parts)

        buffers = _attention_weights(members)
        for name in ("ffn1_weight_t", "ffn1_bias", "ffn2_weight_t", "ffn2_bias",
                     "head_weight_t", "head_bias", "norm1_weight", "norm1_bias",
                     "norm2_weight", "norm2_bias"):
            buffers[name] = stacked(name)
        for name, value in buffers.items():
            self.register_buffer(name, value.to(torch.float32).contiguous())
        self.norm1_eps = members[0].norm1_eps
        self.norm2_eps = members[0].norm2_eps
        self.log_members = math.log(self.members)
        self.eval()

    def tail(self, seq: torch.Tensor) -> torch.Tensor:
        """log of the averaged probabilities from the stacked LSTM outputs ``seq``
        (batch, seq_len, K x hidden). Each member's LayerNorm is a group of ``group_norm``."""
        b, k, nh, width = seq.shape[0], self.members, self.heads, self.width
        last = seq[:, -1]
        u = torch.addmm(self.qk_bias, last, self.qk_weight_t).view(b, k * nh, width)
        scores = torch.bmm(u, seq.transpose(1, 2))  # (B, K nh, L)
        context = torch.bmm(torch.softmax(scores, dim=-1), seq).view(b, k * nh * width)
        attended = torch.addmm(self.vo_bias, context, self.vo_weight_t)
        z = F.group_norm(last + attended, k, self.norm1_weight, self.norm1_bias, self.norm1_eps)
        ffn = torch.addmm(self.ffn1_bias, z, self.ffn1_weight_t)
        ffn = torch.addmm(self.ffn2_bias, F.gelu(ffn), self.ffn2_weight_t)
        z = F.group_norm(z + ffn, k, self.norm2_weight, self.norm2_bias, self.norm2_eps)
        logits = torch.addmm(self.head_bias, z, self.head_weight_t).view(b, k, -1)
        # log of the mean probability in four light calls (logsumexp would cost eight)
        return torch.log(torch.softmax(logits, dim=-1).sum(dim=1)).sub_(self.log_members)
