"""`serve` and `forecast run` on a read-only folder, and a disk that fills during a write (issue 18), end to
end through the real CLI: one line naming the real cause, exit 2, no traceback, the published file unchanged.

Both use real kernel mechanisms in a private mount namespace (``unshare``), because CI runs as root and
root ignores ``chmod``: a **read-only bind mount** of the warehouse's folder (EROFS, which root obeys too),
and a **small tmpfs** holding the warehouse, filled so that only a given amount stays free (ENOSPC from
the kernel, not an injected OSError). Where mount namespaces are not allowed the tests skip, saying so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "models" / "scenarios" / "baseline.yaml"

_READ_ONLY = 'd="$1"; shift; mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" "$d" && exec "$@"'
_FULL = r"""
d="$1"; src="$2"; free_kb="$3"; out="$4"; shift 4
size_kb=$(( $(du -sk "$src" | cut -f1) + free_kb + 256 ))
mount -t tmpfs -o size="${size_kb}k" tmpfs "$d" || exit 97
cp -a "$src/." "$d/" || exit 98
fill=$(( $(df -k --output=avail "$d" | tail -1) - free_kb ))
touch "$d/filler"; [ "$fill" -gt 0 ] && dd if=/dev/zero of="$d/filler" bs=1k count="$fill" status=none
"$@" 2> "$out/stderr"; echo $? > "$out/rc"
cp "$d/fabscope.duckdb" "$out/after.duckdb"
find "$d" -type f -newer "$d/filler" \( -name '*.duckdb' -o -name '*.wal' -o -name '*.part' \) > "$out/left"
"""


def _unshare() -> list[str]:
    """The ``unshare`` prefix giving a private mount namespace here, or a skip saying why there is none."""
    binary = shutil.which("unshare")
    if binary is None:
        pytest.skip("needs util-linux unshare (a read-only or full filesystem needs a private mount)")
    for prefix in ([binary, "-rm"], [binary, "-m"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    pytest.skip("mount namespaces are not allowed here (unshare -m fails); root ignores chmod, so no test")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "FABSCOPE_KEEP_VERSIONS": "3"}


def _small_scenario(tmp_path: Path) -> Path:
    text = SCENARIO.read_text(encoding="utf-8").replace("n_paths: 10000", "n_paths: 200")
    path = tmp_path / "small.yaml"
    path.write_text(text.replace("name: baseline", "name: disk-test", 1), encoding="utf-8")
    return path


def _one_line(stderr: str, *needles: str) -> None:
    lines = [line for line in stderr.splitlines() if line.startswith("fabscope:")]
    assert "Traceback" not in stderr and len(lines) == 1, stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["serve", "--port", "0"], ["forecast", "run", "SCENARIO"]], ids=["serve", "forecast-run"]
)
def test_a_read_only_folder_is_one_line(db_copy: Path, tmp_path: Path, command: list[str]) -> None:
    before = _sha(db_copy)
    args = [str(_small_scenario(tmp_path)) if a == "SCENARIO" else a for a in command]
    proc = subprocess.run(
        [
            *_unshare(),
            "sh",
            "-c",
            _READ_ONLY,
            "sh",
            str(db_copy.parent),
            sys.executable,
            "-m",
            "app.cli",
            *args,
        ]
        + ["--db", str(db_copy)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    _one_line(proc.stderr, "Read-only file system", str(db_copy.parent))
    assert _sha(db_copy) == before


def _full_disk_run(
    db: Path, free_kb: int, tmp_path: Path, args: list[str], *, kept: bool = False
) -> tuple[str, Path]:
    """Run ``fabscope ARGS --db DISK/fabscope.duckdb`` on a tmpfs holding a copy of warehouse ``db`` (and
    one kept version of it if ``kept``) with ``free_kb`` KiB free; returns (its stderr, the published
    file as it was afterwards)."""
    from pipelines.warehouse import Warehouse
    from pipelines.warehouse_versions import keep_version

    src, mount, out = tmp_path / "src", tmp_path / "disk", tmp_path / "out"
    for folder in (src, mount, out):
        folder.mkdir()
    shutil.copyfile(db, src / "fabscope.duckdb")
    if kept:
        keep_version(Warehouse(src / "fabscope.duckdb"), src / "fabscope.duckdb")
    proc = subprocess.run(
        [*_unshare(), "sh", "-c", _FULL, "sh", str(mount), str(src), str(free_kb), str(out)]
        + [sys.executable, "-m", "app.cli", *args, "--db", str(mount / "fabscope.duckdb")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    stderr = (out / "stderr").read_text()
    assert (out / "rc").read_text().strip() == "2", stderr[-2000:]
    assert (out / "left").read_text().split() == []  # no staging file or half-kept version left behind
    return stderr, out / "after.duckdb"


@pytest.mark.slow
def test_a_full_disk_during_a_forecast_run_names_enospc_and_keeps_the_stored_rows(
    db_copy: Path, tmp_path: Path
) -> None:
    """Room for the staging copy but not for the run's rows: DuckDB's write fails (the red team saw
    "cannot rollback - no transaction is active" instead of the cause)."""
    free_kb = db_copy.stat().st_size // 1024 + 16
    scenario = _small_scenario(tmp_path)
    stderr, after = _full_disk_run(db_copy, free_kb, tmp_path, ["forecast", "run", str(scenario)])
    _one_line(stderr, "No space left on device")
    assert "rollback" not in stderr
    assert _sha(after) == _sha(db_copy)  # the published file is the one before the write


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["copy", "keep"])
def test_a_full_disk_during_a_restore_names_enospc_and_keeps_the_stored_rows(
    db_copy: Path, tmp_path: Path, stage: str
) -> None:
    """``copy``: no room for the version being restored; ``keep``: room for it, not for keeping the
    current file as a version (the same step every publish takes)."""
    size_kb = db_copy.stat().st_size // 1024
    free_kb = {"copy": size_kb // 2, "keep": size_kb + size_kb // 2}[stage]
    stderr, after = _full_disk_run(db_copy, free_kb, tmp_path, ["restore", "1"], kept=True)
    _one_line(stderr, "No space left on device", "nothing was published")
    assert _sha(after) == _sha(db_copy)
