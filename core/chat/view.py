"""LoRA Chat glue shared by both front ends: the explanation, the code snippets, dataset choice,
the text for parameter counts, estimates, job progress and perplexity, and the per-token
divergence labels. Plain strings and lists in and out; no UI library is imported here.

    from core.chat.view import params_markdown, job_message
    params_markdown(lora_param_count("smollm2-135m", LoraSettings()))
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from core.chat.conversation import DEFAULT_MODEL, GenerationSettings, reply
from core.config import CHAT_MAX_NEW_TOKENS, LORA_MAX_RANK, LORA_MAX_STEPS
from core.controls import Control
from core.chat.lora import LoraSettings
from core.chat.lora_compare import TokenComparison
from core.chat.lora_data import Dataset, load_dataset, load_file

LORA_EXPLAINER = """**Chat** with SmolLM2-135M-Instruct (offline), then **fine-tune** it: LoRA freezes all 135M weights and
learns, next to each chosen weight matrix W, two small matrices **A** (rank × in) and **B** (out × rank);
the model then uses W + (alpha / rank) · B·A. Try the shipped **pirate-demo** adapter in the chat, train
your own in **Fine-tune**, and see exactly what changed in **Compare**.
"""
UPLOAD = "my own file (JSONL or CSV)"
UPLOAD_HELP = ("Upload a `.jsonl` (one `{\"prompt\": ..., \"response\": ...}` per line) or a `.csv` with "
               "prompt and response columns.")
BASE_LABEL = "base model (no adapter)"
COMPARE_MAX_TOKENS = 60  # each model answers; keep the side-by-side quick on a CPU
DIVERGE_COLOURS = {"adapted ≫ base": "#2a9d8f", "adapted > base": "#a8dadc",
                   "base > adapted": "#f4a261", "base ≫ adapted": "#e76f51"}
TOKEN_COLUMNS = ["token", "p base", "p adapted", "log2 ratio"]


def generation_settings(system: str, temperature: float, top_p: float, max_tokens: float) -> GenerationSettings:
    """GenerationSettings from widget values (sliders hand over floats)."""
    return GenerationSettings(temperature=float(temperature), top_p=float(top_p),
                              max_new_tokens=int(max_tokens), system_prompt=system or "")


# The chat and fine-tune inputs, declared once: both front ends draw them from here and their limits
# come from core/config, so a limit changed there changes both.
CHAT_CONTROLS = (
    Control("temperature", "Temperature (0 = greedy)", "slider", 0.0, minimum=0.0, maximum=1.5, step=0.05),
    Control("top_p", "Top-p", "slider", 0.9, minimum=0.05, maximum=1.0, step=0.05),
    Control("max_tokens", "Max new tokens", "slider", 128, minimum=8, maximum=CHAT_MAX_NEW_TOKENS, step=8),
)
FINETUNE_CONTROLS = (
    Control("rank", "Rank r", "slider", 8, minimum=1, maximum=LORA_MAX_RANK, step=1),
    Control("alpha", "Alpha", "slider", 16, minimum=1, maximum=2 * LORA_MAX_RANK, step=1),
    Control("lr", "Learning rate", "number", 2e-3, minimum=1e-6, maximum=0.1, step=1e-4, fmt="%.0e"),
    Control("steps", "Steps (batch of 4)", "slider", 30, minimum=1, maximum=LORA_MAX_STEPS, step=1),
)

QLORA_LABEL = "4-bit (QLoRA)"
QLORA_INFO = ("Train on the base model held in 4-bit nf4 (bitsandbytes): about a third of the memory, "
              "slower on a CPU. The adapter then works on the full-precision model like any other.")


def lora_settings(rank, alpha, targets, lr, steps, four_bit: bool = False) -> LoraSettings:
    """LoraSettings from widget values; LoraSettings itself says what is allowed."""
    return LoraSettings(rank=int(rank), alpha=int(alpha), target_modules=tuple(targets or ()),
                        learning_rate=float(lr), steps=int(steps), quantization="4bit" if four_bit else "none")


def chat_code(model: str, adapter: str, s: GenerationSettings) -> str:
    return f'''from core.chat.conversation import GenerationSettings, stream_reply

messages = [{{"role": "user", "content": "What is the capital of France?"}}]
settings = GenerationSettings(temperature={s.temperature}, top_p={s.top_p}, max_new_tokens={s.max_new_tokens},
                              system_prompt={s.system_prompt!r})
for text in stream_reply(messages, model={model!r}, adapter={adapter or None!r}, settings=settings):
    print(text)  # the whole reply so far
'''


def train_code(dataset: str, s: LoraSettings) -> str:
    quant = f", quantization={s.quantization!r}" if s.quantization != "none" else ""
    return f'''from core.chat.lora import LoraSettings
from core.chat.lora_train import start_training

settings = LoraSettings(rank={s.rank}, alpha={s.alpha}, target_modules={s.target_modules!r},
                        learning_rate={s.learning_rate}, steps={s.steps}{quant})
job = start_training({dataset!r}, settings, on_step=lambda st: print(st.step, st.losses[-1:]))
print(job.wait().adapter)   # the saved adapter's name; job.cancel() stops early and still saves
'''


def dataset_source(choice: str, upload: str | Path | None) -> Dataset:
    """The dataset a user picked: a shipped set's name, or UPLOAD with the uploaded file's path."""
    if choice == UPLOAD:
        if not upload:
            raise ValueError("upload a JSONL or CSV file with prompt and response columns first")
        return load_file(Path(upload))
    return load_dataset(choice)


def dataset_from_bytes(filename: str, data: bytes) -> Dataset:
    """An uploaded file held in memory (Streamlit's uploader): checked exactly as a file on disk,
    so the messages name the user's own file."""
    name = Path(filename or "upload.jsonl").name
    with tempfile.TemporaryDirectory(prefix="nlp-studio-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return load_file(path)


def dataset_summary(ds: Dataset) -> str:
    return (f"**{ds.size} examples**: {len(ds.train)} for training, {len(ds.heldout)} held out for "
            "perplexity.")


def params_markdown(info: dict) -> str:
    """Trainable LoRA parameters against the frozen total, from core.chat.lora.lora_param_count."""
    shapes = ", ".join(f"`{k}` W {v[0]}×{v[1]} → A {info['rank']}×{v[1]}, B {v[0]}×{info['rank']}"
                       for k, v in info["shapes"].items())
    return (f"**Trainable: {info['trainable'] / 1e6:.2f}M of {info['total'] / 1e6:.0f}M parameters "
            f"({100 * info['fraction']:.2f}%).** Per layer: {shapes}. Scaling alpha/rank = "
            f"{info['alpha']}/{info['rank']} = {info['scaling']:g}.")


def estimate_markdown(e: dict, s: LoraSettings) -> str:
    """The time estimate from core.chat.lora_train.estimate's probe."""
    return (f"About **{e['estimated_s']:.0f} s** for {s.steps} steps on this machine "
            f"({e['seconds_per_step']:.2f} s a step, measured on a {e['probe_s']:.0f} s probe).")


def loss_points(losses) -> dict[str, list]:
    """Loss curve columns: step (1-based) and loss."""
    return {"step": list(range(1, len(losses) + 1)), "loss": [float(x) for x in losses]}


def _bold_md(text: str) -> str:
    return f"**{text}**"


def job_message(st, strong: Callable[[str], str] = _bold_md) -> str:
    """One line about a training job (a core.chat.lora_train.JobStatus): its progress while it runs,
    what was saved when it ends. `strong` marks the adapter name (markdown bold by default)."""
    if not st.finished:
        eta = "" if st.eta_s is None else f", about {st.eta_s:.0f} s left"
        last = f", loss {st.losses[-1]:.3f}" if st.losses else ""
        return f"{strong(st.name)}: {st.state}, step {st.step}/{st.total}{last}{eta}"
    if st.state == "failed":
        return f"training failed: {st.error}"
    if not st.adapter:
        return f"Cancelled before the first step: {st.error}"
    first = f"{st.losses[0]:.2f} → {st.losses[-1]:.2f}" if st.losses else "no steps"
    saved = (f"Saved adapter {strong(st.adapter)} ({st.state}, {st.step} steps in {st.seconds:.0f} s, "
             f"loss {first}).")
    if getattr(st, "warning", None):  # the run's own check: it may have learned nothing
        return f"{saved} Warning: {st.warning}"
    return f"{saved} Pick it in the adapter menu above to chat with it."


def compare_replies(prompt: str, adapter: str, settings: GenerationSettings,
                    model: str = DEFAULT_MODEL) -> tuple[str, str]:
    """The same prompt answered by the base model and by base + adapter (replies kept short)."""
    if not adapter:
        raise ValueError("pick an adapter to compare with the base model")
    if not (prompt or "").strip():
        raise ValueError("type a prompt first")
    from dataclasses import replace

    s = replace(settings, max_new_tokens=min(settings.max_new_tokens, COMPARE_MAX_TOKENS))
    messages = [{"role": "user", "content": prompt.strip()}]
    # Both locally: the adapter exists only on the local weights, so the base reply must come from them too.
    return reply(messages, model, None, s, local=True), reply(messages, model, adapter, s)


def score_reply(prompt: str, adapter: str, text: str, system_prompt: str = "",
                model: str = DEFAULT_MODEL) -> TokenComparison:
    """Per-token probabilities of one of the two replies under both models."""
    from core.chat.lora_compare import token_probabilities

    if not text:
        raise ValueError("press 'Answer with both' first")
    return token_probabilities([{"role": "user", "content": (prompt or "").strip()}], text, adapter, model,
                               system_prompt=system_prompt or "")


def divergence_label(log_ratio: float) -> str | None:
    """Which model finds a token likelier, in four bands of log2(p_adapted / p_base); None when close."""
    r = log_ratio
    return ("adapted ≫ base" if r > 3 else "adapted > base" if r > 1 else
            "base ≫ adapted" if r < -3 else "base > adapted" if r < -1 else None)


def token_spans(tc: TokenComparison) -> list[tuple[str, str | None]]:
    """(token text, divergence label) for each reply token."""
    return [(t.token, divergence_label(t.log_ratio)) for t in tc.tokens]


def token_rows(tc: TokenComparison) -> list[list]:
    """Rows for a token table, columns TOKEN_COLUMNS (whitespace shown escaped)."""
    return [[repr(t.token)[1:-1], t.p_base, t.p_adapted, t.log_ratio] for t in tc.tokens]


def perplexity_markdown(ds_name: str, adapter: str, heldout: int, base_ppl: float, adapted_ppl: float) -> str:
    return (f"Held-out perplexity on **{ds_name}** ({heldout} examples never trained on): "
            f"base **{base_ppl:.2f}**, with {adapter} **{adapted_ppl:.2f}** (lower: the model finds these answers "
            "less surprising).")


def compare_perplexity(ds_name: str, adapter: str, model: str = DEFAULT_MODEL) -> str:
    """Held-out perplexity of the base model and of base + adapter on a shipped set, as a sentence."""
    from core.chat.lora_compare import perplexity

    if not adapter:
        raise ValueError("pick an adapter to compare with the base model")
    ds = load_dataset(ds_name)
    pb, pa = perplexity(ds, None, model), perplexity(ds, adapter, model)
    return perplexity_markdown(ds_name, adapter, len(ds.heldout), pb, pa)
