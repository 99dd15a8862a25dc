"""The settings object: every environment variable in one place, read when asked, flags first."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from app.cli import main
from fabscope.errors import InputError
from fabscope.settings import ENV_VARS, Settings, env_var, get_settings, resolve_db_path

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_are_the_documented_paths(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = get_settings()
    assert s.db == tmp_path / "data" / "fabscope.duckdb"
    assert s.drop_dir == tmp_path / "data" / "drop"
    assert s.cache_dir == tmp_path / "data" / "cache"
    assert s.dagster_home == tmp_path / "data" / "dagster"
    assert s.reference_dir == REPO / "pipelines" / "reference"
    assert (s.prices, s.live, s.require_browser, s.real_prices) == ("sample", False, False, None)


def test_each_setting_is_read_from_its_variable_when_asked(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("FABSCOPE_DB", "w.duckdb")
    clean_env.setenv("DAGSTER_HOME", "~/dh")
    clean_env.setenv("FABSCOPE_LIVE", "1")
    clean_env.setenv("FABSCOPE_PRICES", " yahoo ")
    s = get_settings()
    assert s.db == tmp_path / "w.duckdb"  # relative to the working directory, made absolute
    assert s.dagster_home == Path("~/dh").expanduser()
    assert s.live is True and s.prices == "yahoo"
    clean_env.setenv("FABSCOPE_LIVE", "0")
    assert get_settings().live is False  # not cached: the next read sees the change


def test_an_empty_variable_counts_as_unset(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("FABSCOPE_DB", "")
    clean_env.setenv("FABSCOPE_PRICES", "")
    assert get_settings().db == tmp_path / "data" / "fabscope.duckdb"
    assert get_settings().prices == "sample"


def test_a_value_that_does_not_parse_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FABSCOPE_LIVE", "maybe")
    with pytest.raises(InputError, match=r"^\$FABSCOPE_LIVE='maybe': .*boolean"):
        get_settings()


def test_warehouse_precedence_flag_then_env_then_default(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert resolve_db_path() == tmp_path / "data" / "fabscope.duckdb"
    clean_env.setenv("FABSCOPE_DB", str(tmp_path / "env.duckdb"))
    assert resolve_db_path() == tmp_path / "env.duckdb"
    assert resolve_db_path("flag.duckdb") == tmp_path / "flag.duckdb"


def _environment_reads(path: Path) -> list[str]:
    """``os.environ.get(...)``, ``os.getenv(...)`` and ``os.environ[...]`` loads in ``path`` (writes aside)."""
    reads = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = ast.unparse(node.func)
            if name in ("os.environ.get", "os.getenv"):
                reads.append(f"{name}({ast.unparse(node.args[0]) if node.args else ''})")
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and ast.unparse(node.value) == "os.environ"
        ):
            reads.append(f"os.environ[{ast.unparse(node.slice)}]")
    return reads


def test_every_variable_read_in_the_code_is_a_setting() -> None:
    """No package module reads the environment behind the settings' back."""
    readers = {
        f"{path.relative_to(REPO)}: {read}"
        for package in ("hardware_sim", "models", "pipelines", "app")
        for path in (REPO / package).rglob("*.py")
        for read in _environment_reads(path)
    }
    assert not readers
    assert {env_var(name) for name in Settings.model_fields} == set(ENV_VARS)
    assert len(ENV_VARS) == len(set(ENV_VARS))


def test_every_fabscope_variable_the_tests_or_makefile_name_is_a_setting() -> None:
    """Tests may save/restore variables, but each ``FABSCOPE_*`` name they use is a documented setting."""
    named = set()
    for path in [*(REPO / "tests").rglob("*.py"), REPO / "Makefile"]:
        named |= set(re.findall(r"\bFABSCOPE_[A-Z_]+\b", path.read_text(encoding="utf-8")))
    assert named <= set(ENV_VARS), sorted(named - set(ENV_VARS))


def test_config_json_prints_each_setting_with_its_variable(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("FABSCOPE_DROP_DIR", str(tmp_path / "drop"))
    assert main(["config", "--db", "x.duckdb", "--json"]) == 0
    out, err = capsys.readouterr()
    settings = json.loads(out)["settings"]
    assert set(settings) == set(Settings.model_fields) and err == ""
    assert settings["db"] == {
        "value": str(tmp_path / "x.duckdb"),
        "env": "FABSCOPE_DB",
        "default": str(Path("data") / "fabscope.duckdb"),
        "source": "flag",
        "description": Settings.model_fields["db"].description,
    }
    assert settings["drop_dir"]["value"] == str(tmp_path / "drop")
    assert settings["drop_dir"]["source"] == "env"
    assert settings["dagster_home"]["env"] == "DAGSTER_HOME"
    assert settings["dagster_home"]["source"] == "default"
    assert settings["real_prices"]["value"] is None


def test_config_refuses_a_bad_variable_in_one_line(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("FABSCOPE_REQUIRE_BROWSER", "sometimes")
    assert main(["config", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("fabscope: $FABSCOPE_REQUIRE_BROWSER='sometimes'")
    assert len(err.strip().splitlines()) == 1
