"""NumpyInFlightWindows: the per-bar path on the CPU, in float32 numpy.

At batch size one the network's matrices are tiny (the default model: 20 windows x 192 gates), and
each torch call costs ~8-17 us of dispatch on the development machine whatever its size: a
per-bar step of ~30 calls spent most of its 0.4-0.6 ms there. A numpy call on arrays this small
costs ~1-2 us. This module runs exactly what ``InFlightWindows`` runs (same windows in flight,
same gate order), then the network's tail in numpy (``NumpyTail``), for a
``FusedAttentionLSTM`` or a ``StackedFusedEnsemble`` alike.

It computes in float32, as the batched path does (the scaled row, the weights and the states),
so the two agree to float32 rounding (~1e-6); numpy's float32 tanh is vectorised, four times
faster than float64's at these sizes. CUDA keeps the torch path (``InFlightWindows``, CUDA
graphs).
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

from bt_attention_lstm.models.inference.numpy_tail import NumpyTail
from bt_attention_lstm.models.nn.fused_network import FusedNetwork

Floats = NDArray[np.float32]


def _array(t: torch.Tensor) -> NDArray[np.float64]:
    return t.detach().to(device="cpu", dtype=torch.float64).numpy().copy()


def _gates_ifog(w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Reorder the gate blocks (rows) of a (4H, ...) weight or (4H,) bias from nn.LSTM's i, f,
    g, o to i, f, o, g, so that one sigmoid covers three contiguous gates."""
    i, f, g, o = np.split(w, 4, axis=0)
    return np.concatenate([i, f, o, g], axis=0)


def _sigmoid_(x: Floats) -> None:
    """In place: sigmoid(x) = (1 + tanh(x / 2)) / 2, which equals ``expit`` to 1e-16 and costs
    half as much here (numpy's tanh is vectorised, scipy's expit is not)."""
    np.multiply(x, 0.5, out=x)
    np.tanh(x, out=x)
    np.multiply(x, 0.5, out=x)
    np.add(x, 0.5, out=x)


class NumpyInFlightWindows:
    """The L windows containing the latest bar, and the finished window's probabilities."""

    def __init__(self, network: FusedNetwork) -> None:
        cfg = network.config
        self.seq_len, self.width, self.layers = cfg.seq_len, cfg.hidden, cfg.layers
        self.members = int(network.members)
        lstm = network.lstm
        L, H = self.seq_len, self.width

        def weight(name: str) -> NDArray[np.float64]:
            return _gates_ifog(_array(lstm.get_parameter(name)))

        def f32(a: NDArray[np.float64]) -> Floats:
            return np.ascontiguousarray(a, dtype=np.float32)

        self._w_in = f32(weight("weight_ih_l0"))  # (4H, F), gate order i, f, o, g
        self._bias = [
            f32(weight(f"bias_ih_l{k}") + weight(f"bias_hh_l{k}")) for k in range(self.layers)
        ]
        self._w_hh_t = [f32(weight(f"weight_hh_l{k}").T) for k in range(self.layers)]
        self._w_ih_t = [f32(weight(f"weight_ih_l{k}").T) for k in range(1, self.layers)]
        self._tail = NumpyTail(network, np.float32)
        self._h = np.zeros((self.layers, L, H), dtype=np.float32)
        self._c = np.zeros((self.layers, L, H), dtype=np.float32)
        self._outputs = np.zeros((L, L, H), dtype=np.float32)  # [slot, step]: the last layer's h
        # For phase p, slot j is at step (p - j) mod L: its row of the flat (L * L, H) outputs.
        self._flat_outputs = self._outputs.reshape(L * L, H)
        self._rows = [np.array([j * L + (p - j) % L for j in range(L)]) for p in range(L)]

    def step(self, x: Floats, phase: int) -> None:
        """Advance every window in flight by the scaled float32 feature row ``x`` of a new bar; the
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
            _sigmoid_(gates[:, : 3 * H])  # i, f, o
            np.tanh(gates[:, 3 * H :], out=gates[:, 3 * H :])  # g
            c = self._c[k]
            c *= gates[:, H : 2 * H]
            c += gates[:, :H] * gates[:, 3 * H :]
            self._h[k] = gates[:, 2 * H : 3 * H] * np.tanh(c)
        self._flat_outputs[self._rows[phase]] = self._h[-1]

    def probabilities(self, phase: int) -> NDArray[np.float64]:
        """Averaged class probabilities of the window that ends at the bar of ``phase``."""
        return self._tail.probabilities(self._outputs[(phase + 1) % self.seq_len])
