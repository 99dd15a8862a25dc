"""Fast start: the CLI imports only what a command uses (timings are in bench/bench_cli_start.py).

Each check runs in a fresh interpreter, since this test process has long imported everything."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

import pytest

from app import cli

HEAVY = ("dagster", "sklearn", "plotly", "dash")


def _imported_after(code: str) -> set[str]:
    """Top-level package names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_building_the_full_parser_imports_no_heavy_library() -> None:
    loaded = _imported_after("import app.cli; app.cli.build_parser()")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["sim", "chip", "h20", "--json"], (*HEAVY, "scipy", "duckdb", "polars", "pandas")),
        (["sim", "list", "--json"], (*HEAVY, "scipy", "duckdb", "polars", "pandas")),
        (["sim", "etch", "--layers", "232", "--json"], (*HEAVY, "scipy", "duckdb", "polars", "pandas")),
        (["status", "--db", "/nonexistent/fabscope.duckdb", "--json"], (*HEAVY, "scipy", "hardware_sim")),
    ],
)
def test_a_command_imports_only_what_it_uses(argv: list[str], absent: tuple[str, ...]) -> None:
    loaded = _imported_after(
        f"import contextlib, io\nfrom app.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({argv!r})"
    )
    assert loaded.isdisjoint(absent), sorted(loaded & set(absent))


def _commands(module: str) -> set[str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(module).register(sub)
    return set(sub.choices)


def test_every_fast_path_entry_names_a_command_its_module_registers() -> None:
    for words, module in cli.FAST_PATH.items():
        assert words[-1] in _commands(module), (words, module)
        group = words[0] if len(words) == 2 else None
        modules = {None: cli._TOP_LEVEL, "sim": cli._SIM, "forecast": cli._FORECAST}[group]
        assert module in modules, (words, module)


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--json"],
        ["sim", "chip", "h20", "--json"],
        ["sim", "etch", "--layers", "232"],
        ["forecast", "list", "--db", "x.duckdb"],
        ["config", "--json"],
    ],
)
def test_the_fast_parser_parses_like_the_full_one(argv: list[str]) -> None:
    fast, full = cli.build_parser(argv).parse_args(argv), cli.build_parser().parse_args(argv)
    assert {k: v for k, v in vars(fast).items() if k != "func"} == {
        k: v for k, v in vars(full).items() if k != "func"
    }
    assert fast.func.__qualname__ == full.func.__qualname__


def test_an_unknown_command_still_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["sim", "bogus"])
    err = capsys.readouterr().err
    assert "chip" in err and "etch" in err
