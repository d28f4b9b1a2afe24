"""Lazy package exports (PEP 562): ``from bt_attention_lstm.models import AttentionLSTM`` works,
but importing a package does not import torch, backtrader or quantstats until a name is used,
so light modules (configs, errors) and the runners' ``--help`` stay fast."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``; ``exports`` maps a public name to
    ``"module"`` (same attribute name) or ``"module:attribute"``, relative to the package unless
    the module is spelled out from ``bt_attention_lstm``."""

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = target.partition(":")
        if not module.startswith("bt_attention_lstm."):
            module = f"{package}.{module}"
        return getattr(importlib.import_module(module), attribute or name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
