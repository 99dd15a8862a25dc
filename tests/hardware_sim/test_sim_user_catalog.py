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
