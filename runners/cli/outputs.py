"""Where a command writes, and saying so before it starts.

The rule: a command that writes files (backtest, train, walkforward, sweep, paper) writes them
into ONE run directory, which is ``--out DIR`` when given, else a new folder
``<command>-<YYYYmmdd-HHMMSS>`` under the runs root::

    $XDG_DATA_HOME/bt-attention-lstm/runs/      (XDG_DATA_HOME unset: ~/.local/share)

Why there: a run's files (a tear sheet, a trained artifact) are results a user keeps and opens
again, which the XDG base-directory specification files under the data home; the cache home
holds what can be rebuilt at will (the default model's cache: ``$XDG_CACHE_HOME``). It is never
the working directory, where a backtrader user's own ``reports/`` and ``models/`` live. The
path is printed ("writing to DIR") after every flag and the data are checked and before any work
starts; files named by ``--json``, ``--state`` or ``--decision-log`` are printed the same way.

Standard library only: the runners import this before they parse their arguments.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.reports.run_dir import new_run_dir

RUNS_HELP = "$XDG_DATA_HOME/bt-attention-lstm/runs (~/.local/share/... when XDG_DATA_HOME is unset)"


def default_run_dir(command: str, now: datetime | None = None) -> Path:
    """A fresh ``<runs root>/<command>-<YYYYmmdd-HHMMSS>`` path (not created)."""
    return new_run_dir(name=command, now=now)


def out_help(what: str, command: str) -> str:
    """The help of a command's --out flag."""
    return (
        f"directory for {what}; it must be new or empty (default: a new folder "
        f"{command}-YYYYmmdd-HHMMSS under {RUNS_HELP})"
    )


def announce(path: Path, **files: Path | str | None) -> None:
    """Print where the command is about to write: the run directory, then any named file
    (``state=...``) on the same line. Called once everything is checked, before the work."""
    extra = "".join(f"; {name.replace('_', ' ')}: {_shown(p)}" for name, p in files.items() if p)
    print(f"writing to {_shown(path)}{extra}", flush=True)


def announce_file(flag: str, path: Path | None) -> None:
    """Print the file a command will write for ``flag`` (``--json``), when it writes one."""
    if path is not None:
        print(f"writing to {path} ({flag}, when the run is done)", flush=True)


def _shown(path: Path | str) -> Path:
    return Path(path).expanduser().absolute()


def check_file_target(flag: str, path: str | None) -> Path | None:
    """A file a command will write (``--json FILE``): not a directory, in an existing folder.
    Returns its absolute path, or None when the flag is not given."""
    if path is None:
        return None
    target = _shown(path)
    if target.is_dir():
        raise ConfigError(f"{flag} {path} is a directory; give a file path")
    if not target.parent.is_dir():
        raise ConfigError(f"{flag} {path}: the folder {target.parent} does not exist")
    return target
