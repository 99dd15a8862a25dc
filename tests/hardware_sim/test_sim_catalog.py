"""Catalog: ids, contract records, flags and parameter counts against the model cards."""

import pytest

from hardware_sim.accelerators import catalog
from hardware_sim.accelerators.operators import model_arrays, param_counts


def test_required_ids_present():
    assert {"h100-sxm", "h800", "h20", "b200", "gb200", "ascend-910b", "ascend-910c", "mlu370-x8"} <= set(
        catalog.chip_ids()
    )
    assert {"gb200-nvl72", "cloudmatrix-384", "hgx-h100-8", "hgx-h800-8", "hgx-h20-8"} <= set(
        catalog.system_ids()
    )
    assert {"deepseek-r1", "deepseek-v3", "llama-3-70b"} <= set(catalog.llm_ids())


@pytest.mark.parametrize("chip_id", catalog.chip_ids())
def test_chip_record_has_contract_keys_and_string_sources(chip_id, contract_keys):
    rec = catalog.chip_spec_record(chip_id)
    assert rec.keys() >= contract_keys["chip"]
    assert rec["flag"] in ("reported", "estimate")
    assert rec["sources"] and all(isinstance(s, str) and s for s in rec["sources"])
    assert rec["bf16_tflops"] > 0 and rec["hbm_tbps"] > 0


def test_reference_figures_and_picks():
    h20, h100 = catalog.chip_spec_record("h20"), catalog.chip_spec_record("h100-sxm")
    assert (h20["bf16_tflops"], h20["hbm_tbps"], h20["hbm_gb"]) == (148, 4.0, 96)
    assert (h100["bf16_tflops"], h100["hbm_tbps"]) == (989, 3.35)
    c = catalog.chip_spec_record("ascend-910c")
    assert c["bf16_tflops"] == 752 and "752" in c["notes"]["bf16_tflops"]  # pick explained
    assert "tdp_w" in c["estimated_fields"]  # not published -> estimate


def test_conflicting_chips_are_estimates_with_conflict_noted():
    for cid in ("mlu590", "hygon-dcu-k100"):
        rec = catalog.chip_spec_record(cid)
        assert rec["flag"] == "estimate"
        assert "conflict" in rec["notes"]


def test_unknown_id_names_it_and_lists_valid():
    with pytest.raises(KeyError) as exc:
        catalog.get_chip("h900")
    assert "h900" in str(exc.value) and "h100-sxm" in str(exc.value)


def test_llama_70b_param_count_matches_card():
    pc = param_counts(model_arrays(catalog.get_llm("llama-3-70b")))
    assert float(pc["total"]) == pytest.approx(70.6e9, rel=0.005)
    assert float(pc["active"]) == float(pc["total"])


def test_deepseek_total_and_active_params_match_card():
    pc = param_counts(model_arrays(catalog.get_llm("deepseek-r1")))
    assert float(pc["total"]) == pytest.approx(671e9, rel=0.01)  # MTP module excluded
    assert float(pc["active"]) == pytest.approx(37e9, rel=0.03)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources: [unclosed", "cannot read YAML"),
        ("- a list\n- not a mapping\n", "expected a mapping"),
        ("chips: []\n", "expected a mapping"),
    ],
)
def test_malformed_data_file_raises_the_loader_error_naming_the_file(tmp_path, text, expected):
    from hardware_sim.data_files import read_yaml_mapping

    path = tmp_path / "chips.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(catalog.CatalogError, match=expected) as info:
        read_yaml_mapping(path, catalog.CatalogError, "a mapping with 'sources'", required=("sources",))
    assert str(path) in str(info.value)


def test_missing_data_file_raises_the_loader_error(tmp_path):
    from hardware_sim.data_files import read_yaml_mapping
    from hardware_sim.fab.process_flows import FlowDataError

    with pytest.raises(FlowDataError, match="absent.yaml: cannot read YAML"):
        read_yaml_mapping(tmp_path / "absent.yaml", FlowDataError, "a mapping")


def test_wider_catalog_parameter_counts_match_the_model_cards():
    reported = {  # (total, active) in billions, from the model cards / config.json
        "llama-2-70b": (69.0, None),
        "llama-3.1-405b": (405.0, None),
        "qwen3-235b-a22b": (235.0, 22.0),
        "kimi-k2": (1040.0, 32.0),
        "gpt-oss-120b": (116.8, None),  # 5.1 B active excludes the embedding table
    }
    for mid, (total, active) in reported.items():
        pc = param_counts(model_arrays(catalog.get_llm(mid)))
        assert float(pc["total"]) / 1e9 == pytest.approx(total, rel=0.02), mid
        if active is not None:
            assert float(pc["active"]) / 1e9 == pytest.approx(active, rel=0.05), mid


def test_announced_chips_say_so():
    rec = catalog.chip_spec_record("ascend-950dt")
    assert (
        rec["status"] == "announced"
        and rec["flag"] == "estimate"
        and "bf16_tflops" in rec["estimated_fields"]
    )
    assert catalog.chip_spec_record("h100-sxm")["status"] == "shipping"
