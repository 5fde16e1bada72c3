"""Readiness check before a class: load every model that is here, run one real action per tab.

    python -m core.doctor                  # every tab; exit status 1 if any tab would fail
    python -m core.doctor --tabs tts chat  # only these tabs
    scripts/start.sh --check               # the same, after the install step

Prints each model's load time (or why it is missing) and each tab's action with its time and a
short proof that it worked (the first neighbour of "frog", the words Whisper heard, ...). A model
that is missing but optional (a hub model nobody's tab needs by default) is listed, not failed.
Nothing is downloaded: this runs as the classroom will, offline.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Callable

from core import models
from core.registry import MODELS

SENTENCE = "The students listen to the teacher."


@dataclass(frozen=True)
class Check:
    tab: str
    action: str
    ok: bool
    seconds: float
    detail: str  # what it produced, or what went wrong and how to fix it


# --- one real action per tab -------------------------------------------------------------------

def _embeddings() -> str:
    from core.embeddings import explorer

    found = explorer.neighbours("frog", "word", 3)
    sentences = explorer.neighbours("My phone battery dies too fast", "sentence", 1)
    return f"frog → {', '.join(n.text for n in found)}; sentence → {sentences[0].text[:40]!r}"


def _attention() -> str:
    from core import attention

    enc = attention.attention_maps("The capital of France is Paris.", "minilm")
    dec = attention.attention_maps("The capital of France is", "smollm2-135m")
    return f"MiniLM {len(enc.tokens)} tokens; SmolLM2 {len(dec.tokens)} tokens"


def _chat() -> str:
    from core.chat.conversation import GenerationSettings, reply

    text = reply([{"role": "user", "content": "What is the capital of France?"}],
                 settings=GenerationSettings(max_new_tokens=16))
    if not text.strip():
        raise ValueError("the chat model answered nothing")
    return repr(text[:60])


def _tts() -> str:
    from core import tts

    speech = tts.synthesize(SENTENCE)
    return f"{speech.duration:.1f} s of audio at {speech.sample_rate} Hz"


def _whisper() -> str:
    from core import asr, tts

    speech = tts.synthesize(SENTENCE)  # a round trip: Piper speaks, Whisper listens
    heard = asr.transcribe((speech.sample_rate, speech.audio)).text
    wer = asr.word_error_rate(SENTENCE, heard)
    if wer > 0.5:  # a working model hears most of a clear synthetic sentence
        raise ValueError(f"Whisper heard {heard!r} for {SENTENCE!r} (WER {wer:.0%})")
    return f"heard {heard.strip()!r} (WER {wer:.0%})"


def _image_search() -> str:
    from core import image_search

    result = image_search.search_text("a cat", 3)
    if not result.hits:
        raise ValueError("the shipped gallery gave no results")
    return f"'a cat' → {result.hits[0].as_dict().get('file', '?')} (channels: {', '.join(result.channels)})"


def _tokenizer_lab() -> str:
    from core.tokenizer_lab import view as tv

    rows = tv.api_compare(SENTENCE, "smollm2,minilm,whisper", True)
    return f"{len(rows)} tokenizers compared on one sentence"


def _evaluation_lab() -> str:
    from core.evaluation import view as ev

    scores = ev.api_evaluate(["the cat sat on the mat"], [["the cat sat on a mat"]], ["bleu", "wer"], "basic")
    ppl = ev.api_perplexity(SENTENCE, "smollm2-135m")
    bits = ppl.get("bits_per_token")
    return (f"BLEU {scores['bleu']['score']:.1f}, WER {scores['wer']['wer']:.0%}; "
            f"SmolLM2 {bits:.2f} bits per token" if isinstance(bits, (int, float)) else "SmolLM2 perplexity computed")


def _text_lab() -> str:
    from core.text_lab import data, vectorize

    docs = data.lee_corpus()
    rep = vectorize.vectorize(docs, "tfidf", vectorize.Settings(stop_words=True))
    top = [t for t, _ in vectorize.top_terms(rep, 0, 3)]
    labelled = data.sentiment_sentences()
    return (f"TF-IDF over {len(docs)} Lee articles ({len(rep.vocabulary):,} terms), article 1's top terms: "
            f"{', '.join(top)}; "
            f"{len(labelled.texts)} labelled review snippets")


def _sequence_lab() -> str:
    from core.sequence_lab import corpus
    from core.sequence_lab.view import ngram_api

    text = corpus.default_text()
    held_out = corpus.held_out_text()[:5000]
    r = ngram_api(text, order=3, held_out=held_out, n_samples=1)
    return (f"trigram on {len(text):,} characters of Shakespeare: held-out perplexity "
            f"{r['held_out_perplexity']:.0f}, vocabulary {r['vocab_size']:,}")


def _decoding_lab() -> str:
    from core.decoding.view import decode_api

    greedy = decode_api("The capital of France is", "greedy", max_new_tokens=6)
    beam = decode_api("The capital of France is", "beam", max_new_tokens=6, num_beams=3)
    return f"greedy {greedy['text'].strip()!r}; beam 3 {beam['text'].strip()!r}"


def _transformer_lab() -> str:
    from core.transformer_lab.train import LabSettings, train

    st = train(LabSettings(steps=30, layers=1, d_model=32, context=16, batch_size=16)).status()
    if st.error:
        raise ValueError(st.error)
    losses = st.losses
    if not losses or losses[-1] >= losses[0]:  # 30 steps at the default rate always lower it from chance
        raise ValueError(f"a 30-step run did not lower the loss ({losses[:1]} → {losses[-1:]})")
    return f"30 training steps of a 1-layer model: loss {losses[0]:.2f} → {losses[-1]:.2f}"


def _preference_lab() -> str:
    import torch

    from core.chat.conversation import DEFAULT_MODEL
    from core.chat.lora import LoraSettings
    from core.chat.lora_train import prepare
    from core.preference.dpo import encode_pairs, sequence_logps
    from core.preference.pairs import PRESETS

    pairs = next(iter(PRESETS.values()))[:2]
    model, tokenizer = prepare(DEFAULT_MODEL, LoraSettings())
    model.eval()
    with torch.no_grad():
        logps = sequence_logps(model, *encode_pairs(tokenizer, pairs)).tolist()
    return (f"SmolLM2 + LoRA scores {len(pairs)} preference pairs: log p(chosen) {logps[0]:.1f}, "
            f"log p(rejected) {logps[len(pairs)]:.1f}")


def _models_panel() -> str:
    rows = models.status()
    return f"{len(rows)} models listed"


ACTIONS: dict[str, tuple[str, Callable[[], str]]] = {
    "embeddings": ("GloVe neighbours, MiniLM sentence search", _embeddings),
    "attention": ("MiniLM and SmolLM2 attention maps", _attention),
    "chat": ("SmolLM2 reply", _chat),
    "tts": ("Piper speaks a sentence", _tts),
    "whisper": ("Whisper transcribes Piper's sentence", _whisper),
    "image_search": ("text search over the shipped gallery", _image_search),
    "tokenizer_lab": ("three tokenizers on one sentence", _tokenizer_lab),
    "evaluation_lab": ("BLEU/WER of a sentence, SmolLM2 perplexity", _evaluation_lab),
    "text_lab": ("TF-IDF of the Lee corpus, review snippets", _text_lab),
    "sequence_lab": ("a trigram on Shakespeare, held-out perplexity", _sequence_lab),
    "decoding_lab": ("SmolLM2 greedy and beam search", _decoding_lab),
    "transformer_lab": ("30 training steps of a tiny Transformer", _transformer_lab),
    "preference_lab": ("SmolLM2 + LoRA scores preference pairs", _preference_lab),
    "models_panel": ("the Models panel", _models_panel),
}


def _run(tab: str, action: str, fn: Callable[[], str]) -> Check:
    start = time.perf_counter()
    try:
        detail, ok = fn(), True
    except Exception as exc:  # noqa: BLE001 - every failure is reported, with its message
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return Check(tab, action, ok, time.perf_counter() - start, detail)


def check_models(keys: list[str] | None = None) -> list[Check]:
    """Load every model whose weights are on this machine (all offline defaults must be), and ask
    the language-model server (NLP_STUDIO_LLM_URL) for its models when one is configured."""
    from core.chat import llm_server

    out = []
    if llm_server.current() is not None:
        out.append(_run("llm server", "GET /v1/models", lambda: f"serves {', '.join(llm_server.list_models())}; "
                        + llm_server.where_markdown().replace("**", "").replace("`", "")))
    for key in keys or list(MODELS):
        spec = MODELS[key]
        try:
            models.locate(key)
        except models.ModelMissingError as exc:
            # An offline default (it ships in a package) must be here; a hub model is optional.
            if spec.package:
                out.append(Check(f"model {key}", "missing", False, 0.0, str(exc)))
            else:
                out.append(Check(f"model {key}", "optional, not here", True, 0.0,
                                 f"python -m core.download {key}  ({spec.size_mb:.0f} MB, needs internet)"))
            continue
        out.append(_run(f"model {key}", "load", lambda key=key: f"{models.load(key).source.kind}"))
    return out


def check_tabs(tabs: list[str] | None = None) -> list[Check]:
    """One real action per tab (every tab of apps.tabs.TABS that has one here)."""
    from apps.tabs import TABS

    out = []
    for tab in tabs or list(TABS):
        if tab not in TABS:
            raise ValueError(f"unknown tab {tab!r}; tabs: {', '.join(TABS)}")
        if tab == "home":
            continue
        if tab not in ACTIONS:
            out.append(Check(tab, "no readiness check for this tab yet", True, 0.0, "not checked"))
            continue
        action, fn = ACTIONS[tab]
        out.append(_run(tab, action, fn))
    return out


def report(checks: list[Check]) -> str:
    lines = [f"{'':3}{'what':28} {'action':44} {'seconds':>8}  result"]
    for c in checks:
        mark = "ok" if c.ok else "!!"
        lines.append(f"{mark:3}{c.tab:28} {c.action[:44]:44} {c.seconds:8.2f}  {c.detail}")
    failed = [c for c in checks if not c.ok]
    lines.append("")
    lines.append(f"READY: every tab answered ({len(checks)} checks)." if not failed else
                 f"NOT READY: {len(failed)} check(s) failed: {', '.join(c.tab for c in failed)}. "
                 "Each line marked !! says what is wrong and how to fix it.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.doctor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", nargs="*", help="only these tab ids (default: every tab)")
    parser.add_argument("--no-models", action="store_true", help="skip loading every model up front")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    checks = [] if args.no_models or args.tabs else check_models()
    checks += check_tabs(args.tabs)
    print(report(checks))
    print(f"({time.perf_counter() - start:.1f} s in all)")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
