"""Attention maps of a transformer for one sentence (or a sentence pair): every layer, every head.

Encoders (all-MiniLM-L6-v2, BERT) and decoders (SmolLM2, GPT-2, Qwen) run through transformers
with the "eager" attention implementation, the only one that hands back its softmax weights.
`attention_maps` returns an `AttentionMaps`: the tokens exactly as the tokenizer split them
and the weights as a float32 array [layers, heads, T, T], row i = how token i spreads its
attention over the tokens j (each row sums to 1; for a decoder, zero above the diagonal).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import config, models
from core.registry import MODELS

ENCODER_LOADER = "core.attention.maps:load_encoder"
DECODER_LOADER = "core.attention.maps:load_decoder"
DEFAULT_MODEL = "minilm"
DECODER_PAIR_JOIN = "\n"  # a decoder has no sentence-pair input: the two texts are joined


@dataclass(frozen=True)
class AttentionModel:
    """What this module's loaders return: a transformers model that outputs attentions."""

    model: Any
    tokenizer: Any
    kind: str  # "encoder" or "decoder"

    @property
    def n_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def n_heads(self) -> int:
        return int(self.model.config.num_attention_heads)

    @property
    def context(self) -> int:
        cfg = self.model.config
        return int(getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", 512))

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device


def _eager(model_cls: Any, folder: Path, device: str) -> Any:
    import torch

    model = model_cls.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32)
    return model.to(device).eval()


def load_encoder(path: Path, device: str) -> AttentionModel:
    """Registry loader: a BERT-style folder (MiniLM's sentence-transformers folder works as is)."""
    from transformers import AutoModel, AutoTokenizer

    folder = Path(path)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    # fp32 even on CUDA: attention weights are small and the saliency gradients want precision.
    return AttentionModel(_eager(AutoModel, folder, device), tokenizer, "encoder")


def load_decoder(path: Path, device: str) -> AttentionModel:
    """Registry loader: a causal LM, from a GGUF file (converted once by core.chat.llm) or a HF folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.chat.llm import ensure_hf_folder

    folder = ensure_hf_folder(Path(path))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return AttentionModel(_eager(AutoModelForCausalLM, folder, device), tokenizer, "decoder")


def model_kinds() -> dict[str, str]:
    """Registered models this tab can open: key -> "encoder" or "decoder"."""
    kinds = {}
    for key, spec in MODELS.items():
        if spec.task == "encoder-attention" or key == "minilm":
            kinds[key] = "encoder"
        elif spec.task == "causal-lm":
            kinds[key] = "decoder"
    return kinds


def check_model(key: str) -> str:
    kinds = model_kinds()
    key = (key or "").strip()
    if key not in kinds:
        raise ValueError(f"The Attention tab has no model {key!r}; valid models: {', '.join(kinds)}")
    return kinds[key]


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def model_lock(key: str) -> threading.Lock:
    """One lock per model: a forward pass at a time on a shared model keeps CPU threads sane."""
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def get_model(key: str) -> AttentionModel:
    """The loaded model for `key` (loaded on first use, cached by core.models)."""
    kind = check_model(key)
    return models.get(key, loader=ENCODER_LOADER if kind == "encoder" else DECODER_LOADER)


@dataclass(frozen=True)
class Encoded:
    """A tokenized input ready for the model, with what the UI needs to show its tokens."""

    inputs: dict  # input_ids, attention_mask (and token_type_ids), torch tensors [1, T]
    tokens: tuple[str, ...]  # display labels, one per token, unique-ish
    raw_tokens: tuple[str, ...]  # tokenizer.convert_ids_to_tokens
    special: tuple[bool, ...]  # [CLS], [SEP], <|endoftext|> ...
    segment: tuple[int, ...]  # 0 = first text, 1 = second text, -1 = special token
    n_dropped: int  # tokens cut off to fit the limit
    limit: int

    @property
    def notice(self) -> str:
        if not self.n_dropped:
            return ""
        return (f"Input truncated: {self.n_dropped} tokens dropped to fit the limit of {self.limit} tokens "
                f"(the model's context or NLP_STUDIO_MAX_ATTENTION_TOKENS).")


def check_text(text: str, name: str = "text") -> str:
    text = text or ""
    if not text.strip():
        raise ValueError(f"Type a sentence first (the {name} box is empty).")
    if len(text) > config.MAX_ATTENTION_CHARS:
        raise ValueError(f"The {name} has {len(text):,} characters; the limit is {config.MAX_ATTENTION_CHARS:,} "
                         "(NLP_STUDIO_MAX_ATTENTION_CHARS). Paste a shorter passage.")
    return text


def _labels(tokenizer: Any, ids: list[int], offsets: list[tuple[int, int]], seq_ids: list[int | None],
            texts: tuple[str, ...]) -> tuple[list[str], list[str], list[bool]]:
    """Readable token labels: WordPiece tokens as they are ("##ing"); byte-level BPE tokens as the
    text they cover, a leading space shown as "␣", and the byte pieces of one character (emoji,
    CJK) numbered "😀·1", "😀·2" so every row of a map keeps its own name."""
    raw = tokenizer.convert_ids_to_tokens(ids)
    special_ids = set(tokenizer.all_special_ids)
    try:
        wordpiece = type(tokenizer.backend_tokenizer.model).__name__ == "WordPiece"
    except AttributeError:
        wordpiece = False
    labels, special = [], []
    for i, (tid, tok, (s, e), sid) in enumerate(zip(ids, raw, offsets, seq_ids)):
        is_special = tid in special_ids or sid is None
        special.append(is_special)
        piece = texts[sid][s:e] if sid is not None and e > s else ""
        if is_special or not piece:
            labels.append(tok)
        elif wordpiece:
            labels.append(f"{tok}({piece})" if tok == tokenizer.unk_token else tok)
        else:
            labels.append(("␣" + piece[1:]) if piece[:1] == " " else piece.replace("\n", "⏎"))
    # Number runs of tokens that overlap the previous one (several tokens for one character).
    i = 0
    while i < len(ids):
        j = i + 1
        while (j < len(ids) and not special[j] and seq_ids[j] == seq_ids[i]
               and offsets[j][0] < offsets[j - 1][1]):
            j += 1
        if j - i > 1:
            for n, k in enumerate(range(i, j), start=1):
                labels[k] = f"{labels[k]}·{n}"
        i = j
    return labels, raw, special


def encode(am: AttentionModel, text: str, text_pair: str = "", max_tokens: int | None = None) -> Encoded:
    """Tokenize `text` (and `text_pair`) for `am`, truncating to the limit with a count of what was cut."""
    import torch

    text = check_text(text)
    pair = (text_pair or "").strip() and check_text(text_pair, "second sentence")
    if pair and am.kind == "decoder":
        text, pair = text + DECODER_PAIR_JOIN + pair, ""
    limit = min(am.context, max_tokens or config.MAX_ATTENTION_TOKENS)
    tok = am.tokenizer
    args = (text, pair) if pair else (text,)
    full = tok(*args, add_special_tokens=True)["input_ids"]
    n_dropped = max(0, len(full) - limit)
    enc = tok(*args, add_special_tokens=True, truncation=bool(n_dropped), max_length=limit if n_dropped else None,
              return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    if not ids:
        raise ValueError("The tokenizer produced no tokens for this text; type a word or two.")
    seq_ids = enc.sequence_ids()
    texts = (text, pair) if pair else (text,)
    labels, raw, special = _labels(tok, ids, [tuple(o) for o in enc["offset_mapping"]], seq_ids, texts)
    device = am.device
    inputs = {k: torch.tensor([v], device=device) for k, v in enc.items() if k != "offset_mapping"}
    if am.kind == "decoder":
        inputs.pop("token_type_ids", None)
    segment = tuple(-1 if s is None else int(s) for s in seq_ids)
    return Encoded(inputs, tuple(labels), tuple(raw), tuple(special), segment, n_dropped, limit)


@dataclass(frozen=True)
class AttentionMaps:
    """Every attention map of one forward pass."""

    model_key: str
    kind: str  # "encoder" or "decoder"
    tokens: tuple[str, ...]  # display labels, T of them
    raw_tokens: tuple[str, ...]
    special: tuple[bool, ...]
    segment: tuple[int, ...]
    weights: np.ndarray  # float32 [layers, heads, T, T]; row = query token, column = key token
    n_dropped: int = 0
    notice: str = ""
    next_tokens: tuple[tuple[str, float], ...] = field(default_factory=tuple)  # decoder: top-k (token, p)

    @property
    def n_layers(self) -> int:
        return self.weights.shape[0]

    @property
    def n_heads(self) -> int:
        return self.weights.shape[1]

    def check_layer_head(self, layer: int, head: int | None = None) -> None:
        if not 0 <= layer < self.n_layers:
            raise ValueError(f"layer {layer} does not exist; this model has layers 0..{self.n_layers - 1}")
        if head is not None and not 0 <= head < self.n_heads:
            raise ValueError(f"head {head} does not exist; this model has heads 0..{self.n_heads - 1}")


def token_text(tokenizer: Any, token_id: int) -> str:
    """A token as text; a lone byte of a multi-byte character shows as its raw BPE form instead of "�"."""
    text = tokenizer.decode([token_id])
    return tokenizer.convert_ids_to_tokens(token_id) if "\ufffd" in text else text


def _stack(attentions: Any) -> np.ndarray:
    if not attentions or any(a is None for a in attentions):
        raise ValueError("This model returned no attention weights (its attention implementation does not "
                         "expose them); the Attention tab needs a model loaded with attn_implementation='eager'.")
    import torch

    return torch.stack([a[0] for a in attentions]).float().cpu().numpy()


def attention_maps(text: str, model_key: str = DEFAULT_MODEL, text_pair: str = "", top_k: int = 10,
                   max_tokens: int | None = None) -> AttentionMaps:
    """One forward pass with output_attentions=True. Shapes: weights [layers, heads, T, T]."""
    import torch

    am = get_model(model_key)
    enc = encode(am, text, text_pair, max_tokens)
    with model_lock(model_key), torch.inference_mode():
        out = am.model(**enc.inputs, output_attentions=True)
    weights = _stack(out.attentions)
    next_tokens: tuple = ()
    if am.kind == "decoder":
        probs = torch.softmax(out.logits[0, -1].float(), -1)
        p, idx = probs.topk(min(top_k, probs.numel()))
        next_tokens = tuple((token_text(am.tokenizer, int(i)), float(v)) for v, i in zip(p, idx))
    return AttentionMaps(model_key, am.kind, enc.tokens, enc.raw_tokens, enc.special, enc.segment, weights,
                         enc.n_dropped, enc.notice, next_tokens)


def rollout(weights: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): mix each layer's head-mean with the identity for the
    residual stream, renormalize rows, multiply up the layers. [layers, heads, T, T] -> [T, T];
    row i = how much of the final vector at i traces back to each input token."""
    n = weights.shape[-1]
    eye = np.eye(n, dtype=np.float64)
    out = eye
    for layer in weights.astype(np.float64):
        a = residual * eye + (1 - residual) * layer.mean(0)
        a /= a.sum(-1, keepdims=True)
        out = a @ out
    return out.astype(np.float32)
