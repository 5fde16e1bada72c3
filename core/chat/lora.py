"""LoRA adapters: settings, where they live, saving, loading, deleting, and chatting with one.

An adapter is a folder holding `adapter_config.json` (peft's LoraConfig),
`adapter_model.safetensors` (the A and B matrices) and `studio.json` (which base model it was
trained on, on what data, and its loss history). Shipped adapters live in `assets/lora/` and are
read-only; the ones users train or upload go to `cache_dir()/adapters/<name>/`. Only safetensors
weights are read: pickle files (.bin, .pt) can run code when loaded, so they are refused.

Adapters belong to whoever made them: `studio.json` records an `owner` (an opaque token, a browser
session on a public server). A front end passes the visitor's token as `owner`, and then sees the
shipped adapters, the unowned ones (made on the server itself, e.g. by the teacher) and its own, and
may delete only its own. NLP_STUDIO_SHARE_ADAPTERS=1 (a classroom) lets everyone see every adapter;
deleting still needs the owner. `owner=None` is the server itself (scripts, tests): everything.

A chat with an adapter uses its own copy of the base model with the adapter applied, so the
shared base model stays untouched and users of different adapters never switch each other's.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.config import LORA_LOADED_ADAPTERS, LORA_MAX_ADAPTER_BYTES, LORA_MAX_RANK, cache_dir
from core.chat.llm import QUANTIZATIONS

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "assets" / "lora"
WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
META = "studio.json"
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
SHARE_ENV = "NLP_STUDIO_SHARE_ADAPTERS"


@dataclass(frozen=True)
class LoraSettings:
    """What to train. `alpha / rank` scales the update B·A added to each target weight."""

    rank: int = 8
    alpha: int = 16
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    learning_rate: float = 2e-3
    steps: int = 30
    batch_size: int = 4
    seed: int = 0
    # "4bit": QLoRA, the frozen base held as bitsandbytes nf4 while training (about a third of
    # the memory); the saved adapter is used on the full-precision base like any other.
    quantization: str = "none"

    def __post_init__(self) -> None:
        from core.config import LORA_MAX_STEPS

        if not 1 <= self.rank <= LORA_MAX_RANK:
            raise ValueError(f"rank must be between 1 and {LORA_MAX_RANK}, got {self.rank}")
        if not 1 <= self.alpha <= 4 * LORA_MAX_RANK:
            raise ValueError(f"alpha must be between 1 and {4 * LORA_MAX_RANK}, got {self.alpha}")
        bad = [t for t in self.target_modules if t not in TARGETS]
        if bad or not self.target_modules:
            raise ValueError(f"target modules must be some of {', '.join(TARGETS)}; got {list(self.target_modules)}")
        if not 1e-6 <= self.learning_rate <= 1e-1:
            raise ValueError(f"learning rate must be between 1e-6 and 0.1, got {self.learning_rate}")
        if not 1 <= self.steps <= LORA_MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {LORA_MAX_STEPS}, got {self.steps} "
                             "(raise NLP_STUDIO_LORA_MAX_STEPS to allow more)")
        if not 1 <= self.batch_size <= 32:
            raise ValueError(f"batch size must be between 1 and 32, got {self.batch_size}")
        if self.quantization not in QUANTIZATIONS:
            raise ValueError(f"quantization must be 'none' or '4bit' (QLoRA), got {self.quantization!r}")

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank

    @classmethod
    def from_dict(cls, data: dict | None) -> "LoraSettings":
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown LoRA setting(s) {', '.join(sorted(unknown))}; "
                             f"valid: {', '.join(cls.__dataclass_fields__)}")
        if "target_modules" in data:
            tm = data["target_modules"]
            data["target_modules"] = tuple([tm] if isinstance(tm, str) else tm)
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"bad LoRA settings: {exc}") from exc


@dataclass(frozen=True)
class AdapterInfo:
    """One adapter on disk. `shipped` ones cannot be deleted."""

    name: str
    path: Path
    base_model: str
    shipped: bool
    size_bytes: int
    meta: dict = field(default_factory=dict)

    def row(self) -> dict:
        m = self.meta
        return {"name": self.name, "base_model": self.base_model, "shipped": self.shipped,
                "size_kb": round(self.size_bytes / 1024, 1), "dataset": m.get("dataset", ""),
                "steps": m.get("steps_done", m.get("steps", "")), "status": m.get("status", ""),
                "final_loss": (m.get("losses") or [None])[-1], "rank": m.get("settings", {}).get("rank", "")}


def user_dir() -> Path:
    path = cache_dir() / "adapters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise ValueError(f"adapter name {name!r} is not allowed: use 1-48 letters, digits, '-', '_' or '.', "
                         "starting with a letter or digit")
    return name


def _info(folder: Path, shipped: bool) -> AdapterInfo | None:
    if not (folder / WEIGHTS).is_file() or not (folder / CONFIG).is_file():
        return None
    try:
        meta = json.loads((folder / META).read_text()) if (folder / META).is_file() else {}
    except (OSError, json.JSONDecodeError):
        meta = {}
    return AdapterInfo(folder.name, folder, str(meta.get("base_model", "")), shipped,
                       (folder / WEIGHTS).stat().st_size, meta)


def sharing() -> bool:
    """True when every visitor sees every adapter (NLP_STUDIO_SHARE_ADAPTERS=1, set by a teacher)."""
    return os.environ.get(SHARE_ENV, "").strip() == "1"


def owner_of(info: AdapterInfo) -> str:
    """The token of the session that made it; "" for shipped and server-made adapters."""
    return "" if info.shipped else str(info.meta.get("owner", "") or "")


def visible_to(info: AdapterInfo, owner: str | None) -> bool:
    """Whether `owner` (None: the server itself) may see and use this adapter."""
    return owner is None or info.shipped or sharing() or owner_of(info) in ("", owner)


def list_adapters(base_model: str | None = None, owner: str | None = None) -> list[AdapterInfo]:
    """Shipped adapters first, then the user's, newest first; optionally only those for `base_model`,
    and only those `owner` may see (see the module docstring; None: all)."""
    found = []
    for root, shipped in ((SHIPPED_DIR, True), (user_dir(), False)):
        if not root.is_dir():
            continue
        folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: -p.stat().st_mtime if not shipped else 0)
        for p in folders:
            info = _info(p, shipped)
            if info and (base_model is None or info.base_model in ("", base_model)) and visible_to(info, owner):
                found.append(info)
    return found


def find_adapter(name: str, owner: str | None = None) -> AdapterInfo:
    """The adapter `name`, if `owner` may see it; else ValueError listing the ones it may."""
    for info in list_adapters(owner=owner):
        if info.name == name:
            return info
    names = ", ".join(a.name for a in list_adapters(owner=owner)) or "none yet"
    raise ValueError(f"no adapter named {name!r}; available: {names}")


def name_taken(name: str) -> bool:
    return (SHIPPED_DIR / name).exists() or (user_dir() / name).exists()


def unique_name(stem: str) -> str:
    """`stem` if free, else stem-2, stem-3, ..."""
    stem = check_name(stem)
    if not name_taken(stem):
        return stem
    i = 2
    while name_taken(f"{stem}-{i}"):
        i += 1
    return f"{stem}-{i}"


def save_adapter(peft_model: Any, name: str, meta: dict, root: Path | None = None) -> AdapterInfo:
    """Write a trained adapter as safetensors into a new folder `root/name` (default: the user
    folder). It is written to a temporary folder and renamed, and never replaces an existing
    adapter: a taken name raises ValueError."""
    name = check_name(name)
    root = Path(root) if root else user_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    if final.exists() or (root != SHIPPED_DIR and name_taken(name)):
        raise ValueError(f"an adapter named {name!r} already exists; choose another name")
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=root))
    try:
        peft_model.save_pretrained(tmp, safe_serialization=True)
        for stray in tmp.glob("*.bin"):  # only safetensors ever leaves this function
            stray.unlink()
        _portable_config(tmp / CONFIG, meta.get("base_model", ""))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; adapters are meant to be shared
        (tmp / "README.md").unlink(missing_ok=True)
        (tmp / META).write_text(json.dumps({**meta, "name": name, "saved": time.strftime("%Y-%m-%d %H:%M:%S")},
                                           indent=1))
        try:
            os.rename(tmp, final)  # fails if another save took the name meanwhile
        except OSError:
            raise ValueError(f"an adapter named {name!r} was saved by someone else just now; choose another name") \
                from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    evict(name)
    return _info(final, root == SHIPPED_DIR)


def _portable_config(path: Path, base_model: str) -> None:
    """peft records the base model's local cache path; store its hub id instead (portable)."""
    from core.registry import MODELS

    cfg = json.loads(path.read_text())
    spec = MODELS.get(base_model)
    cfg["base_model_name_or_path"] = spec.hub_id if spec and spec.hub_id else base_model
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True))
    for f in path.parent.iterdir():
        os.chmod(f, 0o644)


def delete_adapter(name: str, owner: str | None = None) -> None:
    """Delete one of the user's adapters (shipped ones are read-only). With `owner` given (a
    visitor), only an adapter that visitor made; even a shared one stays the maker's."""
    info = find_adapter(name, owner)
    if info.shipped:
        raise ValueError(f"{name} ships with the studio and cannot be deleted")
    if owner is not None and (not owner or owner_of(info) != owner):
        raise ValueError(f"{name} was made by someone else (or on the server), so only they or the host can "
                         "delete it; you can delete the adapters you trained or uploaded in this session")
    evict(name)
    shutil.rmtree(info.path)


def import_adapter(files: list[str | Path], name: str, base_model: str = "smollm2-135m",
                   owner: str = "") -> AdapterInfo:
    """Add an adapter from uploaded files: an `adapter_config.json` and an
    `adapter_model.safetensors` (any name ending .safetensors). Pickle weights are refused, and
    the adapter must fit `base_model` (it is test-loaded before it is kept). `owner`: the uploading
    session's token (see the module docstring)."""
    from safetensors import safe_open

    name = check_name(name)
    if name_taken(name):
        raise ValueError(f"an adapter named {name!r} already exists; choose another name")
    files = [Path(f) for f in files or []]
    pickles = [f.name for f in files if f.suffix.lower() in (".bin", ".pt", ".pth", ".pkl", ".ckpt")]
    if pickles:
        raise ValueError(f"{', '.join(pickles)}: only .safetensors adapters are accepted (pickle files such as "
                         ".bin/.pt can run code when loaded). Re-save with save_pretrained(safe_serialization=True).")
    weights = [f for f in files if f.suffix.lower() == ".safetensors"]
    configs = [f for f in files if f.suffix.lower() == ".json"]
    if len(weights) != 1 or len(configs) != 1:
        raise ValueError("upload exactly two files: adapter_config.json and adapter_model.safetensors")
    if weights[0].stat().st_size > LORA_MAX_ADAPTER_BYTES:
        raise ValueError(f"{weights[0].name} is {weights[0].stat().st_size / 1e6:.0f} MB; the limit is "
                         f"{LORA_MAX_ADAPTER_BYTES / 1e6:.0f} MB")
    try:
        with safe_open(str(weights[0]), framework="pt") as fh:
            keys = list(fh.keys())
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a safetensors file"
        raise ValueError(f"{weights[0].name} is not a valid safetensors file ({exc})") from None
    if not any("lora_" in k for k in keys):
        raise ValueError(f"{weights[0].name} holds no LoRA weights (no 'lora_A'/'lora_B' tensors)")
    try:
        cfg = json.loads(configs[0].read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{configs[0].name} is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or str(cfg.get("peft_type", "")).upper() != "LORA":
        raise ValueError(f"{configs[0].name} is not a LoRA adapter config (peft_type should be LORA)")
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=user_dir()))
    try:
        shutil.copyfile(weights[0], tmp / WEIGHTS)
        shutil.copyfile(configs[0], tmp / CONFIG)
        (tmp / META).write_text(json.dumps({"name": name, "base_model": base_model, "status": "uploaded",
                                            "dataset": "", "losses": [], "owner": owner}, indent=1))
        _build_adapted(base_model, tmp)  # raises if it does not fit the base model
        final = user_dir() / name
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _info(final, False)


# --- applying an adapter ---------------------------------------------------------------------

_adapted: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()
_adapted_lock = threading.Lock()


def evict(name: str) -> None:
    with _adapted_lock:
        for key in [k for k in _adapted if k[1] == name]:
            del _adapted[key]


def _build_adapted(base_model: str, folder: Path):
    """A deep copy of the base model with the adapter in `folder` applied (not merged)."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    from core import models

    base = models.get(base_model)
    try:
        cfg = LoraConfig.from_pretrained(str(folder))
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{folder.name}: unreadable adapter_config.json ({exc})") from None
    cfg.inference_mode = True
    cfg.base_model_name_or_path = base.model.config._name_or_path  # the hub id is stored; same model
    state = load_file(str(folder / WEIGHTS))
    model = copy.deepcopy(base.model)
    try:
        peft_model = get_peft_model(model, cfg)
        result = set_peft_model_state_dict(peft_model, state)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"adapter {folder.name} does not fit {base_model}: it was trained for another base "
                         f"model ({str(exc).splitlines()[0][:200]})") from None
    missing_lora = [k for k in getattr(result, "missing_keys", []) if "lora_" in k]
    unexpected = list(getattr(result, "unexpected_keys", []))
    if unexpected or missing_lora:
        raise ValueError(f"adapter {folder.name} does not fit {base_model}: it was trained for another base model "
                         f"({len(unexpected)} unexpected and {len(missing_lora)} missing LoRA tensors)")
    peft_model.eval()
    return peft_model


def adapted_model(base_model: str, adapter: str):
    """`(model, tokenizer)` for chatting with `adapter` on `base_model`; cached (the last
    LORA_LOADED_ADAPTERS of them), rebuilt when the adapter's file changes."""
    from core import models

    info = find_adapter(adapter)
    if info.base_model and info.base_model != base_model:
        raise ValueError(f"adapter {adapter!r} was trained on {info.base_model}, not {base_model}; "
                         f"pick {info.base_model} or another adapter")
    key = (base_model, info.name, (info.path / WEIGHTS).stat().st_mtime_ns)
    with _adapted_lock:
        hit = _adapted.get(key)
        if hit is not None:
            _adapted.move_to_end(key)
            return hit
        model = _build_adapted(base_model, info.path)
        entry = (model, models.get(base_model).tokenizer)
        _adapted[key] = entry
        while len(_adapted) > max(1, LORA_LOADED_ADAPTERS):
            _adapted.popitem(last=False)
        return entry


def describe(model: Any) -> dict:
    """Trainable vs total parameters of a peft model, and what LoRA adds to one target weight."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lora_params = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    example = None
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            a = module.lora_A["default"].weight  # [r, in]
            b = module.lora_B["default"].weight  # [out, r]
            example = {"module": name.replace("base_model.model.", ""), "weight_shape": [b.shape[0], a.shape[1]],
                       "A_shape": list(a.shape), "B_shape": list(b.shape),
                       "scaling": float(module.scaling["default"])}
            break
    return {"trainable": trainable, "total": total, "lora_params": lora_params,
            "base_params": total - lora_params, "example": example}


def settings_dict(s: LoraSettings) -> dict:
    d = asdict(s)
    d["target_modules"] = list(s.target_modules)
    return d


def lora_param_count(base_model: str, settings: LoraSettings) -> dict:
    """What LoRA would add to `base_model` with `settings`, counted from the frozen model's
    Linear layers (no copy is made): for each target weight W [out, in], A is [rank, in] and
    B is [out, rank], so it adds rank * (in + out) trainable numbers."""
    import torch

    from core import models

    base = models.get(base_model).model
    total = sum(p.numel() for p in base.parameters())
    added, shapes = 0, {}
    for name, module in base.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if isinstance(module, torch.nn.Linear) and leaf in settings.target_modules:
            added += settings.rank * (module.in_features + module.out_features)
            shapes.setdefault(leaf, [module.out_features, module.in_features])
    return {"trainable": added, "total": total, "fraction": added / total if total else 0.0,
            "shapes": shapes, "rank": settings.rank, "alpha": settings.alpha, "scaling": settings.scaling}
