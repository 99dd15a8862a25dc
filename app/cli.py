"""The ``fabscope`` command line.

Sub-command groups live in their own modules, each exposing ``register(subparsers)``
that adds parsers whose ``func`` attribute is called with the parsed args:
``app.cli_data`` (refresh/status), ``app.cli_service`` (serve/worker/passwd), ``app.cli_restore`` (restore),
``app.cli_sim`` (sim list/chip/system/llm/validate),
``app.cli_fab`` (sim etch/fab), ``app.cli_forecast`` (forecast run/backtest/...).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from fabscope.errors import FabscopeError

_TOP_LEVEL = ("app.cli_data", "app.cli_service", "app.cli_config", "app.cli_restore")
_SIM = ("app.cli_sim", "app.cli_fab")
_FORECAST = ("app.cli_forecast",)

#: Fast start: the module that registers a command, so ``main`` imports only that one (``fabscope status``
#: need not import the simulator, ``sim chip`` not the fab physics). A command missing here still works:
#: ``main`` then registers every module. ``tests/app/test_cli_start.py`` checks each entry is true.
FAST_PATH: dict[tuple[str, ...], str] = {
    ("refresh",): "app.cli_data",
    ("status",): "app.cli_data",
    **{(c,): "app.cli_service" for c in ("serve", "worker", "passwd")},
    ("config",): "app.cli_config",
    ("restore",): "app.cli_restore",
    **{("sim", c): "app.cli_sim" for c in ("list", "chip", "system", "llm", "train", "replace", "validate")},
    **{("sim", c): "app.cli_fab" for c in ("etch", "fab")},
    **{("forecast", c): "app.cli_forecast" for c in ("run", "backtest", "list", "compare", "explain")},
}


def _register(modules: tuple[str, ...], subparsers: argparse._SubParsersAction) -> None:
    for name in modules:
        importlib.import_module(name).register(subparsers)


def _fast_module(argv: list[str]) -> tuple[tuple[str, ...], str] | None:
    """``(command words, module)`` when ``argv`` names a command of :data:`FAST_PATH`, else None."""
    for words in (tuple(argv[:2]), tuple(argv[:1])):
        if words in FAST_PATH:
            return words, FAST_PATH[words]
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser (used by ``main`` and by tests): every command, or with ``argv`` naming a
    command of :data:`FAST_PATH` only the module that registers it (so only its imports are paid)."""
    fast = _fast_module(argv) if argv else None
    parser = argparse.ArgumentParser(prog="fabscope", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    groups = {"sim": ("hardware and fab simulator", _SIM), "forecast": ("substitution forecasts", _FORECAST)}
    if fast is None or len(fast[0]) == 1:
        _register(_TOP_LEVEL if fast is None else (fast[1],), sub)
    for group, (text, modules) in groups.items():
        if fast is not None and fast[0][0] != group:
            continue
        group_sub = sub.add_parser(group, help=text).add_subparsers(dest=f"{group}_command", required=True)
        _register(modules if fast is None else (fast[1],), group_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fabscope`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        code = args.func(args)
    except FabscopeError as exc:  # every expected failure (CliError included): one line, exit 2
        print(f"fabscope: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fabscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `fabscope ... --json | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
