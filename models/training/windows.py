"""Sliding windows over one feature array, by index: never an N x L x F copy."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


class WindowBatches:
    """Mini-batches of (window, label) where window t is ``features[t - L + 1 : t + 1]``.

    ``sliding_window_view`` gives a strided view of every window; only the rows of the batch
    being served are copied, so memory stays flat however long the history.
    """

    def __init__(self, scaled: np.ndarray, labels: np.ndarray, end_index: np.ndarray, seq_len: int):
        if scaled.ndim != 2:
            raise ValueError("scaled features must be (n_bars, n_features)")
        self.seq_len = seq_len
        self._windows = np.lib.stride_tricks.sliding_window_view(scaled, seq_len, axis=0)
        self.labels = labels
        self.end_index = np.asarray(end_index, dtype=np.int64)
        if self.end_index.size and self.end_index.min() < seq_len - 1:
            raise ValueError("a window would start before the first feature row")

    def __len__(self) -> int:
        return int(self.end_index.size)

    def batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        ends = self.end_index[positions]
        return self.windows_ending_at(ends), torch.from_numpy(self.labels[ends])

    def windows_ending_at(self, rows: np.ndarray) -> torch.Tensor:
        """(len(rows), seq_len, n_features) windows ending at feature rows ``rows``."""
        # windows[k] covers rows k..k+L-1 as (F, L); the window ending at t starts at t-L+1.
        x = np.ascontiguousarray(self._windows[rows - self.seq_len + 1].transpose(0, 2, 1))
        return torch.from_numpy(x)

    def iterate(
        self, batch_size: int, generator: np.random.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield batches in order, or shuffled when a generator is given."""
        order = np.arange(len(self))
        if generator is not None:
            generator.shuffle(order)
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start : start + batch_size])
