"""Hardware page: chips side by side, power breakdown, performance per watt."""

from __future__ import annotations

import json

import polars as pl
import pytest

from app.dashboard import components as ui
from app.dashboard.pages import hardware_views as hv

CHIPS = pl.DataFrame(
    {
        "id": ["x", "y"],
        "vendor": ["NVIDIA", "Huawei"],
        "bf16_tflops": [1000.0, 750.0],
        "int8_tops": [2000.0, 1500.0],
        "hbm_gb": [80.0, 128.0],
        "hbm_tbps": [3.35, 3.2],
        "scaleup_gbps": [900.0, 392.0],
        "tdp_w": [700.0, None],
        "sources": ["a; b", "c"],
        "flag": ["reported", "estimate"],
        "source": ["sim", "sim"],
    }
)
SYSTEMS = pl.DataFrame(
    {
        "id": ["s8", "s384"],
        "chips": [8, 384],
        "bf16_pflops": [8.0, 290.0],
        "power_kw": [10.0, 560.0],
        "pflops_per_kw": [0.8, 0.52],
        "power_breakdown_kw": [
            json.dumps({"accelerators": 6.0, "cooling": 4.0}),
            json.dumps({"accelerators": 300.0, "optics": 60.0}),
        ],
        "source": ["sim", "sim"],
    }
)


def test_chip_table_perf_per_watt_and_vendor_colours(qr) -> None:
    table = hv.chip_table(CHIPS, None)
    assert table["tflops_per_w"].to_list()[0] == pytest.approx(1000 / 700)
    assert table["tflops_per_w"].to_list()[1] is None  # TDP unpublished: no made-up figure
    view = hv.chip_compare_view(qr(CHIPS), ["x", "y"], "bf16_tflops")
    assert list(view.figure.data[0].marker.color) == [ui.FOREIGN, ui.DOMESTIC]
    assert {"a", "b", "c"} <= set(view.sources)
    assert hv.chip_compare_view(qr(CHIPS), [], "bf16_tflops").figure.layout.annotations


def test_power_breakdown_per_system_and_per_chip(qr) -> None:
    long = hv.power_breakdown(SYSTEMS, ["s8"])
    assert dict(zip(long["component"].to_list(), long["kw"].to_list(), strict=True)) == {
        "accelerators": 6.0,
        "cooling": 4.0,
    }
    per_chip = hv.power_view(qr(SYSTEMS), ["s8"], per_chip=True)
    assert per_chip.frame.filter(pl.col("component") == "cooling")["value"][0] == pytest.approx(500.0)  # W
    perfw = hv.perf_per_watt_view(qr(SYSTEMS), None)
    assert list(perfw.figure.data[0].x) == ["s8", "s384"]


def test_systems_table_shows_the_stored_rows_of_the_picked_systems(qr, empty) -> None:
    systems = qr(
        pl.DataFrame(
            {
                "id": ["cloudmatrix-384", "gb200-nvl72", "hgx-h20-8"],
                "chips": [384, 72, 8],
                "bf16_pflops": [300.0, 180.0, 1.2],
                "hbm_tb": [49.2, 13.8, 0.77],
                "power_kw": [559.0, 145.0, 10.0],
                "source": ["s1", "s2", "s3"],
            }
        )
    )
    frame, formats = hv.systems_table(systems, ["gb200-nvl72", "cloudmatrix-384"])
    assert frame["system"].to_list() == ["cloudmatrix-384", "gb200-nvl72"]
    assert frame["BF16 PFLOP/s"].to_list() == [300.0, 180.0] and frame["power at the wall, kW"][0] == 559.0
    assert formats["HBM, TB"] == ",.2f" and "accelerators" not in formats
    assert hv.systems_table(empty(), None)[0].is_empty()


def test_llm_answer_shows_memory_fit_and_the_simulators_validation_error() -> None:
    from app.dashboard.pages import hardware_calculator as hc
    from hardware_sim.accelerators.validation import validate

    res = hc.llm_answer("cloudmatrix-384", "deepseek-r1", "decode", "int8", 96, None, 4096, 1024)
    rows = dict(hc.llm_rows(res))
    assert rows["memory fit"].startswith("fits" if res.fits_memory else "does NOT fit")
    assert f"{res.weights_gb_per_chip:.1f} GB weights" in rows["memory fit"]
    serving = validate()["summary"]["serving"]
    assert f"±{serving['plain']['geo_mean_error_pct']:.0f}%" in rows["validation error (tokens/s)"]
    assert f"±{serving['loso']['geo_mean_error_pct']:.0f}%" in rows["validation error (tokens/s)"]
    assert "cm384-decode-50ms" in rows["published decode cases"]
    huge = hc.llm_answer("cloudmatrix-384", "deepseek-r1", "decode", "bf16", 65536, None, 32768, 1024)
    assert dict(hc.llm_rows(huge))["memory fit"].startswith("does NOT fit")
