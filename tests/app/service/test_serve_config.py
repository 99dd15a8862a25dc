"""``fabscope serve`` / ``worker`` / ``passwd`` refusals and the dashboard's authentication, /healthz and
service banner, in-process (Flask's test client; a Redis that is down is a closed loopback port)."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest
import serve_load

from app.cli import main
from app.dashboard import service
from fabscope.errors import InputError, ServiceError
from fabscope.settings import get_settings


def _closed_port_url() -> str:
    return f"redis://user:s3cret-pw@127.0.0.1:{serve_load.free_port()}/0"


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("::", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert service.is_loopback(host) is loopback


def test_serve_refuses_a_public_address_without_authentication(tmp_path: Path, capsys) -> None:
    assert main(["serve", "--db", str(tmp_path / "w.duckdb"), "--host", "0.0.0.0"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "refusing to serve on 0.0.0.0 without authentication" in line
    assert "FABSCOPE_AUTH_USERS_FILE" in line and "FABSCOPE_AUTH_PROXY_HEADER" in line


def test_serve_refuses_two_authentication_modes_and_a_plain_password_file(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    users = tmp_path / "users"
    users.write_text("# team\nalice:hunter2hunter2\n")
    monkeypatch.setenv("FABSCOPE_AUTH_USERS_FILE", str(users))
    monkeypatch.setenv("FABSCOPE_AUTH_PROXY_HEADER", "X-Forwarded-User")
    assert main(["serve", "--db", str(tmp_path / "w.duckdb"), "--host", "0.0.0.0"]) == 2
    assert "not both" in _one_line(capsys.readouterr().err)
    monkeypatch.delenv("FABSCOPE_AUTH_PROXY_HEADER")
    assert main(["serve", "--db", str(tmp_path / "w.duckdb"), "--host", "0.0.0.0"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{users}, line 2" in line and "not a plain password" in line


def test_serve_refuses_a_port_in_use(tmp_path: Path, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--db", str(tmp_path / "w.duckdb"), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_redis_that_is_down_is_one_line_naming_the_url(
    command: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    url = _closed_port_url()
    monkeypatch.setenv("FABSCOPE_REDIS_URL", url)
    assert main([command, "--db", str(tmp_path / "w.duckdb")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"Redis at {url.replace('s3cret-pw', '***')} is not reachable" in line
    assert "s3cret-pw" not in line


def test_worker_needs_a_redis_url(tmp_path: Path, capsys) -> None:
    assert main(["worker", "--db", str(tmp_path / "w.duckdb")]) == 2
    assert "FABSCOPE_REDIS_URL" in _one_line(capsys.readouterr().err)


def test_a_redis_url_setting_must_be_a_redis_url(monkeypatch) -> None:
    monkeypatch.setenv("FABSCOPE_REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(InputError, match="FABSCOPE_REDIS_URL"):
        get_settings()


def test_config_hides_the_secret_key_and_url_passwords(monkeypatch, capsys) -> None:
    monkeypatch.setenv("FABSCOPE_SECRET_KEY", "do-not-print-me")
    monkeypatch.setenv("FABSCOPE_REDIS_URL", "redis://u:pw-here@10.0.0.5:6379/0")
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert "do-not-print-me" not in out and "pw-here" not in out
    assert json.dumps(doc).count("***") >= 2


def test_passwd_writes_a_line_the_users_file_accepts(tmp_path: Path, monkeypatch, capsys) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["passwd", "alice"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("alice:scrypt:") and "correct horse" not in line
    users = tmp_path / "users"
    users.write_text(line + "\n")
    assert list(service.load_users(users)) == ["alice"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["passwd", "bob"]) == 2


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.slow
def test_basic_auth_protects_every_route_but_healthz(refreshed_db: Path, tmp_path: Path, monkeypatch) -> None:
    from app.dashboard.app import create_app

    users = tmp_path / "users"
    users.write_text(f"alice:{service.hash_password('correct horse battery')}\n")
    monkeypatch.setenv("FABSCOPE_AUTH_USERS_FILE", str(users))
    client = create_app(str(refreshed_db)).server.test_client()
    assert client.get("/").status_code == 401
    assert client.get("/market", headers=_basic("alice", "wrong password")).status_code == 401
    assert client.get("/market", headers=_basic("mallory", "correct horse battery")).status_code == 401
    assert client.get("/market", headers=_basic("alice", "correct horse battery")).status_code == 200
    assert (
        client.get("/market", headers=_basic("alice", "correct horse battery")).status_code == 200
    )  # cached
    deps = client.get("/_dash-dependencies").get_json()  # dash-auth leaves Dash's own scripts public
    spec = next(s for s in deps if "_pages_content" in s["output"])
    page = serve_load.page_payload(spec, "/market")
    assert client.post("/_dash-update-component", json=page).status_code == 401
    good = client.post("/_dash-update-component", json=page, headers=_basic("alice", "correct horse battery"))
    assert good.status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["warehouse"]["readable"] is True


@pytest.mark.slow
def test_a_trusted_proxy_header_protects_every_route_but_healthz(refreshed_db: Path, monkeypatch) -> None:
    from app.dashboard.app import create_app

    monkeypatch.setenv("FABSCOPE_AUTH_PROXY_HEADER", "X-Forwarded-User")
    client = create_app(str(refreshed_db)).server.test_client()
    assert client.get("/market").status_code == 401
    assert client.get("/market", headers={"X-Forwarded-User": " "}).status_code == 401
    assert client.get("/market", headers={"X-Forwarded-User": "alice"}).status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.slow
def test_with_redis_down_the_dashboard_says_so_and_still_serves_pages(
    refreshed_db: Path, monkeypatch
) -> None:
    from app.dashboard.app import create_app

    url = _closed_port_url()
    monkeypatch.setenv("FABSCOPE_REDIS_URL", url)
    client = create_app(str(refreshed_db)).server.test_client()
    health = client.get("/healthz")
    doc = health.get_json()
    assert health.status_code == 503 and doc["status"] == "degraded"
    assert doc["background"] == {"manager": "celery", "reachable": False}
    deps = client.get("/_dash-dependencies").get_json()
    for output, expect in (("service-banner.children", "is not reachable"), ("_pages_content", "")):
        spec = next(s for s in deps if output in s["output"])
        response = client.post("/_dash-update-component", json=serve_load.page_payload(spec, "/forecasts"))
        assert response.status_code == 200, output
        assert expect in response.get_data(as_text=True)
    banner = client.post(
        "/_dash-update-component",
        json=serve_load.page_payload(next(s for s in deps if "service-banner" in s["output"]), "/forecasts"),
    ).get_data(as_text=True)
    assert "Background reruns are unavailable: Redis at" in banner and "s3cret-pw" not in banner


def test_check_redis_raises_a_service_error() -> None:
    with pytest.raises(ServiceError, match="is not reachable"):
        service.check_redis(_closed_port_url(), timeout=0.5)


@pytest.mark.slow
def test_the_forecasts_page_says_when_no_worker_answers(redis_url: str) -> None:
    settings = get_settings(redis_url=redis_url)
    assert service.background_problem(settings) is None  # Redis answers: other pages show no banner
    problem = service.background_problem(settings, workers=True)
    assert problem is not None and "No fabscope worker answers" in problem and "fabscope worker" in problem
