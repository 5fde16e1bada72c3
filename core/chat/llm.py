"""Causal language models: turning a GGUF into a Hugging Face folder once, and loading it.

The offline SmolLM2 ships as a Q4_1 GGUF file. transformers can read a GGUF, but it
dequantizes it on every load (about 12 s) and refuses to save it. `ensure_hf_folder` does the
dequantizing once and keeps an fp32 folder under `core.config.cache_dir()/llm/`, which then
loads in a fraction of a second. Every tab that needs the decoder (Chat, Attention) goes
through it, so there is one converted copy per machine.

QLoRA: `load_causal_lm(..., quantization="4bit")` (registry loader `LOADER_4BIT`) quantizes the
same folder's linear layers to 4-bit NormalFloat with bitsandbytes while loading. Whether this
machine can train that way is a question with a real answer, not a guess from the version number:
`four_bit_problem(device)` runs one small 4-bit LoRA step on the device once and checks its
gradients against the same step in full precision (core.chat.lora_4bit), and says what is wrong.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import cache_dir
from core.file_lock import file_lock


QUANTIZATIONS = ("none", "4bit")
LOADER_4BIT = "core.chat.llm:load_causal_lm_4bit"
# The release tested here (torch 2.9.1, transformers 5.24, peft 0.21.2): it runs nf4 on CUDA and
# on x86 CPUs (its CPU backend), so the message names it rather than "any bitsandbytes".
BNB_PIN = "bitsandbytes==0.50.2"
_probe_cache: dict[str, str | None] = {}
_probe_lock = threading.Lock()


@dataclass(frozen=True)
class CausalLM:
    """A loaded decoder: `model` (a transformers PreTrainedModel in eval mode), its tokenizer,
    and the Hugging Face folder it came from (the folder a LoRA adapter is tied to)."""

    model: Any
    tokenizer: Any
    folder: Path
    quantization: str = "none"  # "4bit": linear weights held as bitsandbytes nf4 (QLoRA)

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
    with file_lock(target.with_name(target.name + ".lock")):
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


def _device_kind(device: str) -> str:
    return device.split(":")[0]


def four_bit_problem(device: str, probe: bool = True) -> str | None:
    """None when 4-bit (nf4) QLoRA trains correctly on `device`, else a sentence saying why not and
    what to do instead.

    With `probe` (the default) the check is real and about gradients, not only the forward pass:
    core.chat.lora_4bit.gradient_problem builds two small nf4 layers, runs one eval-mode forward (on
    AVX-512-bf16 CPUs that is what switches bitsandbytes to a kernel without a backward), then
    compares one LoRA step's gradients and loss with the same step on the dequantized weights.
    Cached per device for the process. bitsandbytes pulls in torch's compiler when imported
    (seconds on a small CPU), so a UI deciding whether to offer the option passes `probe=False`:
    only "is it installed, is the device one it supports", with no import, and probes when the
    user picks 4-bit.
    """
    cheap = _cheap_problem(device)
    if cheap or not probe:
        return cheap
    with _probe_lock:
        if device not in _probe_cache:
            _probe_cache[device] = _probe_four_bit(device)
        return _probe_cache[device]


def bitsandbytes_installed() -> bool:
    """Whether bitsandbytes can be imported (looked up, not imported: importing it is slow)."""
    return importlib.util.find_spec("bitsandbytes") is not None


def _cheap_problem(device: str) -> str | None:
    if not bitsandbytes_installed():
        return (f"4-bit QLoRA needs bitsandbytes, which is not installed here: run `pip install {BNB_PIN}` "
                "(it runs on CUDA GPUs and on x86 CPUs), then restart the studio.")
    if _device_kind(device) not in ("cpu", "cuda"):
        return (f"4-bit QLoRA runs on a CUDA GPU or the CPU, not on {device}; start the studio with "
                "NLP_STUDIO_DEVICE=cpu to train in 4-bit, or train without quantization.")
    return None


def _probe_four_bit(device: str) -> str | None:
    from core.chat.lora_4bit import gradient_problem

    try:
        return gradient_problem(device)
    except Exception as exc:  # noqa: BLE001 - any failure means "not on this device"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return (f"bitsandbytes is installed but cannot run 4-bit layers on {device} ({first}); "
                f"`pip install -U {BNB_PIN}` or train without quantization.")


def check_quantization(quantization: str, device: str) -> None:
    """Raise ValueError (saying what to do) unless `quantization` can run on `device`."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, got {quantization!r}")
    if quantization == "4bit":
        problem = four_bit_problem(device)
        if problem:
            raise ValueError(problem)


def four_bit_config(device: str):
    """transformers' BitsAndBytesConfig for QLoRA: nf4 weights, double quantization (the
    per-block scales are quantized too), and bf16 compute on a GPU that has it (fp16 on older
    ones); fp32 compute on CPU, where half precision is slower."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype(device))


def compute_dtype(device: str):
    """The dtype 4-bit layers compute in on `device`: bf16 on a GPU that has it, else fp16 on a GPU;
    fp32 on a CPU, where half precision is slower."""
    import torch

    if _device_kind(device) == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_causal_lm(path: Path, device: str, quantization: str = "none") -> CausalLM:
    """Registry loader for every `causal-lm` model: a GGUF file or a HF folder -> CausalLM.

    fp32 on CPU (fp16 is slower there), fp16 on CUDA. The model is put in eval mode.
    `quantization="4bit"` loads the linear layers as bitsandbytes nf4 (QLoRA's base model);
    embeddings, norms and the output head stay in full precision. ValueError if this machine
    cannot run 4-bit layers, saying what to install or where it runs.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.device import use_fp16

    check_quantization(quantization, device)
    folder = ensure_hf_folder(Path(path))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if quantization == "4bit":
        cfg = four_bit_config(device)
        # A quantized model cannot be moved with .to(); it is placed while loading.
        model = AutoModelForCausalLM.from_pretrained(folder, quantization_config=cfg, dtype=cfg.bnb_4bit_compute_dtype,
                                                     device_map={"": device})
        from core.chat.lora_4bit import keep_backward

        # This copy exists to be trained: keep its layers off bitsandbytes' AVX-512-bf16 CPU kernel,
        # which has no backward and takes over after any eval-mode forward (core.chat.lora_4bit).
        keep_backward(model)
    else:
        dtype = torch.float16 if use_fp16(device) else torch.float32
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device)
    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return CausalLM(model=model, tokenizer=tokenizer, folder=folder, quantization=quantization)


def load_causal_lm_4bit(path: Path, device: str) -> CausalLM:
    """Registry loader form of `load_causal_lm(path, device, "4bit")`: pass `LOADER_4BIT` to
    `core.models.load` to get (and cache) a model's 4-bit copy beside its full-precision one."""
    return load_causal_lm(path, device, quantization="4bit")
