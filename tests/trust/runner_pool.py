"""Run many ``runners/*.py`` invocations cheaply, each in its own process.

Starting Python and importing torch, backtrader, TA-Lib and quantstats costs ~4 CPU-seconds per
process, which dwarfs the work of a bad-input case (fail while loading a file). So one server
interpreter (started with ``sys.executable``, cwd = repo root) imports those once and then forks
a child per invocation. The child is a real process: it runs the script as ``__main__`` with its
own argv and environment, its stdout/stderr go to files, and its exit status is the script's.
Nothing is shared back, so a runner that misbehaves in one case cannot taint another.

The server never runs a torch op before forking: no thread pool exists that a child could
inherit in a broken state.

Usage from a test: ``run_many([Invocation(...), ...])`` -> ``list[Outcome]``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Invocation:
    script: str  # e.g. "runners/train.py", relative to the repo root
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)  # added to the server's environment
    timeout: float = 120.0


@dataclass(frozen=True)
class Outcome:
    code: int  # exit status; -N when killed by signal N
    stdout: str
    stderr: str


def run_many(invocations: list[Invocation], env: dict[str, str], parallel: int = 2,
             timeout: float = 600.0) -> list[Outcome]:
    """Run every invocation (``parallel`` at a time) in forked children of one server."""
    with tempfile.TemporaryDirectory(prefix="runner-pool-") as tmp:
        spec = Path(tmp) / "spec.json"
        result = Path(tmp) / "result.json"
        spec.write_text(json.dumps({
            "parallel": parallel, "workdir": tmp,
            "invocations": [asdict(i) for i in invocations],
        }))
        proc = subprocess.run(
            [sys.executable, "-m", "tests.trust.runner_pool", str(spec), str(result)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        )
        if proc.returncode != 0 or not result.is_file():
            raise RuntimeError(f"runner pool failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return [Outcome(**o) for o in json.loads(result.read_text())]


# -- the server --------------------------------------------------------------------------------


def _warm_imports() -> None:
    """Import what every runner imports, without running anything."""
    # the runners import their heavy libraries after parsing: warm those too
    import bt_attention_lstm.models.training.multi_symbol  # noqa: F401
    import bt_attention_lstm.runners.audit  # noqa: F401
    import bt_attention_lstm.runners.backtest  # noqa: F401
    import bt_attention_lstm.runners.research.audit.job  # noqa: F401
    import bt_attention_lstm.runners.research.default_model  # noqa: F401
    import bt_attention_lstm.runners.research.reporting  # noqa: F401
    import bt_attention_lstm.runners.train  # noqa: F401


def _child(inv: dict, out_path: str, err_path: str) -> None:
    """In the forked child: become ``python <script> <args>`` and exit with its status."""
    code = 1
    try:
        os.environ.update(inv["env"])
        os.chdir(REPO_ROOT)
        for fd, path in ((1, out_path), (2, err_path)):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        script = str(REPO_ROOT / inv["script"])
        sys.argv = [script, *inv["args"]]
        import runpy

        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - what Python itself would do for an uncaught error
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _read(path: str) -> str:
    return Path(path).read_text(errors="replace") if os.path.exists(path) else ""


def serve(spec_path: str, result_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    _warm_imports()
    invocations = spec["invocations"]
    outcomes: list[dict | None] = [None] * len(invocations)
    running: dict[int, tuple[int, float, str, str]] = {}  # pid -> (index, deadline, out, err)
    pending = list(range(len(invocations)))
    while pending or running:
        while pending and len(running) < spec["parallel"]:
            i = pending.pop(0)
            out = os.path.join(spec["workdir"], f"{i}.out")
            err = os.path.join(spec["workdir"], f"{i}.err")
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(invocations[i], out, err)
            running[pid] = (i, time.monotonic() + invocations[i]["timeout"], out, err)
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            for child, (_, deadline, _, _) in list(running.items()):
                if time.monotonic() > deadline:
                    os.kill(child, signal.SIGKILL)
            time.sleep(0.02)
            continue
        i, _, out, err = running.pop(pid)
        outcomes[i] = {"code": os.waitstatus_to_exitcode(status), "stdout": _read(out),
                       "stderr": _read(err)}
    Path(result_path).write_text(json.dumps(outcomes))


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
