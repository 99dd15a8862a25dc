"""A throwaway PostgreSQL for the DuckLake tests and bench: Debian's ``initdb``/``pg_ctl`` (any installed
major under ``/usr/lib/postgresql/*/bin``) on a free 127.0.0.1 port with its own temp data dir, run as the
``postgres`` user when started by root (PostgreSQL refuses to run as root), stopped afterwards.

``start(folder)`` returns a :class:`Postgres` with a catalog database and login ``fabscope`` (password
``fabscope``, md5/scram over TCP) so tests can also check a refused login; ``stop()`` shuts it down fast.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 30.0
USER = "fabscope"
PASSWORD = "fabscope"


def binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` that has ``initdb`` (None when PostgreSQL is missing)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    """A running throwaway server: its bin dir, data dir, port and the ``fabscope`` login."""

    bin_dir: Path
    data_dir: Path
    port: int
    as_postgres: bool

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd="/")
        if check and out.returncode:
            raise RuntimeError(f"{Path(args[0]).name} failed ({out.returncode}): {out.stderr.strip()[-800:]}")
        return out

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run ``sql`` as the superuser over the unix socket; returns stdout."""
        out = self._run(
            str(self.bin_dir / "psql"), "-h", str(self.data_dir), "-p", str(self.port), "-d", db, "-At",
            "-v", "ON_ERROR_STOP=1", "-c", sql,
        )  # fmt: skip
        return out.stdout

    def create_catalog(self, name: str) -> str:
        """A new empty database ``name`` owned by ``fabscope``; returns its name."""
        self.psql(f'CREATE DATABASE "{name}" OWNER {USER}')
        return name

    def url(self, db: str, data: Path, *, password: str | None = PASSWORD) -> str:
        """The fabscope warehouse URL of catalog ``db`` with Parquet data under ``data``."""
        auth = f"{USER}:{password}" if password is not None else USER
        return f"ducklake:postgresql://{auth}@127.0.0.1:{self.port}/{db}?data={data}"

    def stop(self) -> None:
        """Stop the server (immediate shutdown) and remove its data dir."""
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop", check=False
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start(folder: Path) -> Postgres:
    """initdb + start a server under ``folder`` (created); raise ``RuntimeError`` if it does not come up."""
    bin_dir = binaries()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    as_postgres = os.geteuid() == 0
    if as_postgres:  # the postgres user must reach the folder: pytest's own temp dirs are private to root
        folder = Path(tempfile.mkdtemp(prefix="fabscope-pg-"))
    folder.mkdir(parents=True, exist_ok=True)
    data_dir = folder / "pgdata"
    data_dir.mkdir()
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if as_postgres:
        shutil.chown(folder, "postgres")
        shutil.chown(data_dir, "postgres")
        shutil.chown(pwfile, "postgres")
        os.chmod(folder, 0o755)
    port = free_port()
    pg = Postgres(bin_dir, data_dir, port, as_postgres)
    pg._run(
        str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth-local=trust",
        "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
    )  # fmt: skip
    conf = (
        f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{data_dir}'\n"
        "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n"
    )
    pg._run("sh", "-c", f"cat >> '{data_dir}/postgresql.conf' <<'EOF'\n{conf}EOF")
    pg._run(
        str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(data_dir / "log"), "-w", "-t", "30", "start"
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            pg.psql("SELECT 1")
            break
        except RuntimeError:
            if time.monotonic() > deadline:
                pg.stop()
                raise RuntimeError("PostgreSQL did not start") from None
            time.sleep(0.1)
    pg.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
    return pg
