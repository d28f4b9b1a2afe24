"""Broker and strategy flags shared by backtest, audit, walk-forward, sweep and paper.

Light on purpose (no backtrader import before the arguments are parsed). The defaults repeat
``AttentionLSTMStrategy``'s own; a test keeps the two equal.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.runners.cli.errors import in_flag_words

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.cerebro import BrokerConfig

SIZING_CHOICES = ("confidence", "fixed", "volatility", "vol_target")
# flag -> strategy parameter for the distances where 0 means "off"
DISTANCE_FLAGS = {
    "stop_loss": "stop_loss",
    "atr_stop": "atr_stop",
    "trail": "trail_percent",
    "take_profit": "take_profit",
}


def add_broker_args(p: argparse.ArgumentParser, cash_help: str = "starting cash") -> None:
    """--cash (``cash_help``: what it funds in this runner), --commission, --slippage."""
    b = p.add_argument_group("broker")
    b.add_argument("--cash", type=float, default=100_000.0, help=cash_help)
    b.add_argument(
        "--commission",
        type=float,
        default=0.001,
        help="commission as a fraction of traded value",
    )
    b.add_argument(
        "--slippage",
        type=float,
        default=0.0005,
        help="slippage as a fraction of price",
    )


def broker_from_args(args: argparse.Namespace) -> BrokerConfig:
    from bt_attention_lstm.runners.research.cerebro import BrokerConfig

    if args.cash <= 0:
        raise ConfigError("--cash must be positive")
    for name in ("commission", "slippage"):
        if not 0 <= getattr(args, name) < 0.1:
            raise ConfigError(f"--{name} must be a fraction in [0, 0.1)")
    return BrokerConfig(args.cash, args.commission, args.slippage)


def add_strategy_args(p: argparse.ArgumentParser, trains_too: bool = False) -> None:
    """The strategy's flags. ``trains_too``: this runner also trains its models with the
    strategy's --target-vol (walk-forward), and its help says so."""
    g = p.add_argument_group("strategy (AttentionLSTMStrategy params)")
    g.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="minimum edge to hold a position: for a classifier |p_up - p_down| beyond its base "
        "rate (default 0.2); for a position head the |position| below which the target is flat "
        "(default 0)",
    )
    g.add_argument(
        "--exit-threshold",
        type=float,
        default=0.0,
        help="close a position when the edge in its favour falls to or below this (0: once the "
        "model no longer favours it; -THRESHOLD: only on the opposite signal)",
    )
    g.add_argument(
        "--absolute-confidence",
        action="store_true",
        help="compare p_up - p_down with 0 instead of the model's base rate (then a model that "
        "repeats its training range's drift trades it)",
    )
    g.add_argument(
        "--max-position",
        type=float,
        default=0.95,
        help="largest position as a fraction of equity",
    )
    g.add_argument(
        "--sizing",
        choices=SIZING_CHOICES,
        default=None,
        help="position sizing rule (default: vol_target for a position head, confidence for a "
        "classifier)",
    )
    g.add_argument(
        "--target-vol",
        type=float,
        default=0.15,
        help="annualised volatility target of --sizing vol_target and volatility"
        + ("; also the target the Sharpe objective scales positions to when each fold's model "
           "trains" if trains_too else ""),
    )
    g.add_argument(
        "--max-leverage",
        type=float,
        default=1.0,
        help="vol_target: largest weight, as a multiple of equity (1: a cash account)",
    )
    g.add_argument(
        "--rebalance-band",
        type=float,
        default=0.1,
        help="vol_target: trade only when the target weight moves by more than this",
    )
    g.add_argument(
        "--stop-loss",
        type=float,
        default=0.05,
        help="stop-loss distance as a fraction of entry; 0 disables",
    )
    g.add_argument(
        "--atr-stop",
        type=float,
        default=None,
        help="stop-loss distance in ATRs; the tighter of the two stops wins; 0 disables",
    )
    g.add_argument(
        "--trail",
        type=float,
        default=None,
        help="trailing stop distance as a fraction of price (e.g. 0.08); 0 disables",
    )
    g.add_argument(
        "--take-profit",
        type=float,
        default=None,
        help="take-profit distance as a fraction of entry (e.g. 0.15); 0 disables",
    )
    g.add_argument("--allow-short", action="store_true", help="also trade short signals")
    g.add_argument(
        "--abstain",
        action="store_true",
        help="open no position when the model's training found no evidence of an edge (its "
        "out-of-fold Sharpe <= 0 or behind the best simple rule); off by default",
    )
    g.add_argument(
        "--cooldown",
        type=int,
        default=None,
        help="bars to wait after an exit before re-entering (default: 5 after a stop with "
        "vol_target, else 0)",
    )
    g.add_argument(
        "--no-regime-filter",
        action="store_true",
        help="do not halve risk when trailing volatility is in its top decile",
    )


# Caps the command line adds to the strategy's own ranges (StrategyConfig.from_params checks
# those): sizes a command-line user would only reach by a typo.
CLI_CAPS = {"max_leverage": 10.0, "target_vol": 2.0}


def _distances(args: argparse.Namespace) -> dict[str, float | None]:
    """The stop/target distances: 0 disables any of them (the strategy's None)."""
    out: dict[str, float | None] = {}
    for flag, param in DISTANCE_FLAGS.items():
        value = getattr(args, flag)
        if value is not None and value < 0:
            raise ConfigError(f"--{flag.replace('_', '-')} must be >= 0 (0 disables it)")
        if value is not None and flag != "atr_stop" and value >= 1:
            raise ConfigError(f"--{flag.replace('_', '-')} is a fraction of price: use < 1")
        out[param] = value or None
    return out


def strategy_params(args: argparse.Namespace, periods_per_year: float) -> dict[str, object]:
    """The strategy params the flags ask for, validated by the strategy's own rules
    (``StrategyConfig.from_params``, its messages in flag words) and the CLI's caps."""
    from bt_attention_lstm.strategies.config import StrategyConfig

    for name, cap in CLI_CAPS.items():
        if getattr(args, name) > cap:
            raise ConfigError(f"--{name.replace('_', '-')} must be at most {cap:g}")
    params = _params(args, periods_per_year)
    with in_flag_words():  # the flags of the parser that read this command line
        StrategyConfig.from_params(params)
    return params


def _params(args: argparse.Namespace, periods_per_year: float) -> dict[str, object]:
    return {
        "threshold": args.threshold,
        "exit_threshold": args.exit_threshold,
        "relative_confidence": not args.absolute_confidence,
        "max_position": args.max_position,
        "sizing": args.sizing,
        "target_vol": args.target_vol,
        "max_leverage": args.max_leverage,
        "rebalance_band": args.rebalance_band,
        **_distances(args),
        "allow_short": args.allow_short,
        "abstain": args.abstain,
        "cooldown": args.cooldown,
        "regime_filter": not args.no_regime_filter,
        "device": args.device,
        "periods_per_year": periods_per_year,
    }
