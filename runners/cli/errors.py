"""Library messages in the command line's words.

The library names parameters in backticks ("use more data or fewer `folds`"); a command prints
the same message with its flags ("use more data or fewer --folds"). A backticked name is turned
into a flag when it is the dest of an option of the command's parser (or a parameter that one of
its options sets under another name, ``PARAM_FLAGS``); any other backticked name stays as it is.

Standard library only: the runners import this before they parse their arguments.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from bt_attention_lstm.models.errors import UserInputError

_BACKTICKED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")

# Strategy parameters that a flag of another name sets (``runners.cli.trading_args``).
PARAM_FLAGS: dict[str, str] = {"trail_percent": "--trail"}

# The flags of the parser that parsed this process's command line (``remember_parser``).
_current: dict[str, str] = {}


def parser_flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """dest -> its long flag (``--allow-timeframe-mismatch``), for every option of ``parser``;
    the names of ``PARAM_FLAGS`` whose flag the parser offers map to it too."""
    flags: dict[str, str] = {}
    for action in parser._actions:  # argparse offers no public list of its actions
        longs = [s for s in action.option_strings if s.startswith("--")]
        if longs and action.dest not in ("help", argparse.SUPPRESS):
            flags.setdefault(action.dest, longs[0])
    offered = set(flags.values())
    flags.update({name: flag for name, flag in PARAM_FLAGS.items() if flag in offered})
    return flags


def remember_parser(parser: argparse.ArgumentParser) -> None:
    """Make ``parser``'s flags the ones ``translate`` uses by default (called when it parses)."""
    _current.clear()
    _current.update(parser_flags(parser))


def translate(message: str, flags: Mapping[str, str] | None = None) -> str:
    """``message`` with every backticked parameter that ``flags`` (default: the last parser's)
    names replaced by its flag."""
    table = _current if flags is None else flags
    return _BACKTICKED.sub(lambda m: table.get(m.group(1), m.group(0)), message)


def dashed_flags(*names: str) -> dict[str, str]:
    """``{name: --name-with-dashes}``: the flags of parameters whose option a runner spells the
    library's way (``start`` -> ``--start``)."""
    return {name: "--" + name.replace("_", "-") for name in names}


@contextmanager
def in_flag_words(flags: Mapping[str, str] | None = None) -> Iterator[None]:
    """Re-raise a bad-input error raised inside with its message in flag words."""
    try:
        yield
    except UserInputError as exc:
        exc.args = (translate(str(exc), flags), *exc.args[1:])
        raise
