"""NumpyInFlightWindows: the per-bar path on the CPU, in float64 numpy.

At batch size one the network's matrices are tiny (the default model: 10 windows x 64 gates), and
each torch call costs ~8-17 us of dispatch on the development machine whatever its size: a
per-bar step of ~30 calls spent most of its 0.4-0.6 ms there. A numpy call on arrays this small
costs ~1-2 us. This module runs exactly what ``InFlightWindows`` and the network's ``tail`` run
(same windows in flight, same gate order, same attention, LayerNorms and head), for a
``FusedAttentionLSTM`` or a ``StackedFusedEnsemble`` alike: a single network is a stack of one
member, whose group norm with one group is its LayerNorm.

It computes in float64 from the float32 weights, so it agrees with the batched float32 path to
float32 rounding (~1e-6). CUDA keeps the torch path (``InFlightWindows``, CUDA graphs).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.special import erf, expit

from bt_attention_lstm.models.nn.fused_network import FusedNetwork

Floats = NDArray[np.float64]


def _array(t: torch.Tensor) -> Floats:
    return t.detach().to(device="cpu", dtype=torch.float64).numpy().copy()


def _softmax_rows(z: Floats) -> Floats:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class NumpyInFlightWindows:
    """The L windows containing the latest bar, and the finished window's probabilities."""

    def __init__(self, network: FusedNetwork) -> None:
        cfg = network.config
        self.seq_len, self.width, self.layers = cfg.seq_len, cfg.hidden, cfg.layers
        self.members = int(network.members)
        lstm = network.lstm

        def weight(name: str) -> Floats:
            return _array(lstm.get_parameter(name))

        L, H = self.seq_len, self.width
        self._w_in = weight("weight_ih_l0")  # (4H, F), gate order i, f, g, o
        self._bias = [
            weight(f"bias_ih_l{k}") + weight(f"bias_hh_l{k}") for k in range(self.layers)
        ]
        self._w_hh_t = [weight(f"weight_hh_l{k}").T.copy() for k in range(self.layers)]
        self._w_ih_t = [weight(f"weight_ih_l{k}").T.copy() for k in range(1, self.layers)]
        self._tail = {name: _array(value) for name, value in network.tail_weights().items()}
        self._eps = (float(network.norm1_eps), float(network.norm2_eps))
        self._h = np.zeros((self.layers, L, H))
        self._c = np.zeros((self.layers, L, H))
        self._outputs = np.zeros((L, L, H))  # [slot, step]: the last layer's h
        self._slots = np.arange(L)

    def step(self, x: Floats, phase: int) -> None:
        """Advance every window in flight by the scaled feature row ``x`` of a new bar; the
        window starting at this bar takes slot ``phase`` (bar index modulo seq_len)."""
        H = self.width
        self._h[:, phase] = 0.0
        self._c[:, phase] = 0.0
        row = self._w_in @ x + self._bias[0]
        for k in range(self.layers):
            if k == 0:
                gates = self._h[0] @ self._w_hh_t[0] + row
            else:
                gates = (self._h[k - 1] @ self._w_ih_t[k - 1] + self._h[k] @ self._w_hh_t[k]
                         + self._bias[k])
            expit(gates[:, : 2 * H], out=gates[:, : 2 * H])  # i, f
            expit(gates[:, 3 * H :], out=gates[:, 3 * H :])  # o
            np.tanh(gates[:, 2 * H : 3 * H], out=gates[:, 2 * H : 3 * H])  # g
            c = self._c[k]
            c *= gates[:, H : 2 * H]
            c += gates[:, :H] * gates[:, 2 * H : 3 * H]
            self._h[k] = gates[:, 3 * H :] * np.tanh(c)
        # slot j has run (phase - j) mod L steps before this one
        self._outputs[self._slots, (phase - self._slots) % self.seq_len] = self._h[-1]

    def _group_norm(self, x: Floats, weight: Floats, bias: Floats, eps: float) -> Floats:
        groups = x.reshape(self.members, -1)
        centred = groups - groups.mean(axis=1, keepdims=True)
        scaled = centred / np.sqrt((centred * centred).mean(axis=1, keepdims=True) + eps)
        return scaled.reshape(-1) * weight + bias

    def probabilities(self, phase: int) -> Floats:
        """Averaged class probabilities of the window that ends at the bar of ``phase``."""
        t = self._tail
        window = self._outputs[(phase + 1) % self.seq_len]  # (L, H), steps in order
        last = window[-1]
        queries = (last @ t["qk_weight_t"] + t["qk_bias"]).reshape(-1, self.width)
        weights = _softmax_rows(queries @ window.T)  # (members x heads, L)
        context = (weights @ window).reshape(-1)
        attended = context @ t["vo_weight_t"] + t["vo_bias"]
        z = self._group_norm(last + attended, t["norm1_weight"], t["norm1_bias"], self._eps[0])
        hidden = z @ t["ffn1_weight_t"] + t["ffn1_bias"]
        hidden = 0.5 * hidden * (1.0 + erf(hidden / math.sqrt(2.0)))  # exact GELU
        z = self._group_norm(z + hidden @ t["ffn2_weight_t"] + t["ffn2_bias"],
                             t["norm2_weight"], t["norm2_bias"], self._eps[1])
        logits = (z @ t["head_weight_t"] + t["head_bias"]).reshape(self.members, -1)
        return _softmax_rows(logits).mean(axis=0)
