"""``python -m bt_attention_lstm.models.datasets [NAME ...]``: print the path of each shipped
sample data file named (no name: every file, one path a line), for shell use such as
``--data "$(python -m bt_attention_lstm.models.datasets orcl-1995-2014.txt)"``.
An unknown name prints one line on stderr and exits with code 2."""

from __future__ import annotations

import sys

from bt_attention_lstm.models.datasets import list_samples, sample_path
from bt_attention_lstm.models.errors import DataError


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    try:
        paths = [sample_path(name) for name in names or list_samples()]
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
