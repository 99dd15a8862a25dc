"""`fabscope sim ...` in-process: contract keys, flags, errors."""

import json

import pytest

from app.cli import main

LLM_8B = ("sim", "llm", "--system", "hgx-h20-8", "--model", "llama-3-8b")


def replace_argv(*extra: str, model: str = "deepseek-r1", source: str = "hgx-h100-8") -> list[str]:
    """``fabscope sim replace`` of ``source`` by CloudMatrix for ``model``, then ``extra`` flags."""
    return ["sim", "replace", "--model", model, "--from", source, "--to", "cloudmatrix-384", *extra]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_json(capsys):
    code, out, _ = run(capsys, "sim", "list", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"chips", "systems", "llms", "process_flows"}
    assert "h20" in doc["chips"] and "cloudmatrix-384" in doc["systems"] and "deepseek-r1" in doc["llms"]
    assert isinstance(doc["process_flows"], list)


def test_chip_json(capsys, contract_keys):
    code, out, _ = run(capsys, "sim", "chip", "ascend-910c", "--json")
    doc = json.loads(out)
    assert code == 0 and doc.keys() >= contract_keys["chip"]
    assert doc["vendor"] == "Huawei" and isinstance(doc["sources"], list)


@pytest.mark.parametrize("sid", ["cloudmatrix-384", "gb200-nvl72"])
def test_system_json(capsys, sid, contract_keys):
    code, out, _ = run(capsys, "sim", "system", sid, "--json")
    doc = json.loads(out)
    assert code == 0 and doc.keys() >= contract_keys["system"]
    assert doc["power_kw"] == pytest.approx(sum(doc["power_breakdown_kw"].values()))


def test_llm_decode_json(capsys):
    code, out, _ = run(
        capsys,
        "sim",
        "llm",
        "--system",
        "hgx-h20-8",
        "--model",
        "llama-3-70b",
        "--phase",
        "decode",
        "--batch",
        "4",
        "--input-len",
        "1024",
        "--output-len",
        "256",
        "--precision",
        "fp8",
        "--json",
    )
    doc = json.loads(out)
    assert code == 0
    assert {"tokens_per_s_per_chip", "tpot_ms", "bound", "batch", "layout"} <= doc.keys()
    assert (
        doc["batch"] == 4 and doc["precision"] == "fp8" and doc["bound"] in ("compute", "memory", "network")
    )
    assert "ttft_ms" not in doc and "operators" not in doc


def test_llm_prefill_json_with_ops(capsys):
    code, out, _ = run(
        capsys,
        "sim",
        "llm",
        "--system",
        "cloudmatrix-384",
        "--model",
        "deepseek-r1",
        "--phase",
        "prefill",
        "--input-len",
        "2048",
        "--precision",
        "int8",
        "--ops",
        "--json",
    )
    doc = json.loads(out)
    assert code == 0 and doc["ttft_ms"] > 0 and doc["operators"]


def test_llm_tpot_search_json(capsys):
    code, out, _ = run(
        capsys,
        "sim",
        "llm",
        "--system",
        "gb200-nvl72",
        "--model",
        "deepseek-r1",
        "--phase",
        "decode",
        "--precision",
        "fp8",
        "--tpot-ms",
        "30",
        "--json",
    )
    doc = json.loads(out)
    assert code == 0 and doc["meets_target"] and doc["tpot_ms"] <= 30 and doc["batch"] >= 1


def test_train_json(capsys):
    code, out, _ = run(
        capsys,
        "sim",
        "train",
        "--system",
        "cloudmatrix-384",
        "--model",
        "deepseek-v3",
        "--global-batch",
        "512",
        "--seq-len",
        "4096",
        "--json",
    )
    doc = json.loads(out)
    assert code == 0 and 0 < doc["mfu"] < 1 and doc["step_time_s"] > 0 and "layout" in doc


def test_validate_json(capsys):
    code, out, _ = run(capsys, "sim", "validate", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["cases"] and "error_pct" in doc["cases"][0]


def test_replace_json(capsys):
    code, out, _ = run(capsys, *replace_argv("--chips", "10000", "--json"))
    doc = json.loads(out)
    assert code == 0
    assert {
        "model",
        "tpot_target_ms",
        "from",
        "to",
        "n_from_chips",
        "chips_per_from_chip",
        "to_chips_needed",
        "to_systems_needed",
        "power_ratio_to_over_from",
        "power_basis",
        "notes",
    } <= doc.keys()
    for side in ("from", "to"):
        assert {
            "system",
            "chip",
            "precision",
            "precision_rule",
            "batch",
            "tokens_per_s_per_chip",
            "chips",
            "systems",
            "tokens_per_s",
            "power_kw",
            "power_kw_whole_systems",
            "tokens_per_s_per_kw",
        } <= doc[side].keys()
    assert doc["n_from_chips"] == 10000 and doc["to"]["chip"] == "ascend-910c"


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["sim", "chip", "h900", "--json"], "h900"),
        (["sim", "system", "nvl576", "--json"], "nvl576"),
        (["sim", "llm", "--system", "hgx-h20-8", "--model", "gpt-5", "--phase", "decode", "--json"], "gpt-5"),
        ([*LLM_8B, "--phase", "decode", "--batch", "0"], "--batch"),
        ([*LLM_8B, "--phase", "prefill", "--tpot-ms", "20"], "--tpot-ms"),
        ([*LLM_8B, "--phase", "decode", "--prefix-cached", "100"], "--prefix-cached"),
        ([*LLM_8B, "--phase", "prefill", "--input-len", "512", "--prefix-cached", "512"], "--prefix-cached"),
        (replace_argv("--chips", "10", "--json", model="nope"), "model id"),
        (replace_argv("--chips", "10", "--json", source="nope"), "system id"),
        (replace_argv("--chips", "0", "--json"), "--chips"),
        (replace_argv("--chips", "10", "--tpot-ms", "1", "--json"), "cannot serve"),
    ],
)
def test_errors_exit_2_with_message(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and needle in err
    if "h900" in needle:
        assert "h100-sxm" in err  # lists valid ids


def test_llm_defaults_to_the_models_native_precision(capsys) -> None:
    import json

    from app.cli import main

    assert (
        main(
            [
                "sim",
                "llm",
                "--system",
                "hgx-h20-8",
                "--model",
                "deepseek-r1",
                "--phase",
                "decode",
                "--tpot-ms",
                "50",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["precision"] == "fp8" and doc["fits_memory"] and doc["meets_target"] and doc["batch"] > 1
    assert (
        main(
            ["sim", "llm", "--system", "hgx-h100-8", "--model", "llama-3-70b", "--phase", "decode", "--json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["precision"] == "bf16"


def test_closed_stdout_pipe_is_not_a_traceback(monkeypatch) -> None:
    # `fabscope sim list --json | head -1`: the reader leaves early; exit 141 quietly
    import io
    import os

    from app.cli import main

    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    stdout = io.TextIOWrapper(os.fdopen(write_fd, "wb", buffering=0), write_through=True)
    monkeypatch.setattr("sys.stdout", stdout)
    assert main(["sim", "list", "--json"]) == 141
