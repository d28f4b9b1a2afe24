"""AttentionLSTM: input projection -> LSTM -> multi-head self-attention (residual + LayerNorm)
-> feed-forward (residual + LayerNorm) -> head (a position or down / flat / up logits)."""

from __future__ import annotations

import torch
from torch import nn

from bt_attention_lstm.models.config import ModelConfig

__all__ = ["AttentionLSTM", "ModelConfig"]


def _linear(module: nn.Module) -> nn.Linear:
    # nn.Sequential's items are typed as plain modules; the layout above says which are linear.
    if not isinstance(module, nn.Linear):
        raise TypeError(f"expected a linear layer, found {type(module).__name__}")
    return module


class AttentionLSTM(nn.Module):
    """A (batch, seq_len, n_features) window -> the head's output.

    ``config.head == "position"``: one pre-activation z per window (batch, 1); the position is
    tanh(z) in (-1, 1) (``position``); ``"long"``: sigmoid(z) in (0, 1). ``"classify"``: down /
    flat / up logits (batch, 3).

    The LSTM reads the window; the last step's state then attends over every step of the
    sequence (4 heads by default) with a skip connection and LayerNorm, followed by a small
    feed-forward block with its own skip connection. Only the last position feeds the head,
    so attention is computed for that query alone: the same output as full self-attention
    followed by taking the last step, at 1/seq_len of the attention cost.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.input_proj = nn.Linear(config.n_features, h)
        self.lstm = nn.LSTM(
            h,
            h,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.attention = nn.MultiheadAttention(
            h, config.heads, dropout=config.dropout, batch_first=True
        )
        self.attn_norm = nn.LayerNorm(h)
        self.ffn = nn.Sequential(
            nn.Linear(h, 2 * h), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(2 * h, h)
        )
        self.ffn_norm = nn.LayerNorm(h)
        outputs = config.n_classes if config.head == "classify" else 1
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(h, outputs))

    @property
    def ffn_linears(self) -> tuple[nn.Linear, nn.Linear]:
        """The feed-forward block's two linear layers (expanding, then projecting back)."""
        return _linear(self.ffn[0]), _linear(self.ffn[3])

    @property
    def head_linear(self) -> nn.Linear:
        """The head's linear layer (after its dropout)."""
        return _linear(self.head[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, _ = self.lstm(self.input_proj(x))
        last = seq[:, -1:, :]
        attended, _ = self.attention(last, seq, seq, need_weights=False)
        z = self.attn_norm(last + attended)
        z = self.ffn_norm(z + self.ffn(z))
        return self.head(z[:, 0, :])

    def position(self, x: torch.Tensor) -> torch.Tensor:
        """The position, (batch,): tanh of a long-short head's output, in (-1, 1); sigmoid of a
        long-only head's, in (0, 1)."""
        if self.config.head == "classify":
            raise ValueError("position() needs a position head")
        z = self(x)[:, 0]
        return torch.sigmoid(z) if self.config.head == "long" else torch.tanh(z)
