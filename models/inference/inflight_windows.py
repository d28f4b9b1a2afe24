"""InFlightWindows: per-bar inference that advances every open window by one step per bar.

The window ending at bar t starts from a zero LSTM state at bar t - L + 1, so no recurrence
can be carried from one bar's window to the next. But at any bar exactly L windows contain
it: the ones that started at bars t - L + 1 .. t. Keeping those L windows "in flight" and
advancing all of them by one step when a bar arrives costs one (L x hidden) matrix product per
LSTM layer per bar, instead of a 2 x L-step recurrence of matrix-vector products: the same
arithmetic as running the finished window from scratch, in ~20 large operations instead of
~100 small ones. When a bar arrives, the window started L - 1 bars earlier completes and goes
through the attention block and the head.

Window slots are indexed by start bar modulo L; the last layer's outputs of slot j at step k
are row ``j * L + k`` of one buffer, so a finished window is a contiguous (L, hidden) block.
The LSTM cell is nn.LSTM's (gate order i, f, g, o; ``c = f c + i g``, ``h = o tanh(c)``) with
the gate rows stored as i, f, o, g so that one sigmoid covers three gates.
"""

from __future__ import annotations

import numpy as np
import torch

from bt_attention_lstm.models.nn.fused_network import FusedNetwork


def _gates_ifog(t: torch.Tensor, hidden: int) -> torch.Tensor:
    """Reorder the gate blocks of a (4H, ...) weight or (4H,) bias from i, f, g, o to i, f, o, g."""
    i, f, g, o = t.split(hidden, dim=0)
    return torch.cat([i, f, o, g], dim=0)


class InFlightWindows:
    """The LSTM states of the L windows containing the latest bar, on one device."""

    def __init__(
        self,
        fused: FusedNetwork,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        cfg = fused.config
        self.fused = fused
        self.seq_len, self.hidden, self.layers = cfg.seq_len, cfg.hidden, cfg.layers
        self.device = device
        L, H = self.seq_len, self.hidden
        lstm = fused.lstm

        def param(name: str) -> torch.Tensor:
            return lstm.get_parameter(name).detach().to(device="cpu", dtype=torch.float64)

        def on_device(t: torch.Tensor) -> torch.Tensor:
            return t.to(device=device, dtype=dtype).contiguous()

        # Layer 0 reads the bar's features: the same input row for every window in flight.
        self._w_in = on_device(_gates_ifog(param("weight_ih_l0"), H))  # (4H, F)
        self._b0 = on_device(_gates_ifog(param("bias_ih_l0") + param("bias_hh_l0"), H))
        self._w_hh0_t = on_device(_gates_ifog(param("weight_hh_l0"), H).T)  # (H, 4H)
        # Layer l > 0 reads [h_{l-1}, h_l]: one product with the stacked (2H, 4H) weights.
        self._w_cat_t: list[torch.Tensor] = []
        self._b_cat: list[torch.Tensor] = []
        for layer in range(1, self.layers):
            w_ih, w_hh = param(f"weight_ih_l{layer}"), param(f"weight_hh_l{layer}")
            stacked = torch.cat([_gates_ifog(w_ih, H), _gates_ifog(w_hh, H)], dim=1)
            bias = param(f"bias_ih_l{layer}") + param(f"bias_hh_l{layer}")
            self._w_cat_t.append(on_device(stacked.T))
            self._b_cat.append(on_device(_gates_ifog(bias, H)))
        # per slot, the layers' states side by side: [h_0 | h_1 | ...]
        self._h = torch.zeros((L, self.layers * H), device=device, dtype=dtype)
        self._c = torch.zeros((L, self.layers * H), device=device, dtype=dtype)
        self._gates = torch.empty((L, 4 * H), device=device, dtype=dtype)
        self._tanh_c = torch.empty((L, H), device=device, dtype=dtype)
        self._ih = torch.empty((4 * H,), device=device, dtype=dtype)
        # the last layer's h: row slot * L + step
        self._outputs = torch.zeros((L * L, H), device=device, dtype=dtype)
        # For phase p (= bar index mod L), slot j is at step (p - j) mod L.
        self._rows = [
            torch.tensor([j * L + (p - j) % L for j in range(L)], device=device)
            for p in range(L)
        ]
        # Views into the buffers above, made once: at batch size one a torch slice costs about
        # as much as the arithmetic on it, and a step would make ~25 of them.
        g = self._gates
        self._g_ifo, self._g_f, self._g_g = g[:, : 3 * H], g[:, H : 2 * H], g[:, 3 * H :]
        self._g_i, self._g_o = g[:, :H], g[:, 2 * H : 3 * H]
        self._h_layer = [self._h[:, k * H : (k + 1) * H] for k in range(self.layers)]
        self._c_layer = [self._c[:, k * H : (k + 1) * H] for k in range(self.layers)]
        self._below_and_own = [self._h[:, (k - 1) * H : (k + 1) * H] for k in range(1, self.layers)]
        self._h_slot = [self._h[p] for p in range(L)]
        self._c_slot = [self._c[p] for p in range(L)]
        # the same outputs as numpy (slot, step, hidden), sharing their memory: float32 CPU
        # windows only
        on_cpu_f32 = device.type == "cpu" and dtype == torch.float32
        self._outputs_np = self._outputs.numpy().reshape(L, L, H) if on_cpu_f32 else None

    def reset(self) -> None:
        """Forget every window in flight."""
        self._h.zero_()
        self._c.zero_()
        self._outputs.zero_()

    def _cell(self, layer: int) -> None:
        """nn.LSTM's cell update of ``layer`` from the pre-activations in ``self._gates``."""
        self._g_ifo.sigmoid_()  # i, f, o
        self._g_g.tanh_()  # g
        c = self._c_layer[layer]
        c.mul_(self._g_f).addcmul_(self._g_i, self._g_g)
        torch.tanh(c, out=self._tanh_c)
        torch.mul(self._g_o, self._tanh_c, out=self._h_layer[layer])

    def step(self, x: torch.Tensor, phase: int) -> None:
        """Advance every window in flight by the bar ``x`` (n_features,), already scaled.

        ``phase`` is the bar's index modulo seq_len; the window starting at this bar takes slot
        ``phase`` (freed by the window that finished at the previous bar).
        """
        self._h_slot[phase].zero_()
        self._c_slot[phase].zero_()
        torch.addmv(self._b0, self._w_in, x, out=self._ih)
        torch.addmm(self._ih, self._h_layer[0], self._w_hh0_t, out=self._gates)
        self._cell(0)
        for layer in range(1, self.layers):
            w, b = self._w_cat_t[layer - 1], self._b_cat[layer - 1]
            torch.addmm(b, self._below_and_own[layer - 1], w, out=self._gates)
            self._cell(layer)
        self._outputs.index_copy_(0, self._rows[phase], self._h_layer[-1])

    def finished_window(self, phase: int) -> torch.Tensor:
        """(1, seq_len, hidden) last-layer outputs of the window that ends at the bar of
        ``phase`` (it started seq_len - 1 bars before, in slot phase + 1 mod seq_len)."""
        L = self.seq_len
        slot = (phase + 1) % L
        return self._outputs[slot * L : (slot + 1) * L].unsqueeze(0)

    def finished_window_array(self, phase: int) -> np.ndarray:
        """``finished_window`` as a (seq_len, hidden) float32 numpy view, for a tail run in
        numpy (CPU windows only)."""
        if self._outputs_np is None:
            raise RuntimeError("only float32 CPU windows' outputs can be read as numpy")
        return self._outputs_np[(phase + 1) % self.seq_len]

    def logits(self, phase: int) -> torch.Tensor:
        return self.fused.tail(self.finished_window(phase))
