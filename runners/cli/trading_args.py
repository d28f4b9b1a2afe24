"""Broker and strategy flags shared by backtest, audit, walk-forward and sweep."""

from __future__ import annotations

import argparse

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies.engine import BrokerConfig
from bt_attention_lstm.strategies.sizing import SIZING_RULES


def add_broker_args(p: argparse.ArgumentParser) -> None:
    b = p.add_argument_group("broker")
    b.add_argument(
        "--cash",
        type=float,
        default=100_000.0,
        help="starting cash (of each fold in a walk-forward; default: %(default)s)",
    )
    b.add_argument(
        "--commission",
        type=float,
        default=0.001,
        help="commission as a fraction of traded value (default: %(default)s)",
    )
    b.add_argument(
        "--slippage",
        type=float,
        default=0.0005,
        help="slippage as a fraction of price (default: %(default)s)",
    )


def broker_from_args(args: argparse.Namespace) -> BrokerConfig:
    if args.cash <= 0:
        raise ConfigError("--cash must be positive")
    for name in ("commission", "slippage"):
        if not 0 <= getattr(args, name) < 0.1:
            raise ConfigError(f"--{name} must be a fraction in [0, 0.1)")
    return BrokerConfig(args.cash, args.commission, args.slippage)


def add_strategy_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("strategy (AttentionLSTMStrategy params)")
    g.add_argument(
        "--threshold",
        type=float,
        default=0.2,
        help="minimum |p_up - p_down| to enter (default: %(default)s)",
    )
    g.add_argument(
        "--max-position",
        type=float,
        default=0.95,
        help="largest position as a fraction of equity (default: %(default)s)",
    )
    g.add_argument(
        "--sizing",
        choices=SIZING_RULES,
        default="confidence",
        help="position sizing rule (default: %(default)s)",
    )
    g.add_argument(
        "--target-vol",
        type=float,
        default=0.15,
        help="annualised volatility target of --sizing volatility (default: %(default)s)",
    )
    g.add_argument(
        "--stop-loss",
        type=float,
        default=0.05,
        help="stop-loss distance as a fraction of entry; 0 disables (default: %(default)s)",
    )
    g.add_argument(
        "--atr-stop",
        type=float,
        default=None,
        help="stop-loss distance in ATRs (the tighter of the two stops wins)",
    )
    g.add_argument(
        "--trail", type=float, default=None, help="trailing stop distance as a fraction (e.g. 0.08)"
    )
    g.add_argument(
        "--take-profit",
        type=float,
        default=None,
        help="take-profit distance as a fraction (e.g. 0.15)",
    )
    g.add_argument("--allow-short", action="store_true", help="also trade short signals")
    g.add_argument(
        "--cooldown",
        type=int,
        default=0,
        help="bars to wait after an exit before re-entering (default: %(default)s)",
    )
    g.add_argument(
        "--no-regime-filter",
        action="store_true",
        help="do not halve risk when trailing volatility is in its top decile",
    )


def strategy_params(args: argparse.Namespace, ppy: float) -> dict[str, object]:
    return {
        "threshold": args.threshold,
        "max_position": args.max_position,
        "sizing": args.sizing,
        "target_vol": args.target_vol,
        "stop_loss": args.stop_loss or None,
        "atr_stop": args.atr_stop,
        "trail_percent": args.trail,
        "take_profit": args.take_profit,
        "allow_short": args.allow_short,
        "cooldown": args.cooldown,
        "regime_filter": not args.no_regime_filter,
        "device": args.device,
        "periods_per_year": ppy,
    }
