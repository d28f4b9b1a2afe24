"""NumpyTail: a fused network's ``tail`` (attention, feed-forward block, head) for one window,
in numpy.

The per-bar paths on the CPU finish one window a bar. At batch size one the tail's products are
tiny (the design model: a 128-wide query against 20 steps), and each torch call costs several
microseconds of dispatch whatever its size; a numpy call on arrays this small costs ~1-2 us. The
tail runs what ``FusedAttentionLSTM.tail`` runs (single-query attention reassociated, LayerNorms,
exact GELU, head), for a ``FusedAttentionLSTM`` or a ``StackedFusedEnsemble`` alike: a single
network is a stack of one member, whose group norm with one group is its LayerNorm.

``dtype`` is the arithmetic's. Both CPU per-bar paths use float32, as the batched path does: the
all-numpy windows (``NumpyInFlightWindows``) and the torch windows' outputs read in place
(``InFlightWindows``); float64 serves as a reference in tests.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.typing import DTypeLike, NDArray
from scipy.special import erf

from bt_attention_lstm.models.nn.fused_network import FusedNetwork

Floats = NDArray[np.float64]
Array = NDArray[np.floating]
Norm = tuple[Array, Array, float]  # weight, bias, eps
_SQRT_HALF = 1.0 / math.sqrt(2.0)


def _softmax_rows(z: Array) -> Array:
    e = np.exp(z - np.maximum.reduce(z, axis=-1, keepdims=True))
    return e / np.add.reduce(e, axis=-1, keepdims=True)


class NumpyTail:
    """Averaged class probabilities of one finished window of last-layer LSTM outputs."""

    def __init__(self, network: FusedNetwork, dtype: DTypeLike = np.float64) -> None:
        self.members = int(network.members)
        self.width = int(network.config.hidden)  # the stacked width of an ensemble
        self.dtype = np.dtype(dtype)

        def array(t: torch.Tensor) -> Array:
            return t.detach().to(device="cpu", dtype=torch.float64).numpy().astype(self.dtype)

        t = {name: array(value) for name, value in network.tail_weights().items()}
        self._qk_w, self._qk_b = t["qk_weight_t"], t["qk_bias"]
        self._vo_w, self._vo_b = t["vo_weight_t"], t["vo_bias"]
        self._norm1 = (t["norm1_weight"], t["norm1_bias"], float(network.norm1_eps))
        self._norm2 = (t["norm2_weight"], t["norm2_bias"], float(network.norm2_eps))
        self._ffn1_w, self._ffn1_b = t["ffn1_weight_t"], t["ffn1_bias"]
        self._ffn2_w, self._ffn2_b = t["ffn2_weight_t"], t["ffn2_bias"]
        self._head_w, self._head_b = t["head_weight_t"], t["head_bias"]
        self._group_width = self.width // self.members

    def _group_norm(self, x: Array, norm: Norm) -> Array:
        """Each member's LayerNorm over its own slice of the stacked width."""
        weight, bias, eps = norm
        groups = x.reshape(self.members, self._group_width)
        centred = groups - np.add.reduce(groups, axis=1, keepdims=True) / self._group_width
        variance = np.add.reduce(centred * centred, axis=1, keepdims=True) / self._group_width
        scaled = centred / np.sqrt(variance + eps)
        return scaled.reshape(-1) * weight + bias

    def probabilities(self, window: Array) -> Floats:
        """(3,) float64 probabilities, the members' average, of ``window`` (seq_len, width):
        the last layer's outputs, steps in order."""
        last = window[-1]
        queries = (last @ self._qk_w + self._qk_b).reshape(-1, self.width)
        weights = _softmax_rows(queries @ window.T)  # (members x heads, seq_len)
        context = (weights @ window).reshape(-1)
        attended = context @ self._vo_w + self._vo_b
        z = self._group_norm(last + attended, self._norm1)
        hidden = z @ self._ffn1_w + self._ffn1_b
        hidden = 0.5 * hidden * (1.0 + erf(hidden * _SQRT_HALF))  # exact GELU
        z = self._group_norm(z + hidden @ self._ffn2_w + self._ffn2_b, self._norm2)
        logits = (z @ self._head_w + self._head_b).reshape(self.members, -1)
        return np.add.reduce(_softmax_rows(logits), axis=0).astype(np.float64) / self.members
