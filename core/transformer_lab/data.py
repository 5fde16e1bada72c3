"""Text for the Transformer Lab: the shipped sources, the user's own, a character vocabulary,
and training batches for the two objectives.

Shipped text comes from the Python standard library, so it is on every machine that runs the
studio (no download, no file in git): the Zen of Python (`this` module) and prose from Python's
own reference documentation (`pydoc_data.topics`). Both are under the PSF License.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from functools import lru_cache

from core.config import env_int

TEXT_MIN_CHARS = 200  # below this a model memorises a few lines and the lab shows nothing general
TEXT_MAX_CHARS = env_int("NLP_STUDIO_LAB_MAX_TEXT_CHARS", 200_000)
MASK = "\u2588"  # the masked-token placeholder (a full block: it never occurs in ordinary text)
MASK_RATE = 0.15  # BERT's share of positions to hide
DOC_TOPICS = ("assignment", "if", "while", "for", "try", "function", "class", "lambda", "import",
              "exceptions", "naming", "calls", "comparisons", "booleans", "integers")


@dataclass(frozen=True)
class TextSource:
    key: str
    title: str
    origin: str  # package and licence, shown beside the text


SOURCES = {
    "zen": TextSource("zen", "The Zen of Python (19 aphorisms)",
                      "CPython standard library, module `this` (Tim Peters); PSF License"),
    "python-docs": TextSource("python-docs", "Python language reference (15 sections of prose)",
                              "CPython standard library, module `pydoc_data.topics`; PSF License"),
}


@lru_cache(maxsize=None)
def source_text(key: str) -> str:
    """The shipped text called `key` (see SOURCES)."""
    if key == "zen":
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # `import this` prints the Zen on first import
            import this
        return codecs.decode(this.s, "rot13").split("\n\n", 1)[1].strip() + "\n"
    if key == "python-docs":
        from pydoc_data.topics import topics

        parts = [topics[t] for t in DOC_TOPICS if t in topics]
        return "\n".join(" ".join(p.split()) for p in parts) + "\n"
    raise ValueError(f"no text source {key!r}; choose one of {', '.join(SOURCES)} or paste your own text")


def check_text(text: str) -> str:
    """The text to train on, or a ValueError that says how to fix it."""
    text = (text or "").replace("\r\n", "\n")
    if MASK in text:
        text = text.replace(MASK, " ")
    if len(text.strip()) < TEXT_MIN_CHARS:
        raise ValueError(f"the text has {len(text.strip())} characters; paste at least {TEXT_MIN_CHARS} "
                         "(a paragraph or two) so the model has something to learn")
    if len(text) > TEXT_MAX_CHARS:
        raise ValueError(f"the text has {len(text):,} characters; the limit is {TEXT_MAX_CHARS:,} "
                         "(NLP_STUDIO_LAB_MAX_TEXT_CHARS). Paste a shorter excerpt.")
    return text


@dataclass(frozen=True)
class Vocab:
    """One id per distinct character of the text, plus the mask symbol (id 0)."""

    chars: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> "Vocab":
        return cls((MASK,) + tuple(sorted(set(text) - {MASK})))

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def mask_id(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted({c for c in text if c not in index})
        if unknown:
            raise ValueError(f"characters not in the training text: {''.join(unknown)!r}; "
                             "use only characters the model has seen")
        return [index[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def causal_batch(data, batch_size: int, context: int, gen):
    """Random windows: inputs x = text[i : i+T], targets y = text[i+1 : i+T+1] (the next character)."""
    import torch

    starts = torch.randint(0, len(data) - context - 1, (batch_size,), generator=gen)
    x = torch.stack([data[s:s + context] for s in starts])
    y = torch.stack([data[s + 1:s + context + 1] for s in starts])
    return x, y


def masked_batch(data, batch_size: int, context: int, gen, mask_id: int, rate: float = MASK_RATE):
    """Random windows with `rate` of positions replaced by the mask symbol; targets only there (-100
    elsewhere), so the loss is about filling in, not copying the visible characters."""
    import torch

    starts = torch.randint(0, len(data) - context, (batch_size,), generator=gen)
    clean = torch.stack([data[s:s + context] for s in starts])
    hide = torch.rand(clean.shape, generator=gen) < rate
    hide[hide.sum(1) == 0, 0] = True  # at least one target per row
    x = clean.masked_fill(hide, mask_id)
    y = clean.masked_fill(~hide, -100)
    return x, y
