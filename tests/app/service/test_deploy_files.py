"""deploy/: the compose file's services and commands match the CLI and the Dagster code location, and
deploy/dagster.yaml is a valid Dagster instance on PostgreSQL. Docker does not run here; these checks
are what can go stale without it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import build_parser
from app.dashboard import service
from fabscope.settings import ENV_VARS, get_settings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
SERVICES = {"postgres", "redis", "dagster-webserver", "dagster-daemon", "web", "worker"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _fabscope_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s.get("image") == "fabscope:latest"}


def test_the_compose_file_runs_every_engine(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= SERVICES
    assert set(_fabscope_services(compose)) >= {"dagster-webserver", "dagster-daemon", "web", "worker"}


def test_every_fabscope_command_parses_with_the_cli(compose: dict[str, Any]) -> None:
    parser = build_parser()
    commands = {
        name: s["command"]
        for name, s in compose["services"].items()
        if s.get("command", [""])[0] == "fabscope"
    }
    assert {c[1] for c in commands.values()} >= {"serve", "worker", "refresh"}
    for name, command in commands.items():
        args = parser.parse_args(command[1:])  # an unknown flag or sub-command exits here
        assert callable(args.func), name
    web = parser.parse_args(commands["web"][1:])
    assert (web.host, web.workers, web.dev) == ("0.0.0.0", 4, False)


def test_the_dagster_commands_load_the_projects_code_location(compose: dict[str, Any]) -> None:
    module = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert module == "pipelines.definitions"
    webserver = compose["services"]["dagster-webserver"]["command"]
    daemon = compose["services"]["dagster-daemon"]["command"]
    assert webserver[0] == "dagster-webserver" and daemon[:2] == ["dagster-daemon", "run"]
    for command in (webserver, daemon):
        assert command[command.index("-m") + 1] == module


def test_the_settings_in_the_compose_file_exist_and_agree(compose: dict[str, Any]) -> None:
    services = _fabscope_services(compose)
    redis_urls = set()
    for name, s in services.items():
        env = s["environment"]
        unknown = {k for k in env if k.startswith("FABSCOPE_")} - set(ENV_VARS)
        assert not unknown, f"{name}: not fabscope settings: {unknown}"
        redis_urls.add(env["FABSCOPE_REDIS_URL"])
        assert env["DAGSTER_HOME"] == "/opt/dagster/home" and env["FABSCOPE_DB"].startswith("/data/")
        assert "warehouse:/data" in s["volumes"], f"{name} does not see the warehouse volume"
    assert redis_urls == {"redis://redis:6379/0"}  # web and worker meet on the compose Redis


def test_the_web_service_passes_fabscope_serves_authentication_rule(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    web = compose["services"]["web"]
    for key, value in web["environment"].items():
        monkeypatch.setenv(key, "placeholder" if "${" in str(value) else str(value))
    settings = get_settings()
    service.require_auth_for("0.0.0.0", settings)  # raises if serve would refuse to start
    assert service.auth_mode(settings) == "basic"
    secret = web["environment"]["FABSCOPE_AUTH_USERS_FILE"]
    assert secret == f"/run/secrets/{web['secrets'][0]}" and web["secrets"][0] in compose["secrets"]


def test_the_dockerfile_copies_the_packages_and_the_dagster_instance() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    for pattern in packages["include"]:
        name = pattern.rstrip("*")
        assert re.search(rf"^COPY {name} \./{name}$", text, re.M), f"Dockerfile does not copy {name}/"
    assert "COPY deploy/dagster.yaml /opt/dagster/home/dagster.yaml" in text
    assert "pip install '.[team]'" in text


def test_dagster_yaml_is_a_valid_instance_on_postgresql(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.instance.config import dagster_instance_config

    env = compose["services"]["dagster-daemon"]["environment"]
    for key, value in env.items():
        monkeypatch.setenv(key, "placeholder" if "${" in str(value) else str(value))
    config, _ = dagster_instance_config(str(DEPLOY), "dagster.yaml")  # validates against Dagster's schema
    postgres = config["storage"]["postgres"]["postgres_db"]
    assert {v["env"] for v in postgres.values()} <= set(env)
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("dagster-postgres") for dep in extras["team"])
