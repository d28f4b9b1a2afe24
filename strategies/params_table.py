"""The strategy's params as a Markdown table (name, default, meaning), read from the code.

The defaults come from ``AttentionLSTMStrategy.params``; the meanings from the "Params:" list of
its docstring, whose entries read ``- name (default): meaning``. The README holds this table
between markers, and a test keeps the three in step: a param without an entry, an entry without
a param, or a default that differs from the code's is an error here.
"""

from __future__ import annotations

import ast
import inspect
import re

import backtrader as bt

from bt_attention_lstm.strategies.attention_lstm import AttentionLSTMStrategy

PIPE = "\\|"
_ENTRY = re.compile(r"^ {2}- (?P<head>[^:]+?): (?P<text>.*)$")
_NAME = re.compile(r"(?P<name>[a-z_]+) \((?P<default>[^)]*)\)")


def documented_params(strategy: type = AttentionLSTMStrategy) -> dict[str, tuple[str, str]]:
    """{param: (default as written, meaning)} from the docstring's "Params:" list."""
    doc = inspect.cleandoc(strategy.__doc__ or "")
    block = doc.split("Params:\n", 1)[1].split("\n\n", 1)[0]
    entries: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        match = _ENTRY.match(line)
        if match:
            entries.append((match["head"], [match["text"]]))
        elif entries:
            entries[-1][1].append(line.strip())
    out: dict[str, tuple[str, str]] = {}
    for head, text in entries:
        meaning = " ".join(text)
        for name in _NAME.finditer(head):
            out[name["name"]] = (name["default"], meaning)
    return out


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def params_table(strategy: type[bt.Strategy] = AttentionLSTMStrategy) -> str:
    """The Markdown table; ``ValueError`` when the docstring and the params disagree."""
    documented = documented_params(strategy)
    actual = dict(strategy.params._getitems())
    missing = sorted(set(actual) - set(documented))
    extra = sorted(set(documented) - set(actual))
    if missing or extra:
        raise ValueError(f"params without a docstring entry {missing}, entries without a "
                         f"param {extra}")
    rows = ["| param | default | meaning |", "|---|---|---|"]
    for name, value in actual.items():
        written, meaning = documented[name]
        if _literal(written) != value:
            raise ValueError(f"{name}: the docstring says ({written}), the code {value!r}")
        cell = meaning.replace("|", PIPE)  # a pipe inside a cell would end it
        rows.append(f"| `{name}` | `{value!r}` | {cell} |")
    return "\n".join(rows)
