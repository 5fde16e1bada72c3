"""Cross-modal RAG: a (spoken) question -> image search -> a grounded answer -> speech.

The pipeline reuses the studio's cores: `core.asr.whisper` (Whisper), `core.image_search.pipeline`, `core.chat.conversation`
(SmolLM2) and `core.tts.pipeline` (Piper). A 135M chat model cannot be trusted to cite, so the answer
has two parts kept apart everywhere they are shown:
  - `citations` / `sources_text`: built deterministically from the retrieval (which items, with
    their captions and tags). Always correct about what was found.
  - `model_text`: the chat model's own phrasing, given the question and the numbered items.
Every step is timed: asr, embed, search, speak (the sources: the first answer audio), generate,
speak model (the model's sentence).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from core import config
from core.image_search import pipeline as search_mod

SYSTEM_PROMPT = ("You answer questions about a small collection of pictures. Use only the numbered "
                 "pictures listed. Name the picture you mean by its number in brackets, like [1]. "
                 "Answer in one short sentence.")
CITE_RATIO = 0.8  # cite the best item, and others scoring at least this fraction of its score


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] the prompt and the answer use
    key: str  # file name
    subject: str  # caption, else its top tags
    score: float
    tags: list[tuple[str, float]]


@dataclass
class Answer:
    question: str  # what was asked (the transcript for a spoken question)
    query: str  # what was searched for
    model_text: str  # the chat model's words (may be wrong; shown as such)
    citations: list[Citation]  # from the retrieval, not from the model
    sources_text: str  # the citations as one sentence
    spoken_text: str  # what was spoken
    messages: list[dict]  # the exact prompt the chat model got
    hits: list  # core.image_search.pipeline.Hit, best first
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds
    sample_rate: int = 0
    audio: np.ndarray | None = None  # the sources sentence: float32 mono, None when speech was off
    model_audio: np.ndarray | None = None  # the model's sentence, same sample rate
    first_audio_s: float = 0.0  # from the question to the first answer audio being ready
    total_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Model words, then the deterministic sources."""
        return f"{self.model_text}\n\n{self.sources_text}".strip()

    def as_dict(self) -> dict:
        return {"question": self.question, "query": self.query, "answer": self.text,
                "model_text": self.model_text, "sources_text": self.sources_text,
                "citations": [{"n": c.n, "file": c.key, "subject": c.subject, "score": round(c.score, 4)}
                              for c in self.citations],
                "items": [h.as_dict() for h in self.hits], "prompt": self.messages,
                "timings": {k: round(v, 3) for k, v in self.timings.items()},
                "first_audio_s": round(self.first_audio_s, 3), "total_s": round(self.total_s, 3),
                "notes": self.notes}


def subject(hit) -> str:
    """What an item shows, in words: its caption, else its top tags."""
    if hit.caption:
        return hit.caption.rstrip(".")
    if hit.tags:
        return "tagged " + ", ".join(label for label, _ in hit.tags[:3])
    return hit.key


def build_messages(question: str, hits: list) -> list[dict]:
    """The chat prompt: the numbered items (file, caption, tags, score), then the question."""
    lines = []
    for n, h in enumerate(hits, 1):
        tags = ", ".join(f"{label} ({p:.0%})" for label, p in h.tags[:3]) or "none"
        caption = f" Caption: {h.caption}" if h.caption else ""
        lines.append(f"[{n}] {h.key}.{caption} Tags: {tags}. Match score {h.score:.2f}.")
    user = "Pictures found, best match first:\n" + "\n".join(lines) + f"\n\nQuestion: {question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def choose_citations(hits: list) -> list[Citation]:
    """The best item, plus those within CITE_RATIO of its score (up to RAG_CONTEXT_ITEMS)."""
    if not hits:
        return []
    top = hits[0].score
    chosen = [h for h in hits[:config.RAG_CONTEXT_ITEMS] if h is hits[0] or (top > 0 and h.score >= CITE_RATIO * top)]
    return [Citation(n, h.key, subject(h), h.score, h.tags) for n, h in enumerate(hits, 1) if h in chosen]


def sources_sentence(citations: list[Citation]) -> str:
    if not citations:
        return "No pictures matched."
    parts = [f"[{c.n}] {c.key}: {c.subject}" for c in citations]
    return "Best match " + parts[0] + (". Also: " + "; ".join(parts[1:]) if len(parts) > 1 else "") + "."


def spoken_sources(citations: list[Citation]) -> str:
    """What is said first, before the model runs: the best match (always right about the search)."""
    if not citations:
        return "I found no matching picture."
    c = citations[0]
    return f"The best match is picture {c.n}, {re.sub(r'[_.]', ' ', c.key.rsplit('.', 1)[0])}: {c.subject}."


def spoken_model(model_text: str) -> str:
    """The model's first sentence, with [n] read as "picture n"."""
    said = re.sub(r"\[(\d+)\]", r"picture \1", model_text).strip()
    return re.split(r"(?<=[.!?])\s", said)[0] if said else ""


def generate(messages: list[dict], chat_model: str = "smollm2-135m") -> str:
    """The chat model's answer, greedy, stopped at the end of its first full sentence (the
    spoken answer uses one sentence, and a small model's later sentences mostly wander)."""
    from core.chat.conversation import GenerationSettings, stream_reply

    settings = GenerationSettings(temperature=0.0, max_new_tokens=config.RAG_MAX_NEW_TOKENS,
                                  system_prompt=SYSTEM_PROMPT)
    text = ""
    stream = stream_reply(messages, model=chat_model, settings=settings)
    try:
        for text in stream:
            if len(text) > 20 and re.search(r"[.!?](\s|$)", text[20:]):
                break
    finally:
        stream.close()  # stops generation within one token
    end = re.search(r"[.!?](\s|$)", text[20:])
    return (text[:20 + end.start() + 1] if end else text).strip()


def ask_steps(question: str = "", audio=None, gallery: str = "", k: int = 4, weights: dict | None = None,
              chat_model: str = "smollm2-135m", speak: bool = True, asr_model: str = "whisper-tiny.en",
              voice: str = "piper-joe") -> Iterator[Answer]:
    """Answer a question about a gallery, yielding the Answer twice: once the sources are
    found and spoken (model_text still empty), then complete. `audio` (a path, (sr, samples)
    or float32 16 kHz) is transcribed when given and `question` is empty.

    The first answer audio is the deterministic best-match sentence, so a listener hears a
    correct answer before the chat model has run; its sentence follows as `model_audio`.
    """
    timings: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    question = (question or "").strip()
    if not question and audio is not None:
        from core import asr
        from core.audio import as_audio

        samples = as_audio(audio)
        if samples.size / 16000 > config.RAG_MAX_AUDIO_SECONDS:
            raise ValueError(f"the recording is {samples.size / 16000:.0f} s; ask in under "
                             f"{config.RAG_MAX_AUDIO_SECONDS:.0f} s (NLP_STUDIO_RAG_MAX_AUDIO_SECONDS)")
        start = time.perf_counter()
        question = asr.transcribe(samples, model=asr_model).text.strip()
        timings["asr"] = time.perf_counter() - start
        if not re.search(r"[A-Za-z]{2}", question):
            raise ValueError("I could not make out any words in that recording. Speak closer to the "
                             "microphone, or type the question.")
    if not question:
        raise ValueError("ask a question: type it, or record or upload audio")

    clip, note = search_mod.clip_status()
    if note:
        notes.append(note)
    g = search_mod.get_gallery(gallery)
    start = time.perf_counter()
    terms = search_mod.parse_query(question)
    names = [c for c in g.vectors if clip is not None or not c.startswith("clip:")]
    vectors = search_mod.query_vectors(terms, names, clip=clip)
    timings["embed"] = time.perf_counter() - start
    start = time.perf_counter()
    result = search_mod.search(g, terms, k, weights, clip=clip, vectors=vectors)
    timings["search"] = time.perf_counter() - start
    notes += result.notes

    hits = result.hits[:max(config.RAG_CONTEXT_ITEMS, 1)]
    messages = build_messages(question, hits)
    citations = choose_citations(hits)
    answer = Answer(question, result.query, "", citations, sources_sentence(citations),
                    spoken_sources(citations), messages, result.hits, timings, notes=notes)
    if speak:
        from core.tts.pipeline import synthesize

        start = time.perf_counter()
        speech = synthesize(answer.spoken_text, engine="piper", voice=voice)
        timings["speak"] = time.perf_counter() - start
        answer.first_audio_s = time.perf_counter() - t0
        answer.sample_rate, answer.audio = speech.sample_rate, speech.audio
    yield answer

    start = time.perf_counter()
    answer.model_text = generate(messages, chat_model)
    timings["generate"] = time.perf_counter() - start
    said = spoken_model(answer.model_text)
    if speak and said:
        start = time.perf_counter()
        answer.model_audio = synthesize(said, engine="piper", voice=voice).audio
        timings["speak model"] = time.perf_counter() - start
    answer.spoken_text = f"{answer.spoken_text} {said}".strip()
    answer.total_s = time.perf_counter() - t0
    yield answer


def ask(question: str = "", audio=None, gallery: str = "", k: int = 4, weights: dict | None = None,
        chat_model: str = "smollm2-135m", speak: bool = True, asr_model: str = "whisper-tiny.en",
        voice: str = "piper-joe") -> Answer:
    """The complete answer at once (see `ask_steps`)."""
    answer = None
    for answer in ask_steps(question, audio, gallery, k, weights, chat_model, speak, asr_model, voice):
        pass
    return answer
