"""The studio's real tokenizers side by side on the same text.

Three tokenizers the studio's models actually use, read from their offline packages:
- SmolLM2-135M: byte-level BPE, 49,152 tokens (the chat and attention decoder);
- MiniLM (all-MiniLM-L6-v2): BERT's WordPiece, 30,522 tokens, lower-cased (embeddings, attention);
- Whisper tiny.en: GPT-2's byte-level BPE plus Whisper's special tokens (speech recognition).
Each is the `tokenizer.json` that goes with the weights, loaded with `tokenizers` once per process.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core import config

_lock = threading.Lock()


@dataclass(frozen=True)
class StudioTokenizer:
    key: str
    title: str
    model_key: str  # core.registry key of the model whose tokenizer this is
    kind: str


STUDIO_TOKENIZERS: dict[str, StudioTokenizer] = {t.key: t for t in (
    StudioTokenizer("smollm2", "SmolLM2-135M", "smollm2-135m", "byte-level BPE"),
    StudioTokenizer("minilm", "MiniLM / BERT", "minilm", "WordPiece (lower-cased)"),
    StudioTokenizer("whisper", "Whisper tiny.en", "whisper-tiny.en", "byte-level BPE (GPT-2)"),
)}


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: each of the 256 printable stand-in characters back to
    its byte (printable ASCII and Latin-1 map to themselves, the rest to U+0100 onwards)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def piece_bytes(piece: str, byte_level: bool) -> bytes:
    """The UTF-8 bytes a piece stands for (byte-level pieces are decoded back to raw bytes)."""
    if byte_level:
        table = _byte_decoder()
        if all(ch in table for ch in piece):
            return bytes(table[ch] for ch in piece)
    bare = piece[2:] if piece.startswith("##") else piece
    return bare.replace("▁", " ").encode("utf-8")


def _tokenizer_file(key: str) -> Path:
    from core import models

    spec = STUDIO_TOKENIZERS[key]
    path = models.resolve(spec.model_key).path
    if key == "smollm2":
        from core.chat.llm import ensure_hf_folder

        path = ensure_hf_folder(path)  # the GGUF's tokenizer, saved once into the studio's cache
    file = Path(path) / "tokenizer.json"
    if not file.is_file():
        raise ValueError(f"{spec.title}: no tokenizer.json in {path}")
    return file


_cache: dict[str, Any] = {}


def studio_tokenizer(key: str) -> Any:
    """The `tokenizers.Tokenizer` of one of the studio's models, loaded once per process."""
    if key not in STUDIO_TOKENIZERS:
        raise ValueError(f"unknown tokenizer {key!r}; choose from {', '.join(STUDIO_TOKENIZERS)}")
    with _lock:
        if key not in _cache:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(_tokenizer_file(key)))
            # MiniLM's file pads and truncates to 128 for batching; the lab shows the text as it is.
            tok.no_padding()
            tok.no_truncation()
            _cache[key] = tok
        return _cache[key]


@dataclass(frozen=True)
class TokenRow:
    piece: str  # the token as the vocabulary spells it (Ġ = a space, ## = inside a word, ▁ = a space)
    id: int
    text: str  # what it stands for: its bytes as UTF-8, or <F0 9F> where it is part of a character
    n_bytes: int
    special: bool


@dataclass(frozen=True)
class TokenizerView:
    key: str
    title: str
    kind: str
    vocab_size: int
    tokens: tuple[TokenRow, ...]
    text_bytes: int

    @property
    def n_tokens(self) -> int:
        """Tokens the text became, special tokens not counted."""
        return sum(not t.special for t in self.tokens)

    @property
    def n_special(self) -> int:
        return sum(t.special for t in self.tokens)

    @property
    def n_unknown(self) -> int:
        return sum(t.piece in ("[UNK]", "<unk>", "<|unk|>") for t in self.tokens)

    @property
    def bytes_per_token(self) -> float:
        return self.text_bytes / max(1, self.n_tokens)

    def as_dict(self) -> dict:
        return {"tokenizer": self.key, "title": self.title, "kind": self.kind, "vocab_size": self.vocab_size,
                "n_tokens": self.n_tokens, "n_special": self.n_special, "n_unknown": self.n_unknown,
                "bytes": self.text_bytes, "bytes_per_token": round(self.bytes_per_token, 3),
                "tokens": [t.__dict__ for t in self.tokens]}


def _shown(raw: bytes) -> str:
    """The bytes as text; a byte that is only part of a character (an emoji cut in two) as <F0>."""
    text = raw.decode("utf-8", errors="surrogateescape")
    return "".join(f"<{ord(ch) - 0xDC00:02X}>" if 0xDC80 <= ord(ch) <= 0xDCFF else ch for ch in text)


def view(key: str, text: str, add_special_tokens: bool = True) -> TokenizerView:
    """How one studio tokenizer cuts `text`: pieces, ids, bytes, special tokens."""
    tok = studio_tokenizer(key)
    spec = STUDIO_TOKENIZERS[key]
    enc = tok.encode(text, add_special_tokens=add_special_tokens)
    specials = {t.content for t in tok.get_added_tokens_decoder().values() if t.special}
    byte_level = "byte-level" in spec.kind
    rows = []
    for piece, tid, mask in zip(enc.tokens, enc.ids, enc.special_tokens_mask):
        special = bool(mask) or piece in specials
        raw = b"" if special else piece_bytes(piece, byte_level)
        rows.append(TokenRow(piece, int(tid), piece if special else _shown(raw), len(raw), special))
    return TokenizerView(key, spec.title, spec.kind, tok.get_vocab_size(), tuple(rows), len(text.encode("utf-8")))


def compare(text: str, tokenizers: tuple[str, ...] | list[str] = tuple(STUDIO_TOKENIZERS),
            add_special_tokens: bool = True) -> list[TokenizerView]:
    """Every chosen studio tokenizer on the same text, in the order given."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the text to tokenize is empty; type or paste some text")
    if len(text) > config.TOKENIZER_MAX_TEXT_CHARS:
        raise ValueError(f"the text has {len(text):,} characters; the comparison takes at most "
                         f"{config.TOKENIZER_MAX_TEXT_CHARS:,} (NLP_STUDIO_TOKENIZER_MAX_TEXT_CHARS)")
    if not tokenizers:
        raise ValueError(f"choose at least one tokenizer: {', '.join(STUDIO_TOKENIZERS)}")
    return [view(k, text, add_special_tokens) for k in tokenizers]
