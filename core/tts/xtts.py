"""Coqui XTTS v2: speak in a voice cloned from a few seconds of reference audio, in 17 languages.

    ref = load_reference("me.wav")                        # 3 to 30 s of one person speaking
    speech = core.tts.pipeline.synthesize("Hello.", engine="coqui", voice="xtts-v2", reference=ref, language="en")

XTTS is not a phoneme pipeline. Its stages:
1. speaker conditioning: the reference (22,050 Hz) -> a mel-spectrogram -> the GPT's
   conditioning latents [1, 32, 1024] (a perceiver resampler) and, from the same audio at
   16 kHz, a speaker embedding [1, 512, 1] (a ResNet speaker encoder);
2. GPT-2: the text's BPE tokens, after the conditioning latents, -> discrete audio codes, one
   per 1,024 samples at 22,050 Hz (about 46 ms), sampled until a stop code;
3. HiFi-GAN decoder: the GPT's hidden states for those codes, conditioned on the speaker
   embedding -> waveform at 24,000 Hz.
So there are no phonemes (the "phonemes" of a word are its BPE tokens, which cannot be edited),
no per-phoneme durations (XTTS decides timing inside the GPT and exposes no alignment) and no
mel-spectrogram between the stages (the GPT latents go straight to the decoder): the stage data
says so instead of inventing any.

Weights: `python -m core.download xtts-v2` (coqui/XTTS-v2 on the Hugging Face Hub, about 1.8 GB,
Coqui Public Model License: non-commercial use only). Nothing ships offline. `XttsEngine` takes a
model object directly, which is how the tests run this code path on a small random-weight XTTS
(never offered in the app).
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from core import config
from core.models import ModelMissingError
from core.tts.engine import WORD_RE, Reference, Rendered, SynthesisOptions, Word, pick_speaker

XTTS_KEY = "xtts-v2"
CONDITIONING_RATE = 22_050  # XTTS computes its conditioning from 22,050 Hz audio
REF_MIN_SECONDS = config.env_float("NLP_STUDIO_TTS_REF_MIN_SECONDS", 3.0)
REF_MAX_SECONDS = config.env_float("NLP_STUDIO_TTS_REF_MAX_SECONDS", 30.0)  # XTTS uses at most 30 s
REF_SILENCE_DB = -50.0  # quieter than this (RMS, dBFS) is silence, not speech
STAGES = ("speaker conditioning (reference → latents)", "GPT-2 (text tokens → audio codes)",
          "HiFi-GAN decoder (latents → waveform)")
# XTTS v2's languages (its config.json), as (name, code) for a picker
LANGUAGES = (("English", "en"), ("Spanish", "es"), ("French", "fr"), ("German", "de"), ("Italian", "it"),
             ("Portuguese", "pt"), ("Polish", "pl"), ("Turkish", "tr"), ("Russian", "ru"), ("Dutch", "nl"),
             ("Czech", "cs"), ("Arabic", "ar"), ("Chinese", "zh-cn"), ("Hungarian", "hu"), ("Korean", "ko"),
             ("Japanese", "ja"), ("Hindi", "hi"))
NOTE = ("**XTTS v2** (voice cloning): give 3 to 30 s of one person speaking and a language; it speaks the "
        "text in that voice. Stages: reference → conditioning latents and speaker embedding → GPT-2 audio "
        "codes → HiFi-GAN waveform (24 kHz). It reads BPE text tokens, not phonemes (no phoneme edits), and "
        "exposes no durations and no mel-spectrogram; the tab says so rather than inventing them. `noise` is "
        "its sampling temperature (0: greedy). Licence: CPML, non-commercial use only.")
HOW_TO_GET = ("XTTS v2 needs a download: `python -m core.download xtts-v2` (about 1.8 GB from coqui/XTTS-v2, "
              "Coqui Public Model License: non-commercial use only), or set NLP_STUDIO_MODEL_XTTS_V2=/folder "
              "holding config.json, model.pth and vocab.json. Piper works offline meanwhile.")


# --------------------------------------------------------------------------------------------
# The reference voice
# --------------------------------------------------------------------------------------------
def load_reference(source, name: str | None = None) -> Reference:
    """A reference voice from a file path, its bytes, a (sample_rate, samples) pair (as a
    microphone gives it) or a `Reference`. Resampled to 22,050 Hz mono. Raises ValueError with
    what to do when it is not audio, too short, too long or silent."""
    from core import audio as au

    if isinstance(source, Reference):
        return source
    if source is None or (isinstance(source, str) and not source.strip()):
        raise ValueError("Voice cloning needs reference audio: upload or record 3 to 30 s of one person speaking.")
    label = name or (Path(source).name if isinstance(source, (str, Path)) else "the reference audio")
    try:
        if isinstance(source, tuple) and len(source) == 2:
            samples = au.from_array(np.asarray(source[1]), int(source[0]), CONDITIONING_RATE)
        elif isinstance(source, np.ndarray):
            raise ValueError("give a reference array as (sample_rate, samples), so its rate is known")
        else:
            samples = au.load_audio(source, CONDITIONING_RATE)
    except ValueError as exc:
        raise ValueError(f"The reference audio could not be used: {exc}") from None
    seconds = len(samples) / CONDITIONING_RATE
    if seconds < REF_MIN_SECONDS:
        raise ValueError(f"The reference audio is {seconds:.1f} s long; XTTS needs at least {REF_MIN_SECONDS:.0f} s "
                         "of one person speaking (6 to 30 s clones best). Record or upload a longer clip.")
    if seconds > REF_MAX_SECONDS:
        raise ValueError(f"The reference audio is {seconds:.0f} s long; the limit is {REF_MAX_SECONDS:.0f} s "
                         "(XTTS uses no more). Cut it to the clearest 6 to 30 s of one person speaking "
                         "(NLP_STUDIO_TTS_REF_MAX_SECONDS).")
    loudness = au.rms_db(samples)
    if loudness < REF_SILENCE_DB:
        raise ValueError(f"The reference audio is silent ({loudness:.0f} dBFS): check the microphone or the file, "
                         "then record or upload a clip of someone speaking.")
    key = hashlib.sha1(samples.tobytes()).hexdigest()
    return Reference(audio=samples.astype(np.float32), sample_rate=CONDITIONING_RATE, key=key, name=label)


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------
class XttsEngine:
    """An XTTS model (coqui `Xtts`, eval mode, tokenizer loaded) behind the `core.tts.pipeline` engine
    interface. `language` is per call (`SynthesisOptions.language`); the voice is a `reference`
    to clone or one of the model's built-in speakers."""

    name = "xtts"
    language = "en"  # the default; any of `languages()` per call

    def __init__(self, model, voice: str = XTTS_KEY, cache_size: int = 8):
        self.model = model
        self.voice = voice
        self.sample_rate = int(model.args.output_sample_rate)  # 24,000
        self._lock = threading.Lock()  # the GPT keeps its conditioning prefix on itself while it generates
        self._conditioning: OrderedDict[str, tuple] = OrderedDict()  # reference key -> (latents, embedding)
        self._cache_size = cache_size
        _accept_cache_kwarg(model)

    def languages(self) -> list[str]:
        return [str(code) for code in self.model.config.languages]

    def max_chars(self, language: str | None) -> int:
        """Longest sentence to send at once: XTTS' own per-language limit (250 for English; it
        warns and may cut the audio short beyond it), at most TTS_MAX_SENTENCE_CHARS."""
        code = (language or self.language).split("-")[0]
        return min(config.TTS_MAX_SENTENCE_CHARS, int(self.model.tokenizer.char_limits.get(code, 250)))

    def speakers(self) -> list[str]:
        """The built-in studio speakers (speakers_xtts.pth beside the checkpoint), if any."""
        manager = getattr(self.model, "speaker_manager", None)
        return sorted(manager.speakers) if manager is not None and getattr(manager, "speakers", None) else []

    # -- "grapheme to phoneme": XTTS reads BPE text tokens ------------------------------------
    def _pieces(self, word: str, language: str = "en") -> str:
        tok = self.model.tokenizer
        try:
            text = tok.preprocess_text(word, language.split("-")[0])
        except NotImplementedError:
            text = word.lower()
        ids = tok.tokenizer.encode(text.replace(" ", "[SPACE]")).ids
        pieces = [tok.tokenizer.id_to_token(i) or "?" for i in ids]
        return "·".join(p.replace("[SPACE]", "_") for p in pieces)

    def analyze(self, sentence: str) -> list[Word]:
        """One `Word` per word; its "phonemes" are the BPE tokens XTTS reads (joined by ·)."""
        out = []
        for match in WORD_RE.finditer(sentence):
            after = sentence[match.end():]
            punct = re.match(r"[\"')\]]*([.,;:!?]*)", after).group(1)[:1]
            out.append(Word(text=match.group(), phonemes=self._pieces(match.group()), punct=punct))
        return out

    def check_phonemes(self, phonemes: str) -> None:
        raise ValueError("XTTS reads text as BPE tokens, not IPA, so phoneme edits do not apply; they work "
                         "with Piper and Coqui's Glow-TTS / Tacotron2. Change the text instead.")

    # -- the three stages -------------------------------------------------------------------------
    def _language(self, options: SynthesisOptions) -> str:
        language = (options.language or self.language).strip().lower()
        known = self.languages()
        if language not in known and language.split("-")[0] not in known:
            raise ValueError(f"XTTS does not speak {language!r}; its languages: {', '.join(known)}")
        return language if language in known else language.split("-")[0]

    def conditioning(self, options: SynthesisOptions):
        """(GPT conditioning latents [1, 32, d], speaker embedding [1, 512, 1], seconds spent):
        from the reference (cached per reference), else from a built-in speaker."""
        import torch

        model = self.model
        if options.reference is not None:
            if options.speaker not in (None, ""):
                raise ValueError("Give either reference audio to clone or a built-in speaker, not both.")
            ref = options.reference
            with self._lock:
                hit = self._conditioning.get(ref.key)
                if hit is not None:
                    self._conditioning.move_to_end(ref.key)
                    return (*hit, 0.0)
            t0 = time.perf_counter()
            audio = torch.from_numpy(ref.audio)[None].to(model.device)
            with self._lock, torch.inference_mode():
                latents = model.get_gpt_cond_latents(audio, ref.sample_rate, length=model.config.gpt_cond_len,
                                                     chunk_length=model.config.gpt_cond_chunk_len)
                embedding = model.get_speaker_embedding(audio, ref.sample_rate)
                self._conditioning[ref.key] = (latents, embedding)
                while len(self._conditioning) > self._cache_size:
                    self._conditioning.popitem(last=False)
            return latents, embedding, time.perf_counter() - t0
        names = self.speakers()
        if options.speaker in (None, ""):
            hint = f", or pick one of its {len(names)} built-in speakers" if names else ""
            raise ValueError(f"XTTS clones a voice: upload or record 3 to 30 s of reference audio{hint}.")
        index = pick_speaker(options.speaker, names, self.voice)
        latents, embedding = model.speaker_manager.speakers[names[index]].values()
        return latents, embedding, 0.0

    def render(self, words: list[Word], options: SynthesisOptions) -> Rendered:
        import torch
        import torch.nn.functional as F

        model = self.model
        language = self._language(options)
        latents, embedding, t_cond = self.conditioning(options)
        text = " ".join(w.text + w.punct for w in words).strip().lower()
        tokens = model.tokenizer.encode(text, lang=language)
        limit = int(model.args.gpt_max_text_tokens)
        if len(tokens) >= limit:
            raise ValueError(f"This sentence is {len(tokens)} XTTS tokens; the limit is {limit - 1}. Split it "
                             "into shorter sentences (or lower NLP_STUDIO_TTS_MAX_SENTENCE_CHARS).")
        cfg = model.config
        sample = options.noise is None or options.noise > 0
        settings = dict(do_sample=sample, top_p=cfg.top_p, top_k=cfg.top_k, length_penalty=cfg.length_penalty,
                        repetition_penalty=cfg.repetition_penalty, num_beams=1, output_attentions=False,
                        num_return_sequences=1)
        if sample:  # `noise` is XTTS' sampling temperature; 0 means greedy
            settings["temperature"] = cfg.temperature if options.noise is None else options.noise
        device = model.device
        x = torch.IntTensor(tokens)[None].to(device)
        latents, embedding = latents.to(device), embedding.to(device)
        with self._lock, torch.inference_mode():
            t0 = time.perf_counter()
            codes = model.gpt.generate(cond_latents=latents, text_inputs=x, **settings)
            hidden = model.gpt(x, torch.tensor([x.shape[-1]], device=device), codes,
                               torch.tensor([codes.shape[-1] * model.gpt.code_stride_len], device=device),
                               cond_latents=latents, return_attentions=False, return_latent=True)
            if options.rate != 1.0:  # XTTS' own speed control: stretch the latents in time
                hidden = F.interpolate(hidden.transpose(1, 2), scale_factor=1.0 / options.rate,
                                       mode="linear").transpose(1, 2)
            t1 = time.perf_counter()
            wav = model.hifigan_decoder(hidden, g=embedding).float().cpu().numpy().reshape(-1)
            t2 = time.perf_counter()
        peak = float(np.max(np.abs(wav))) if wav.size else 0.0
        if peak > 1.0:
            wav = wav / peak
        return Rendered(audio=wav.astype(np.float32), phoneme_samples=None,
                        stage_seconds={STAGES[0]: t_cond, STAGES[1]: t1 - t0, STAGES[2]: t2 - t1})


def _accept_cache_kwarg(model) -> None:
    """transformers 5 passes the key/value cache to a model's forward as `cache=`; coqui-tts
    0.28's GPT2InferenceModel still reads `past_key_values` and fails on the second generated
    code ('NoneType' object has no attribute 'get_seq_length'). Hand it over under the old name."""
    gpt = getattr(model, "gpt", None)
    inference = getattr(gpt, "gpt_inference", None)
    if inference is None or getattr(inference, "_nlp_studio_cache_kwarg", False):
        return
    forward = inference.forward

    def forward_with_cache(*args, cache=None, past_key_values=None, **kwargs):
        return forward(*args, past_key_values=past_key_values if past_key_values is not None else cache, **kwargs)

    inference.forward = forward_with_cache
    inference._nlp_studio_cache_kwarg = True


# --------------------------------------------------------------------------------------------
# Loading the real model
# --------------------------------------------------------------------------------------------
def load_xtts(path: Path, device: str) -> XttsEngine:
    """Registry loader: the coqui/XTTS-v2 folder (config.json, model.pth, vocab.json, and
    speakers_xtts.pth for the built-in speakers)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    missing = [f for f in ("config.json", "model.pth", "vocab.json") if not (folder / f).is_file()]
    if missing:
        raise ModelMissingError(f"{folder} lacks {', '.join(missing)}. {HOW_TO_GET}")
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    cfg = XttsConfig()
    cfg.load_json(str(folder / "config.json"))
    model = Xtts.init_from_config(cfg)
    model.load_checkpoint(cfg, checkpoint_dir=str(folder), eval=True)
    if device.startswith("cuda"):
        model = model.to(device)
    return XttsEngine(model, XTTS_KEY)


def is_available() -> bool:
    from core import models

    try:
        models.locate(XTTS_KEY)  # a question, never a download
        return True
    except ModelMissingError:
        return False


def get_xtts_engine(voice: str | None = None) -> XttsEngine:
    """The XTTS v2 engine, loaded once per process; ModelMissingError says how to get it."""
    from core import models

    if voice not in (None, "", XTTS_KEY):
        raise ValueError(f"Unknown XTTS voice {voice!r}: the XTTS model is {XTTS_KEY}; the voice itself comes "
                         "from reference audio")
    try:
        return models.get(XTTS_KEY)
    except ModelMissingError as exc:
        # "not on this machine" is what HOW_TO_GET says; anything else (a bad override path) is added
        detail = "" if str(exc).startswith("The weights of") else f" ({exc})"
        raise ModelMissingError(HOW_TO_GET + detail) from None
