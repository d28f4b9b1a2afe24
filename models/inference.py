"""Running a trained AttentionLSTM: batched over a history, or one window per bar.

Both paths scale raw feature rows with the artifact's scaler and feed windows that end at each
bar, so they give the same probabilities (to float rounding, <= 1e-5).
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch

from models.artifact import Artifact
from models.device import resolve_device, torch_threads

logger = logging.getLogger(__name__)


def _prepare_model(artifact: Artifact, device: torch.device) -> torch.nn.Module:
    # A private copy: one artifact can serve several feeds on different devices.
    model = copy.deepcopy(artifact.model).to(device)
    model.eval()
    return model


class BatchedPredictor:
    """Probabilities for every window of a feature history, in batches on the device."""

    def __init__(
        self,
        artifact: Artifact,
        device: str | torch.device = "auto",
        batch_size: int = 4096,
        dtype: torch.dtype = torch.float32,
        threads: int | None = None,
    ) -> None:
        self.artifact = artifact
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.batch_size = int(batch_size)
        self.dtype = dtype
        self.threads = threads
        self.model = _prepare_model(artifact, self.device).to(dtype)

    def probabilities(self, features: np.ndarray, first_end: int, stop: int) -> np.ndarray:
        """(stop - first_end, 3) probabilities of the windows ending at bars first_end..stop-1.

        ``features`` are raw rows (n_bars, n_features); only rows first_end-L+1 .. stop-1 are
        read, and each window reads its own L rows, nothing after its last bar.
        """
        L = self.artifact.seq_len
        first_row = first_end - L + 1
        if first_row < 0:
            raise ValueError(f"the first window would start at bar {first_row}")
        scaled = self.artifact.scaler.transform(features[first_row:stop])
        if not np.isfinite(scaled).all():
            raise ValueError("a window holds an undefined feature (inside the warm-up?)")
        rows = torch.from_numpy(scaled).to(self.device, self.dtype)
        windows = rows.unfold(0, L, 1).transpose(1, 2)  # (n_windows, L, F), a view
        out = torch.empty((windows.shape[0], 3), dtype=torch.float64)
        with torch_threads(self.threads), torch.inference_mode():
            for b in range(0, windows.shape[0], self.batch_size):
                batch = windows[b : b + self.batch_size].contiguous()
                probs = torch.softmax(self.model(batch).float(), dim=-1)
                out[b : b + batch.shape[0]] = probs.double().cpu()
        return out.numpy()


class StreamingPredictor:
    """One window per bar from a fixed-size rolling buffer kept on the device.

    The buffer holds 2 x seq_len rows and each new row is written twice (at i and i + L), so
    the latest window is always the contiguous slice ``buf[i+1 : i+1+L]``: no copies, no
    growth with history.
    """

    def __init__(
        self, artifact: Artifact, device: str | torch.device = "auto", threads: int | None = 1
    ) -> None:
        self.artifact = artifact
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        # Batch-1 CPU inference is overhead-bound: one intra-op thread beats two here.
        self.threads = threads if self.device.type == "cpu" else None
        self.model = _prepare_model(artifact, self.device)
        L, F = artifact.seq_len, artifact.feature_spec.n_features
        self._buf = torch.zeros((2 * L, F), dtype=torch.float32, device=self.device)
        self._mean = artifact.scaler.mean
        self._scale = artifact.scaler.scale
        self._clip = artifact.scaler.clip
        self._pos = -1
        self.count = 0

    def push(self, raw_row: np.ndarray) -> None:
        """Add the feature row of a new bar."""
        L = self.artifact.seq_len
        scaled = np.clip((raw_row - self._mean) / self._scale, -self._clip, self._clip)
        row = torch.from_numpy(scaled.astype(np.float32)).to(self.device)
        self._pos = (self._pos + 1) % L
        self._buf[self._pos] = row
        self._buf[self._pos + L] = row
        self.count += 1

    @property
    def ready(self) -> bool:
        return self.count >= self.artifact.seq_len

    def predict(self) -> np.ndarray:
        """Probabilities (down, flat, up) of the window ending at the latest bar."""
        L = self.artifact.seq_len
        window = self._buf[self._pos + 1 : self._pos + 1 + L].unsqueeze(0)
        with torch_threads(self.threads), torch.inference_mode():
            probs = torch.softmax(self.model(window), dim=-1)
        return probs[0].double().cpu().numpy()
