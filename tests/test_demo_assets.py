"""Tests for the embedded demo's assets (built locally, no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grpotui.runner import demo


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return demo.demo_assets(tmp_path_factory.mktemp("demo-cache"))


def test_layout(assets: tuple[Path, Path]) -> None:
    model_dir, dataset_file = assets
    assert model_dir.name == demo.MODEL_DIRNAME and "v" in model_dir.name
    assert dataset_file.name == demo.DATASET_FILENAME
    assert model_dir.parent == dataset_file.parent
    marker = json.loads((model_dir / demo.MARKER_NAME).read_text())
    assert marker["version"] == demo.DEMO_VERSION
    # No temp directories or files left behind.
    assert not [p for p in model_dir.parent.iterdir() if p.name.startswith(".")]


def test_model_loads_back_by_path(assets: tuple[Path, Path]) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(assets[0])
    cfg = model.config
    assert cfg.model_type == "qwen2"
    assert (cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers) == (64, 128, 2)
    assert (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.max_position_embeddings) == (4, 2, 1024)
    assert cfg.tie_word_embeddings
    assert model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr()


def test_tokenizer_is_character_level(assets: tuple[Path, Path]) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(assets[0])
    ids = tok("3+4=7", add_special_tokens=False).input_ids
    assert tok.convert_ids_to_tokens(ids) == list("3+4=7")
    assert tok.decode(ids) == "3+4=7"
    assert len(tok("3 + 4 = 7").input_ids) == len("3 + 4 = 7")
    assert tok.decode(tok("3 + 4 = 7").input_ids) == "3 + 4 = 7"
    assert tok.padding_side == "left"
    batch = tok(["1+1=", "12+3="], padding=True)
    assert batch.input_ids[0][0] == tok.pad_token_id and batch.attention_mask[0][0] == 0
    # what real models' tokenizers return: TRL before 1.0 hands every key on to generate(), which refuses
    # token_type_ids for Qwen2
    assert set(batch) == {"input_ids", "attention_mask"}


@pytest.mark.parametrize("loader", ["AutoTokenizer", "PreTrainedTokenizerFast"])
def test_tokenizer_reloads_identical(assets: tuple[Path, Path], loader: str) -> None:
    import transformers

    fresh = demo.build_demo_tokenizer()
    loaded = getattr(transformers, loader).from_pretrained(assets[0])
    for text in ["3+4=", "12 + 30 = 42", "(1*2)/3-4.", "x?y 5", "7<eos><pad>"]:
        assert loaded(text).input_ids == fresh(text).input_ids, text
        assert loaded.decode(fresh(text).input_ids) == fresh.decode(fresh(text).input_ids)
    assert loaded.get_vocab() == fresh.get_vocab()


def test_special_ids_agree(assets: tuple[Path, Path]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(assets[0])
    model = AutoModelForCausalLM.from_pretrained(assets[0])
    assert (tok.pad_token, tok.eos_token, tok.unk_token) == ("<pad>", "<eos>", "<unk>")
    assert tok.pad_token_id != tok.eos_token_id
    assert model.config.eos_token_id == tok.eos_token_id
    assert model.config.pad_token_id == tok.pad_token_id
    assert model.config.bos_token_id == tok.bos_token_id
    assert model.generation_config.eos_token_id == tok.eos_token_id
    assert model.generation_config.pad_token_id == tok.pad_token_id
    assert model.config.vocab_size == len(tok)


def test_model_is_deterministic(tmp_path: Path, assets: tuple[Path, Path]) -> None:
    from safetensors.torch import load_file

    other = demo.build_demo_model(tmp_path / "again")
    a = load_file(str(assets[0] / "model.safetensors"))
    b = load_file(str(other / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all((a[k] == b[k]).all() for k in a)


def test_second_call_reuses_cache(tmp_path: Path) -> None:
    model_dir, dataset_file = demo.demo_assets(tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in [*model_dir.iterdir(), dataset_file]}
    inode = model_dir.stat().st_ino
    again = demo.demo_assets(tmp_path)
    assert again == (model_dir, dataset_file)
    assert model_dir.stat().st_ino == inode
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_incomplete_model_dir_is_rebuilt(tmp_path: Path) -> None:
    dest = tmp_path / "m"
    dest.mkdir()
    (dest / "config.json").write_text("{}")  # a leftover without the marker
    demo.build_demo_model(dest)
    assert (dest / demo.MARKER_NAME).is_file()
    assert (dest / "model.safetensors").is_file()


def test_dataset_rows(assets: tuple[Path, Path]) -> None:
    rows = [json.loads(line) for line in assets[1].read_text().splitlines()]
    assert len(rows) == 4000
    seen = set()
    for row in rows:
        assert set(row) == {"prompt", "answer"}
        a, rest = row["prompt"].split("+")
        assert rest.endswith("=")
        a, b = int(a), int(rest[:-1])
        assert 0 <= a <= 4 and 0 <= b <= 4
        assert row["answer"] == str(a + b)
        seen.add((a, b))
    assert len(seen) == 25


def test_dataset_seed_and_size(tmp_path: Path) -> None:
    f = demo.build_demo_dataset(tmp_path / "d.jsonl", n=50, seed=3)
    assert len(f.read_text().splitlines()) == 50
    assert f.read_text() == demo.build_demo_dataset(tmp_path / "e.jsonl", n=50, seed=3).read_text()
    assert f.read_text() != demo.build_demo_dataset(tmp_path / "g.jsonl", n=50, seed=4).read_text()
    # Asking for a different size at the same path rebuilds instead of returning the stale file.
    demo.build_demo_dataset(f, n=20, seed=3)
    assert len(f.read_text().splitlines()) == 20


def test_dataset_loads_with_datasets(assets: tuple[Path, Path]) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("json", data_files=str(assets[1]), split="train")
    assert ds.column_names == ["prompt", "answer"] and len(ds) == 4000


def test_demo_reward() -> None:
    assert demo.demo_reward(["7", " 7<eos>", "71", "6", ""], answer=["7"] * 5) == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_demo_training_config() -> None:
    trl = pytest.importorskip("trl")
    cfg = trl.GRPOConfig(output_dir="unused", max_steps=demo.DEMO_STEPS, **demo.DEMO_TRAINING)
    assert cfg.num_generations == 8 and cfg.per_device_train_batch_size == 16
    assert cfg.max_completion_length == 2 and cfg.beta == 0.02
    assert demo.DEMO_STEPS == 800
