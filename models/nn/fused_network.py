"""FusedAttentionLSTM: the forward pass of a trained AttentionLSTM, reorganised for inference.

It computes the same function as ``AttentionLSTM.forward`` in eval mode (to float rounding,
~1e-6) with a third less arithmetic:

- The input projection is folded into the first LSTM layer: ``W_ih (W_p x + b_p) + b_ih =
  (W_ih W_p) x + (W_ih b_p + b_ih)``, so layer 0 reads the n_features inputs directly
  (15 x 512 instead of 128 x 512 multiply-adds per step), still through ``nn.LSTM``'s fused
  oneDNN/cuDNN kernel.
- Attention has a single query (the last step), so the key and value projections of all
  ``seq_len`` steps are replaced by projections of the query and of the attention-weighted
  sum: ``q . (W_k s_j + b_k) = (W_k^T q) . s_j + const`` (a constant per query drops out of
  the softmax) and ``sum_j a_j (W_v s_j + b_v) = W_v (sum_j a_j s_j) + b_v`` (the weights sum
  to 1).

Weights are folded in float64 and stored as float32 buffers; the trained parameters and the
artifact format are untouched. Dropout is the identity here: this module is for eval only.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from bt_attention_lstm.models.config import ModelConfig
from bt_attention_lstm.models.nn.network import AttentionLSTM


def _f64(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(device="cpu", dtype=torch.float64)


def folded_lstm(model: AttentionLSTM) -> nn.LSTM:
    """``model.lstm`` with ``model.input_proj`` folded into layer 0 (input size n_features)."""
    cfg = model.config
    lstm = nn.LSTM(cfg.n_features, cfg.hidden, num_layers=cfg.layers, batch_first=True)
    w_p, b_p = _f64(model.input_proj.weight), _f64(model.input_proj.bias)
    w_ih0 = _f64(model.lstm.get_parameter("weight_ih_l0"))
    with torch.no_grad():
        for name, param in lstm.named_parameters():
            value = _f64(getattr(model.lstm, name))
            if name == "weight_ih_l0":
                value = w_ih0 @ w_p
            elif name == "bias_ih_l0":
                value = value + w_ih0 @ b_p
            param.copy_(value.to(torch.float32))
    return lstm.eval()


TAIL_BUFFERS = (
    "qk_weight_t", "qk_bias", "vo_weight_t", "vo_bias", "norm1_weight", "norm1_bias",
    "ffn1_weight_t", "ffn1_bias", "ffn2_weight_t", "ffn2_bias", "norm2_weight", "norm2_bias",
    "head_weight_t", "head_bias",
)


class FusedNetwork(nn.Module):
    """What the inference paths read of a fused network: an LSTM over the feature rows, then
    ``tail`` (attention, feed-forward block, head) from its last layer's outputs, whose weights
    are the ``TAIL_BUFFERS``. ``members``: the networks stacked in it (1 unless an ensemble)."""

    config: ModelConfig
    lstm: nn.LSTM
    members: int
    hidden: int
    heads: int
    norm1_eps: float
    norm2_eps: float
    # buffers, registered by name in __init__
    qk_weight_t: torch.Tensor
    qk_bias: torch.Tensor
    vo_weight_t: torch.Tensor
    vo_bias: torch.Tensor
    norm1_weight: torch.Tensor
    norm1_bias: torch.Tensor
    ffn1_weight_t: torch.Tensor
    ffn1_bias: torch.Tensor
    ffn2_weight_t: torch.Tensor
    ffn2_bias: torch.Tensor
    norm2_weight: torch.Tensor
    norm2_bias: torch.Tensor
    head_weight_t: torch.Tensor
    head_bias: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, _ = self.lstm(x)
        return self.tail(seq)

    def tail_weights(self) -> dict[str, torch.Tensor]:
        """The ``TAIL_BUFFERS`` by name."""
        return {name: self.get_buffer(name) for name in TAIL_BUFFERS}

    def tail(self, seq: torch.Tensor) -> torch.Tensor:
        """The output from the last LSTM layer's outputs ``seq`` (batch, seq_len, hidden)."""
        raise NotImplementedError


class FusedAttentionLSTM(FusedNetwork):
    """Inference-only twin of an ``AttentionLSTM``: logits of (batch, seq_len, n_features)."""

    def __init__(self, model: AttentionLSTM) -> None:
        super().__init__()
        cfg = model.config
        attention = model.attention
        if not attention._qkv_same_embed_dim or attention.bias_k is not None:
            raise ValueError("FusedAttentionLSTM expects AttentionLSTM's plain attention block")
        self.config = cfg
        self.members = 1
        self.hidden, self.heads = cfg.hidden, cfg.heads
        self.head_dim = cfg.hidden // cfg.heads
        self.lstm = folded_lstm(model)
        h, nh, d = self.hidden, self.heads, self.head_dim
        w_in, b_in = _f64(attention.in_proj_weight), _f64(attention.in_proj_bias)
        scale = 1.0 / math.sqrt(d)  # nn.MultiheadAttention scales q by 1/sqrt(head_dim)
        w_q, b_q = w_in[:h].reshape(nh, d, h) * scale, b_in[:h].reshape(nh, d) * scale
        w_k = w_in[h : 2 * h].reshape(nh, d, h)
        w_v, b_v = w_in[2 * h :].reshape(nh, d, h), b_in[2 * h :]
        w_o, b_o = _f64(attention.out_proj.weight), _f64(attention.out_proj.bias)
        w_o_heads = w_o.reshape(h, nh, d).transpose(0, 1)  # (nh, H_out, d)
        ffn1, ffn2 = model.ffn_linears
        head = model.head_linear
        buffers = {
            # u_h = W_k,h^T q_h: head h's query mapped back to the LSTM output space.
            "qk_weight_t": (w_k.transpose(1, 2) @ w_q).reshape(nh * h, h).T,  # (H, nh*H)
            "qk_bias": (w_k.transpose(1, 2) @ b_q.unsqueeze(-1)).reshape(nh * h),
            # out = sum_h W_o,h W_v,h context_h + (W_o b_v + b_o)
            "vo_weight_t": (w_o_heads @ w_v).transpose(1, 2).reshape(nh * h, h),  # (nh*H, H)
            "vo_bias": w_o @ b_v + b_o,
            "norm1_weight": _f64(model.attn_norm.weight),
            "norm1_bias": _f64(model.attn_norm.bias),
            "ffn1_weight_t": _f64(ffn1.weight).T,
            "ffn1_bias": _f64(ffn1.bias),
            "ffn2_weight_t": _f64(ffn2.weight).T,
            "ffn2_bias": _f64(ffn2.bias),
            "norm2_weight": _f64(model.ffn_norm.weight),
            "norm2_bias": _f64(model.ffn_norm.bias),
            "head_weight_t": _f64(head.weight).T,
            "head_bias": _f64(head.bias),
        }
        for name, value in buffers.items():
            self.register_buffer(name, value.to(torch.float32).contiguous())
        self.norm1_eps = float(model.attn_norm.eps)
        self.norm2_eps = float(model.ffn_norm.eps)
        self.eval()

    def tail(self, seq: torch.Tensor) -> torch.Tensor:
        """Logits from the last LSTM layer's outputs ``seq`` (batch, seq_len, hidden)."""
        b, h, nh = seq.shape[0], self.hidden, self.heads
        last = seq[:, -1]
        u = torch.addmm(self.qk_bias, last, self.qk_weight_t).view(b, nh, h)
        scores = torch.bmm(u, seq.transpose(1, 2))  # (B, nh, L)
        context = torch.bmm(torch.softmax(scores, dim=-1), seq)  # (B, nh, H)
        attended = torch.addmm(self.vo_bias, context.view(b, nh * h), self.vo_weight_t)
        z = F.layer_norm(last + attended, (h,), self.norm1_weight, self.norm1_bias, self.norm1_eps)
        ffn = torch.addmm(self.ffn1_bias, z, self.ffn1_weight_t)
        ffn = torch.addmm(self.ffn2_bias, F.gelu(ffn), self.ffn2_weight_t)
        z = F.layer_norm(z + ffn, (h,), self.norm2_weight, self.norm2_bias, self.norm2_eps)
        return torch.addmm(self.head_bias, z, self.head_weight_t)
