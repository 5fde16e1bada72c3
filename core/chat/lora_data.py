"""Prompt/response datasets for LoRA fine-tuning: the shipped demo sets and the user's own.

A dataset is a list of `Example(prompt, response)`. Files are JSONL (one object per line with
"prompt" and "response"; "instruction"/"output" and "input"/"output" are accepted too) or CSV
with a header row naming the same columns. Every fifth example goes to a held-out split that
training never sees, used for perplexity.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import LORA_MAX_EXAMPLE_TOKENS, LORA_MAX_EXAMPLES, LORA_MAX_UPLOAD_BYTES, LORA_MIN_EXAMPLES

DATASETS_DIR = Path(__file__).resolve().parents[2] / "assets" / "datasets"
PROMPT_KEYS = ("prompt", "instruction", "input", "question")
RESPONSE_KEYS = ("response", "output", "answer", "completion")
HELDOUT_EVERY = 5  # example i goes to the held-out split when i % 5 == 4


@dataclass(frozen=True)
class Example:
    prompt: str
    response: str


@dataclass(frozen=True)
class Dataset:
    """`train` and `heldout` are disjoint; `name` is a shipped set's name or "upload"."""

    name: str
    train: tuple[Example, ...]
    heldout: tuple[Example, ...]

    @property
    def size(self) -> int:
        return len(self.train) + len(self.heldout)


def shipped_datasets() -> list[str]:
    """Names of the demo sets in assets/datasets (file stems)."""
    return sorted(p.stem for p in DATASETS_DIR.glob("*.jsonl"))


def _pick(row: dict, keys: tuple[str, ...]) -> str | None:
    for k in keys:
        v = row.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _rows_to_examples(rows: list[tuple[int, Any]], where: str) -> list[Example]:
    out = []
    for line_no, row in rows:
        if not isinstance(row, dict):
            raise ValueError(f"{where} line {line_no}: expected an object with \"prompt\" and \"response\", "
                             f"got {type(row).__name__}")
        prompt, response = _pick(row, PROMPT_KEYS), _pick(row, RESPONSE_KEYS)
        if prompt is None or response is None:
            missing = "prompt" if prompt is None else "response"
            raise ValueError(f"{where} line {line_no}: no {missing!r} field (or it is empty); each example needs "
                             f"a prompt ({'/'.join(PROMPT_KEYS)}) and a response ({'/'.join(RESPONSE_KEYS)}). "
                             f"Keys found: {', '.join(map(str, row)) or 'none'}")
        out.append(Example(prompt, response))
    return out


def parse_examples(text: str, fmt: str = "auto", where: str = "dataset") -> list[Example]:
    """Examples from JSONL or CSV text. `fmt` is "jsonl", "csv" or "auto" (JSONL when the first
    non-blank character is "{"). Raises ValueError naming the line and what is wrong."""
    if len(text.encode("utf-8", "replace")) > LORA_MAX_UPLOAD_BYTES:
        raise ValueError(f"the {where} is {len(text.encode('utf-8', 'replace')) / 1e6:.1f} MB; the limit is "
                         f"{LORA_MAX_UPLOAD_BYTES / 1e6:.1f} MB (a LoRA demo needs tens of examples, not thousands)")
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise ValueError(f"the {where} is empty")
    if fmt == "auto":
        fmt = "jsonl" if stripped.startswith(("{", "[")) else "csv"
    rows: list[tuple[int, Any]] = []
    if fmt == "jsonl":
        for i, line in enumerate(stripped.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append((i, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where} line {i} is not valid JSON ({exc.msg}): {line[:80]!r}") from None
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(stripped))
        if not reader.fieldnames or not any(k in reader.fieldnames for k in PROMPT_KEYS):
            raise ValueError(f"the {where} CSV needs a header row with a prompt column and a response column "
                             f"(found: {', '.join(reader.fieldnames or []) or 'nothing'})")
        try:
            rows = [(i + 2, dict(r)) for i, r in enumerate(reader)]
        except csv.Error as exc:
            raise ValueError(f"the {where} is not valid CSV: {exc}") from None
    else:
        raise ValueError(f"unknown format {fmt!r}; use jsonl or csv")
    if len(rows) > LORA_MAX_EXAMPLES:
        raise ValueError(f"the {where} has {len(rows)} examples; the limit is {LORA_MAX_EXAMPLES}")
    return _rows_to_examples(rows, where)


def split(name: str, examples: list[Example]) -> Dataset:
    """Hold out every fifth example; refuse sets too small to train and evaluate on."""
    if len(examples) < LORA_MIN_EXAMPLES:
        raise ValueError(f"the dataset has {len(examples)} examples; LoRA needs at least {LORA_MIN_EXAMPLES} "
                         "(some are held out for evaluation). Add more prompt/response pairs.")
    train = tuple(e for i, e in enumerate(examples) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1)
    heldout = tuple(e for i, e in enumerate(examples) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1)
    return Dataset(name, train, heldout)


def load_dataset(source: str) -> Dataset:
    """A shipped set by name ("pirate"), a path to a .jsonl/.csv file, or inline JSONL/CSV text."""
    source = source or ""
    if source in shipped_datasets():
        path = DATASETS_DIR / f"{source}.jsonl"
        return split(source, parse_examples(path.read_text(encoding="utf-8"), "jsonl", source))
    if "\n" not in source and len(source) < 500 and source.lower().endswith((".jsonl", ".csv", ".json")):
        return load_file(Path(source))
    if "\n" in source or source.lstrip().startswith(("{", "[")):
        return split("upload", parse_examples(source, "auto", "pasted dataset"))
    raise ValueError(f"unknown dataset {source!r}; shipped: {', '.join(shipped_datasets())}, "
                     "or pass a .jsonl/.csv path, or JSONL text")


def load_file(path: Path) -> Dataset:
    """A user's upload: size-checked before reading, decoded as UTF-8."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path.name} does not exist")
    size = path.stat().st_size
    if size > LORA_MAX_UPLOAD_BYTES:
        raise ValueError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {LORA_MAX_UPLOAD_BYTES / 1e6:.1f} MB "
                         "(a LoRA demo needs tens of examples, not thousands)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path.name} is not UTF-8 text; save it as UTF-8 JSONL or CSV") from None
    fmt = "csv" if path.suffix.lower() == ".csv" else "auto"
    return split("upload", parse_examples(text, fmt, path.name))


def encode_example(tokenizer: Any, ex: Example, system_prompt: str,
                   max_tokens: int = LORA_MAX_EXAMPLE_TOKENS) -> tuple[list[int], list[int]]:
    """(input_ids, labels) for one example in the chat template. Labels are -100 on the prompt,
    so the loss counts only the response tokens. Too-long examples are cut at `max_tokens`;
    one whose prompt alone fills the limit raises ValueError."""
    from core.chat.conversation import require_chat_template

    require_chat_template(tokenizer)
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    msgs.append({"role": "user", "content": ex.prompt})
    prompt_ids = _ids(tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True))
    full = _ids(tokenizer.apply_chat_template(msgs + [{"role": "assistant", "content": ex.response}], tokenize=True))
    if full[: len(prompt_ids)] != prompt_ids:  # a template that rewrites earlier turns
        full = prompt_ids + tokenizer(ex.response + (tokenizer.eos_token or ""), add_special_tokens=False)["input_ids"]
    # The template ends the turn with "<|im_end|>\n"; keep the end marker, drop the trailing newline.
    while len(full) > len(prompt_ids) + 1 and full[-1] != tokenizer.eos_token_id and \
            tokenizer.decode(full[-1:]).strip() == "":
        full = full[:-1]
    if len(prompt_ids) >= max_tokens - 4:
        raise ValueError(f"the prompt {ex.prompt[:40]!r}... is {len(prompt_ids)} tokens; examples are limited to "
                         f"{max_tokens} tokens in all. Shorten it or raise NLP_STUDIO_LORA_MAX_EXAMPLE_TOKENS.")
    full = full[:max_tokens]
    labels = [-100] * len(prompt_ids) + full[len(prompt_ids):]
    return full, labels


def _ids(x: Any) -> list[int]:
    if hasattr(x, "keys"):
        x = x["input_ids"]
    return list(x)


def preview(dataset: Dataset, n: int = 8) -> list[list[str]]:
    """The first `n` training rows as [prompt, response] for a table."""
    return [[e.prompt, e.response] for e in dataset.train[:n]]
