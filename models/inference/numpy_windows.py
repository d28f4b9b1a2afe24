"""NumpyInFlightWindows: the per-bar path on the CPU, in float64 numpy.

At batch size one the network's matrices are tiny (the default model: 10 windows x 64 gates), and
each torch call costs ~8-17 us of dispatch on the development machine whatever its size: a
per-bar step of ~30 calls spent most of its 0.4-0.6 ms there. A numpy call on arrays this small
costs ~1-2 us. This module runs exactly what ``InFlightWindows`` runs (same windows in flight,
same gate order), then the network's tail in numpy (``NumpyTail``), for a
``FusedAttentionLSTM`` or a ``StackedFusedEnsemble`` alike.

It computes in float64 from the float32 weights, so it agrees with the batched float32 path to
float32 rounding (~1e-6). CUDA keeps the torch path (``InFlightWindows``, CUDA graphs).
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.special import expit

from bt_attention_lstm.models.inference.numpy_tail import NumpyTail
from bt_attention_lstm.models.nn.fused_network import FusedNetwork

Floats = NDArray[np.float64]


def _array(t: torch.Tensor) -> Floats:
    return t.detach().to(device="cpu", dtype=torch.float64).numpy().copy()


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
        self._tail = NumpyTail(network, np.float64)
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

    def probabilities(self, phase: int) -> Floats:
        """Averaged class probabilities of the window that ends at the bar of ``phase``."""
        return self._tail.probabilities(self._outputs[(phase + 1) % self.seq_len])
