"""User catalogs (``--catalog DIR``): add and override entries; a bad file names file, entry and field and
leaves the catalog in use untouched."""

import pytest
import yaml

from app.cli import main
from hardware_sim.accelerators import catalog, llm

CHIP = {
    "id": "test-npu",
    "name": "Test NPU",
    "vendor": "Acme",
    "scaleup_direction": "unidirectional",
    **{
        k: {"value": v, "flag": "estimate", "source": "mine"}
        for k, v in {
            "bf16_tflops": 500,
            "fp8_tflops": 1000,
            "int8_tops": 1000,
            "hbm_gb": 96,
            "hbm_tbps": 3.0,
            "scaleup_gbps": 200,
            "scaleout_gbps": 50,
            "tdp_w": 600,
            "hbm_stacks": 6,
        }.items()
    },
}


def _system(chip="test-npu"):
    fig = {"flag": "estimate", "source": "mine"}
    vals = {
        "chip": chip,
        "chips": 8,
        "host_cpus": 2,
        "host_cpu_w": 350,
        "nodes": 1,
        "scaleup_domain": 8,
        "scaleup_switch_chips": 2,
        "scaleup_tiers": 1,
        "scaleup_optics": 0,
        "scaleup_optic_kind": "none",
        "scaleout_optics": 8,
        "scaleout_optic_kind": "dsp-400g",
        "cooling": "air",
    }
    return {
        "id": "test-box",
        "name": "Test box",
        "vendor": "Acme",
        **{k: {"value": v, **fig} for k, v in vals.items()},
    }


@pytest.fixture
def user_dir(tmp_path):
    (tmp_path / "chips.yaml").write_text(yaml.safe_dump({"sources": {"mine": "my lab"}, "chips": [CHIP]}))
    (tmp_path / "systems.yaml").write_text(
        yaml.safe_dump({"sources": {"mine": "my lab"}, "systems": [_system()]})
    )
    yield tmp_path
    catalog.use_catalog(None)


def test_user_catalog_adds_entries_and_bundled_ones_stay(user_dir):
    catalog.use_catalog(user_dir)
    assert "test-npu" in catalog.chip_ids() and "h100-sxm" in catalog.chip_ids()
    r = llm.serve("test-box", "llama-3-8b", "decode", 4, with_ops=False)
    assert r["tokens_per_s_per_chip"] > 0
    catalog.use_catalog(None)
    assert "test-npu" not in catalog.chip_ids()


def test_user_entry_overrides_a_bundled_id(user_dir):
    h20 = dict(CHIP, id="h20", name="my H20")
    (user_dir / "chips.yaml").write_text(yaml.safe_dump({"sources": {"mine": "x"}, "chips": [CHIP, h20]}))
    catalog.use_catalog(user_dir)
    assert catalog.get_chip("h20").name == "my H20" and catalog.get_chip("h20").bf16_tflops == 500
    assert catalog.get_system("hgx-h20-8").chip_id == "h20"


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda c: c["hbm_gb"].update(value=-1), "entry 'test-npu', field 'hbm_gb'"),
        (lambda c: c["tdp_w"].update(source="nowhere"), "entry 'test-npu', field 'tdp_w'"),
        (lambda c: c["bf16_tflops"].update(flag="guess"), "entry 'test-npu', field 'bf16_tflops'"),
    ],
)
def test_bad_user_file_names_file_entry_field_and_keeps_the_catalog(user_dir, mutate, needle):
    bad = yaml.safe_load(yaml.safe_dump(CHIP))
    mutate(bad)
    (user_dir / "chips.yaml").write_text(yaml.safe_dump({"sources": {"mine": "x"}, "chips": [bad]}))
    before = catalog.chip_ids()
    with pytest.raises(catalog.CatalogError) as exc:
        catalog.use_catalog(user_dir)
    assert str(user_dir / "chips.yaml") in str(exc.value) and needle in str(exc.value)
    assert catalog.chip_ids() == before


def test_cli_catalog_flag(user_dir, capsys):
    assert main(["sim", "list", "--json", "--catalog", str(user_dir)]) == 0
    assert "test-box" in capsys.readouterr().out
    (user_dir / "systems.yaml").write_text(
        yaml.safe_dump({"sources": {"mine": "x"}, "systems": [_system(chip="no-such-chip")]})
    )
    assert main(["sim", "list", "--json", "--catalog", str(user_dir)]) == 2
    err = capsys.readouterr().err
    assert "systems.yaml" in err and "entry 'test-box', field 'chip'" in err


FLOW = {
    "name": "My 28nm",
    "product": "logic",
    "node_class": "28nm+",
    "source": "my lab",
    "flag": "estimate",
    "passes": {"litho_duv": 40, "dry_etch": 50},
}


def _flows(tmp, flows, tool_types=None):
    doc = {"flows": flows} | ({"tool_types": tool_types} if tool_types else {})
    (tmp / "process_flows.yaml").write_text(yaml.safe_dump(doc))


def test_user_process_flow_is_added_and_removed_with_the_catalog(user_dir, capsys):
    from hardware_sim.fab import process_flows

    _flows(user_dir, {"my-28nm": FLOW})
    assert main(["sim", "fab", "--process", "my-28nm", "--wspm", "10000", "--catalog", str(user_dir)]) == 0
    assert "litho_duv" in capsys.readouterr().out
    assert process_flows.get_flow("my-28nm").passes("dry_etch") == 50.0
    assert "28nm-planar" in process_flows.process_flow_ids()
    catalog.use_catalog(None)
    assert "my-28nm" not in process_flows.process_flow_ids()


@pytest.mark.parametrize(
    "flow, tool_types, needle",
    [
        ({"passes": {"dry_etch": "lots"}}, None, "flows.my-28nm.passes.dry_etch: expected a number"),
        ({"passes": {"warp_drive": 3}}, None, "flows.my-28nm.passes uses unknown tool type 'warp_drive'"),
        ({"product": None, "passes": {"euv2": 1}}, {"euv2": {"capex_usd_m": 1}}, "tool_types.euv2 needs"),
    ],
)
def test_bad_user_process_flow_names_file_entry_field_and_keeps_the_flows(user_dir, flow, tool_types, needle):
    from hardware_sim.fab import process_flows

    catalog.use_catalog(None)
    before = process_flows.process_flow_ids()
    planar = process_flows.get_flow("28nm-planar")
    _flows(user_dir, {"my-28nm": {**FLOW, **flow}}, tool_types)
    with pytest.raises(process_flows.FlowDataError) as exc:
        catalog.use_catalog(user_dir)
    assert str(exc.value).startswith(str(user_dir / "process_flows.yaml")) and needle in str(exc.value)
    assert "\n" not in str(exc.value)
    assert process_flows.process_flow_ids() == before and process_flows.get_flow("28nm-planar") == planar
    assert "test-npu" not in catalog.chip_ids()
