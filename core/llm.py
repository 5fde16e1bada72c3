"""Causal language models: turning a GGUF into a Hugging Face folder once, and loading it.

The offline SmolLM2 ships as a Q4_1 GGUF file. transformers can read a GGUF, but it
dequantizes it on every load (about 12 s) and refuses to save it. `ensure_hf_folder` does the
dequantizing once and keeps an fp32 folder under `core.config.cache_dir()/llm/`, which then
loads in a fraction of a second. Every tab that needs the decoder (Chat, Attention) goes
through it, so there is one converted copy per machine.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from core.config import cache_dir

_convert_lock = threading.Lock()


@dataclass(frozen=True)
class CausalLM:
    """A loaded decoder: `model` (a transformers PreTrainedModel in eval mode), its tokenizer,
    and the Hugging Face folder it came from (the folder a LoRA adapter is tied to)."""

    model: Any
    tokenizer: Any
    folder: Path

    @property
    def device(self) -> str:
        return str(next(self.model.parameters()).device)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def _folder_for(gguf: Path) -> Path:
    # Keyed by name, size and mtime: a new package version gets a new folder.
    st = gguf.stat()
    tag = hashlib.sha1(f"{gguf.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:10]
    return cache_dir() / "llm" / f"{gguf.stem}-{tag}"


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """A lock across processes (two test runs, two app workers) as well as threads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _convert_lock, open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _is_complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors")) and (
        folder / "tokenizer_config.json"
    ).is_file()


def ensure_hf_folder(path: Path) -> Path:
    """A Hugging Face model folder for `path`.

    A folder is returned as is. A `.gguf` file is dequantized once (about 15 s for SmolLM2-135M)
    into `cache_dir()/llm/<name>-<hash>/` (fp32 safetensors + tokenizer with its chat template),
    written to a temporary folder and renamed into place, so a crash never leaves a half folder
    and concurrent callers wait for one conversion.
    """
    path = Path(path)
    if path.is_dir():
        return path
    if path.suffix.lower() != ".gguf":
        raise ValueError(f"{path} is neither a model folder nor a .gguf file")
    if not path.is_file():
        raise ValueError(f"{path} does not exist")
    target = _folder_for(path)
    if _is_complete(target):
        return target
    with _file_lock(target.with_name(target.name + ".lock")):
        if _is_complete(target):
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
        try:
            tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
            # The GGUF loader marks the model as quantized and then refuses to save it;
            # the weights are already dequantized to fp32, so drop the marker.
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.save_pretrained(tmp, safe_serialization=True)
            tok.save_pretrained(tmp)
            if target.exists():
                shutil.rmtree(target)
            os.rename(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_causal_lm(path: Path, device: str) -> CausalLM:
    """Registry loader for every `causal-lm` model: a GGUF file or a HF folder -> CausalLM.

    fp32 on CPU (fp16 is slower there), fp16 on CUDA. The model is put in eval mode.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.device import use_fp16

    folder = ensure_hf_folder(Path(path))
    dtype = torch.float16 if use_fp16(device) else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device)
    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return CausalLM(model=model, tokenizer=tokenizer, folder=folder)
