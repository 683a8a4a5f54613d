"""Where a model's config comes from: a local config.json, a local model directory, or a Hugging Face id
(fetched with huggingface_hub, an optional dependency, through its cache and token handling).

This is the only I/O of the model package; everything it reads goes through ``model_from_config``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import socket
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.model.facts import ModelFacts, model_from_config

CONFIG_FILE = "config.json"
INDEX_FILE = "model.safetensors.index.json"
HF_QUANT_FILE = "hf_quant_config.json"  # NVIDIA ModelOpt checkpoints (vLLM merges it as quantization_config)

# InferenceService annotation naming the model (same forms as --model), read by check and fix.
MODEL_ANNOTATION = "kserve-mn/model"

_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*(@[A-Za-z0-9_./-]+)?$")
_TRUE = ("1", "true", "yes", "on")


def model_spec_from_isvc(isvc: Mapping[str, Any]) -> str | None:
    """The ``kserve-mn/model`` annotation of an InferenceService, if any."""
    metadata = isvc.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    value = annotations.get(MODEL_ANNOTATION) if isinstance(annotations, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read {what} {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise InputError(f"cannot read {what} {path}: not UTF-8 text") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{path}: malformed JSON (line {err.lineno}, column {err.colno}): {err.msg}"
        ) from err
    except RecursionError as err:
        raise InputError(f"{path}: malformed JSON: nested too deeply") from err
    except (
        ValueError
    ) as err:  # an integer of more than 4,300 digits (sys.int_info.str_digits_check_threshold)
        raise InputError(f"{path}: malformed JSON: {str(err).splitlines()[0]}") from err
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def _load_directory(path: Path, name: str) -> ModelFacts:
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise InputError(f"{path}: no {CONFIG_FILE} in this model directory")
    config = _read_json(config_path, CONFIG_FILE)
    index_path, quant_path = path / INDEX_FILE, path / HF_QUANT_FILE
    index = _read_json(index_path, INDEX_FILE) if index_path.is_file() else None
    hf_quant = _read_json(quant_path, HF_QUANT_FILE) if quant_path.is_file() else None
    return model_from_config(
        config,
        name,
        index=index,
        source=str(config_path),
        hf_quant=hf_quant,
        hf_quant_origin=(str(quant_path), f"model {name}"),
        index_origin=(str(index_path), f"model {name}"),
    )


def load_model(spec: str, *, offline: bool | None = None) -> ModelFacts:
    """ModelFacts from ``spec``: a config.json path, a model directory (config.json, and
    model.safetensors.index.json for the exact weight size), or a Hugging Face id ``org/name[@revision]``.

    ``offline`` (default: ``HF_HUB_OFFLINE``) only reads the Hugging Face cache."""
    spec = (spec or "").strip()
    if not spec:
        raise InputError("--model is empty: give a config.json path, a model directory or a Hugging Face id")
    path = Path(spec).expanduser()
    if path.is_dir():
        return _load_directory(path, path.resolve().name)
    if path.is_file():
        name = path.resolve().parent.name if path.name == CONFIG_FILE else path.stem
        return model_from_config(_read_json(path, CONFIG_FILE), name, source=spec)
    if spec.startswith((".", "/", "~")) or spec.endswith(".json"):
        raise InputError(f"--model {spec}: no such file or directory")
    if not _HF_ID.match(spec):
        raise InputError(f"--model {spec}: not a file, a directory or a Hugging Face id (org/name)")
    return _load_hub(spec, offline=offline)


def _hub_problem(err: BaseException) -> str:
    """One-line reason for a huggingface_hub error, by class name so it works across library versions."""
    names = {cls.__name__ for cls in type(err).__mro__}
    if "GatedRepoError" in names:
        return "the repository is gated; accept its terms on huggingface.co and set HF_TOKEN, or pass a local path"
    if "RepositoryNotFoundError" in names:
        return "no such repository, or it is private (set HF_TOKEN), or pass a local path"
    if "RevisionNotFoundError" in names:
        return "no such revision"
    if "LocalEntryNotFoundError" in names or "OfflineModeIsEnabled" in names:
        return "offline and not in the Hugging Face cache; unset HF_HUB_OFFLINE or pass a local path"
    if "EntryNotFoundError" in names:
        return "the repository has no such file"
    if names & {"ConnectionError", "Timeout", "ConnectTimeout", "ReadTimeout", "ProxyError", "SSLError"}:
        return "cannot reach huggingface.co (set HF_HUB_OFFLINE=1 to use the cache, or pass a local path)"
    if "HfHubHTTPError" in names:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"Hugging Face Hub error: {first}"
    return f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else 'failed'}"


def _hub_host() -> str:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    return urllib.parse.urlsplit(endpoint).hostname or "huggingface.co"


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP connect to the Hub (or HF_ENDPOINT), so an offline machine fails fast."""
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        with socket.create_connection((_hub_host(), port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_hub(spec: str, *, offline: bool | None) -> ModelFacts:
    repo_id, _, revision = spec.partition("@")
    try:
        hub: Any = importlib.import_module("huggingface_hub")
    except ImportError as err:
        raise InputError(
            f"cannot fetch {CONFIG_FILE} for {repo_id}: huggingface_hub is not installed "
            "(pip install huggingface_hub), or pass a local config.json or model directory"
        ) from err
    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE
    why_cache_only = "HF_HUB_OFFLINE is set" if offline else None
    if not offline and not _hub_reachable():
        # huggingface_hub would retry for ~20 s, logging each try, before falling back to its cache.
        offline, why_cache_only = True, f"cannot reach {_hub_host()}"
    # Its own logging would add lines to our one-line errors.
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    kwargs: dict[str, Any] = {"local_files_only": offline}
    if revision:
        kwargs["revision"] = revision
    # huggingface_hub reads HF_TOKEN and the token file itself; pass the legacy variable explicitly.
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        kwargs["token"] = token

    def fetch(filename: str) -> Path:
        return Path(hub.hf_hub_download(repo_id=repo_id, filename=filename, **kwargs))

    try:
        config_path = fetch(CONFIG_FILE)
    except Exception as err:  # huggingface_hub's errors vary by version; classified by name
        problem = _hub_problem(err)
        if why_cache_only and problem.startswith("offline"):
            problem = f"{why_cache_only} and it is not in the Hugging Face cache; pass a local config.json or model directory"
        raise InputError(f"cannot fetch {CONFIG_FILE} for {repo_id}: {problem}") from err
    config = _read_json(config_path, CONFIG_FILE)
    optional: dict[str, dict[str, Any] | None] = {}
    for filename in (INDEX_FILE, HF_QUANT_FILE):
        try:
            optional[filename] = _read_json(fetch(filename), filename)
        except InputError:
            raise
        except Exception:  # absent (single-file or non-ModelOpt checkpoints) or unreachable: computed instead
            optional[filename] = None
    return model_from_config(
        config,
        repo_id,
        index=optional[INDEX_FILE],
        source=spec,
        obj=CONFIG_FILE,
        hf_quant=optional[HF_QUANT_FILE],
        hf_quant_origin=(spec, HF_QUANT_FILE),
        index_origin=(spec, INDEX_FILE),
    )
