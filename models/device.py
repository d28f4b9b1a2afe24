"""Device choice and thread settings for inference and training."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from bt_attention_lstm.models.config import DEVICE_CHOICES
from bt_attention_lstm.models.errors import ConfigError

__all__ = ["DEVICE_CHOICES", "resolve_device", "torch_threads"]


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU. 'cuda' without a GPU is a ConfigError."""
    if name not in DEVICE_CHOICES and not str(name).startswith("cuda:"):
        raise ConfigError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(name).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"device {name!r} asked for but no CUDA GPU is available; use `device`=cpu"
        )
    return torch.device(name)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``n`` intra-op threads, restoring the previous setting after.

    Batch-1 inference of a small LSTM is dominated by per-op overhead, which extra threads only
    add to; batched inference and training want every core.
    """
    if n is None or n == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
