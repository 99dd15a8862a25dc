"""The Forecasts page's scenario editor: levers, uploads, reruns through the single writer."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from app import queries as q
from app.dashboard import scenario_edit as se


def test_scale_distribution_clips_fractions() -> None:
    d = {"dist": "triangular", "low": 0.4, "mode": 0.6, "high": 0.8, "source": "s", "flag": "reported"}
    out = se.scale_distribution(d, 2.0, bounds=(0.0, 1.0))
    assert (out["low"], out["mode"], out["high"]) == (0.8, 1.0, 1.0)
    assert out["flag"] == "estimate" and "×2" in out["note"]
    assert se.scale_distribution(d, 1.0) == d


@pytest.mark.parametrize("factor", [se.LEVER_MIN, se.LEVER_MAX])
def test_every_lever_at_its_extremes_still_validates(factor: float) -> None:
    # each lever is clipped to its parameter's allowed range, e.g. foreign_hbm_decline 0.6 x3 -> 1.0, not 1.8
    base = se.resolved_scenario("baseline.yaml")
    levers = {p: factor for p in se.EDITOR_LEVERS if p in base["parameters"]}
    assert levers
    sc = se.validate_scenario_text(se.build_scenario_yaml("baseline.yaml", "extreme", levers))
    assert sc.name == "extreme"


def test_build_scenario_yaml_applies_levers_everywhere() -> None:
    base = se.resolved_scenario("baseline.yaml")
    text = se.build_scenario_yaml("baseline.yaml", "half-foreign", {"foreign_accelerators": 0.5})
    sc = se.validate_scenario_text(text)
    assert sc.name == "half-foreign"
    data = yaml.safe_load(text)
    before = base["parameters"]["foreign_accelerators"]
    after = data["parameters"]["foreign_accelerators"]
    key = next(k for k in ("value", "mode", "high", "mean") if k in before)
    assert after[key] == pytest.approx(before[key] * 0.5)
    for old, new in zip(base.get("regimes", []), data.get("regimes", []), strict=True):
        if "foreign_accelerators" in old["parameters"]:
            o, n = old["parameters"]["foreign_accelerators"], new["parameters"]["foreign_accelerators"]
            k = next(k for k in ("value", "mode", "high", "mean") if k in o)
            assert n[k] == pytest.approx(o[k] * 0.5)
    with pytest.raises(se.ScenarioInputError, match="run name"):
        se.build_scenario_yaml("baseline.yaml", "bad name!", {})
    with pytest.raises(se.ScenarioInputError, match="outside"):
        se.build_scenario_yaml("baseline.yaml", "ok", {"demand_growth": 9.0})
    with pytest.raises(se.ScenarioInputError, match="unknown base"):
        se.build_scenario_yaml("../../etc/passwd", "ok", {})


def _upload(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return "data:application/x-yaml;base64," + base64.b64encode(raw).decode()


def test_upload_validation() -> None:
    good = se.build_scenario_yaml("baseline.yaml", "uploaded", {})
    assert se.decode_upload(_upload(good), "mine.yaml") == good
    with pytest.raises(se.ScenarioInputError, match="limit"):
        se.decode_upload(_upload(good + "#" * se.MAX_UPLOAD_BYTES), "big.yaml")
    with pytest.raises(se.ScenarioInputError, match=r"\.yaml"):
        se.decode_upload(_upload(good), "mine.exe")
    with pytest.raises(se.ScenarioInputError, match="base64"):
        se.decode_upload("data:x;base64,@@@@", "mine.yaml")
    with pytest.raises(se.ScenarioInputError, match="UTF-8"):
        se.decode_upload(_upload(b"\xff\xfe\x00bad"), "mine.yaml")
    with pytest.raises(se.ScenarioInputError, match="extends"):
        se.decode_upload(_upload("name: x\nextends: /etc/passwd\n"), "mine.yaml")
    with pytest.raises(se.ScenarioInputError, match="mine.yml"):
        se.decode_upload(_upload("name: x\nhorizon: {start_year: 2025, end_year: 2030}\n"), "mine.yml")
    assert se.clamp_paths("junk") == se.DEFAULT_PATHS and se.clamp_paths(10**9) == se.MAX_PATHS


@pytest.mark.slow
def test_rerun_stores_the_run_through_the_single_writer(db_copy: Path) -> None:
    text = se.build_scenario_yaml("baseline.yaml", "dash-test", {"demand_growth": 1.5})
    steps: list[tuple[int, int, str]] = []
    doc = se.rerun(str(db_copy), se.Rerun(text, seed=7, n_paths=200), lambda s, t, m: steps.append((s, t, m)))
    assert doc["scenario_id"].startswith("dash-test-")
    assert [s for s, _, _ in steps] == [0, 1, 2, 3, 4] and all(t == se.RERUN_STEPS for _, t, _ in steps)
    runs = q.scenario_runs(db_copy)
    assert doc["scenario_id"] in runs.frame["scenario_id"].to_list()
    stored = q.substitution_forecast(db_copy, [doc["scenario_id"]])
    assert stored.ok and set(stored.frame["segment"].to_list()) >= {"ai_accelerators", "wfe", "hbm"}
    with pytest.raises(se.ScenarioInputError):
        se.rerun(str(db_copy), se.Rerun("name: broken\n"), progress=None)


@pytest.mark.slow
def test_rerun_in_a_fresh_process_reports_progress_and_errors(db_copy: Path) -> None:
    """What the dashboard's background callback calls (fork-safe: a new interpreter does the work)."""
    text = se.build_scenario_yaml("baseline.yaml", "dash-proc", {})
    steps: list[int] = []
    job = se.Rerun(text, seed=3, n_paths=150, metric="h100e")
    doc = se.rerun_in_subprocess(str(db_copy), job, progress=lambda s, t, m: steps.append(s))
    assert doc["scenario_id"].startswith("dash-proc-") and doc["n_paths"] == 150 and doc["seed"] == 3
    assert q.scenario_runs(db_copy, "h100e").frame["scenario_id"].to_list() == [doc["scenario_id"]]
    assert steps == [0, 1, 2, 3, 4]
    assert doc["scenario_id"] in q.scenario_runs(db_copy).frame["scenario_id"].to_list()
    with pytest.raises(se.ScenarioInputError, match="invalid scenario|missing"):
        se.rerun_in_subprocess(
            str(db_copy), se.Rerun("name: broken\nhorizon: {start_year: 2025, end_year: 2030}\n")
        )
