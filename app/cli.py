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


def _register(modules: tuple[str, ...], subparsers: argparse._SubParsersAction) -> None:
    for name in modules:
        importlib.import_module(name).register(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (used by ``main`` and by tests)."""
    parser = argparse.ArgumentParser(prog="fabscope", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _register(_TOP_LEVEL, sub)
    sim = sub.add_parser("sim", help="hardware and fab simulator").add_subparsers(
        dest="sim_command", required=True
    )
    _register(_SIM, sim)
    forecast = sub.add_parser("forecast", help="substitution forecasts").add_subparsers(
        dest="forecast_command", required=True
    )
    _register(_FORECAST, forecast)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fabscope`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
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
