"""Piper voices (VITS exported to ONNX) behind the `core.tts.pipeline` engine interface.

End to end: phonemes go straight to a waveform, so there is no mel stage. The ONNX graph is
patched in memory to also output how many samples each phoneme lasts (VITS' duration
predictor), which gives word and phoneme timings. Phonemes come from Piper's own espeak-ng.
"""
from __future__ import annotations

import json
import threading
import unicodedata
from pathlib import Path

import numpy as np

from core import config
from core.tts.engine import Rendered, SynthesisOptions, Word, pick_speaker, words_from_phonemes


class PiperEngine:
    """A Piper voice. Phonemes by Piper's own espeak-ng; audio and per-phoneme durations from
    the VITS model (`include_alignments` patches the ONNX graph to output them)."""

    name = "piper"

    def __init__(self, voice, key: str):
        self._voice = voice
        self.voice = key
        self.sample_rate = int(voice.config.sample_rate)
        self.language = str(voice.config.espeak_voice)
        self._id_map = voice.config.phoneme_id_map

    def speakers(self) -> list[str]:
        cfg = self._voice.config
        if cfg.num_speakers <= 1:
            return []
        names = [str(i) for i in range(cfg.num_speakers)]
        for name, i in cfg.speaker_id_map.items():
            if 0 <= int(i) < len(names):
                names[int(i)] = str(name)
        return names

    def _phonemize(self, text: str) -> str:
        sentences = self._voice.phonemize(text)
        return " ".join("".join(s) for s in sentences)

    def analyze(self, sentence: str) -> list[Word]:
        return words_from_phonemes(sentence, self._phonemize(sentence), self._phonemize)

    def check_phonemes(self, phonemes: str) -> None:
        for ch in unicodedata.normalize("NFD", phonemes):
            if ch not in self._id_map or ch in "^$_":
                shown = f"U+{ord(ch):04X}" if unicodedata.combining(ch) else repr(ch)
                raise ValueError(f"symbol {shown} is not in this voice's phoneme set; use IPA symbols "
                                 f"it knows, such as {' '.join(_sample_symbols(self._id_map))}")

    def phoneme_list(self, words: list[Word]) -> tuple[list[str], list[int]]:
        """Piper's phoneme list (NFD code points) and, for each, the word it belongs to."""
        phonemes: list[str] = []
        owner: list[int] = []
        for i, w in enumerate(words):
            if i:
                phonemes.append(" ")
                owner.append(-1)
            for ch in unicodedata.normalize("NFD", w.phonemes):
                phonemes.append(ch)
                owner.append(i)
            for ch in w.punct:
                phonemes.append(ch)
                owner.append(-1)
        keep = [k for k, p in enumerate(phonemes) if p in self._id_map]  # as Piper does: skip unknown
        return [phonemes[k] for k in keep], [owner[k] for k in keep]

    def render(self, words: list[Word], options: SynthesisOptions) -> Rendered:
        from piper.config import SynthesisConfig
        from piper.const import BOS, EOS, PAD

        phonemes, owner = self.phoneme_list(words)
        ids = self._voice.phonemes_to_ids(phonemes)
        syn = SynthesisConfig(speaker_id=pick_speaker(options.speaker, self.speakers(), self.voice),
                              length_scale=1.0 / options.rate, noise_scale=options.noise,
                              noise_w_scale=options.noise_w)
        # ONNX Runtime sessions are thread-safe: users' runs go in parallel (see onnx_session_options)
        result = self._voice.phoneme_ids_to_audio(ids, syn, include_alignments=True)
        audio, per_id = result if isinstance(result, tuple) else (result, None)
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        audio = (audio / peak if peak > 1e-8 else np.zeros_like(audio)).astype(np.float32)
        timings = None
        if per_id is not None and len(per_id) == len(ids):
            # ids are BOS PAD (p PAD)* EOS: give each phoneme its own ids and the PAD after it.
            pad = len(self._id_map[PAD])
            spans = [(BOS, len(self._id_map[BOS]) + pad, -1)]
            spans += [(p, len(self._id_map[p]) + pad, o) for p, o in zip(phonemes, owner)]
            spans.append((EOS, len(self._id_map[EOS]), -1))
            timings, k = [], 0
            for p, n_ids, o in spans:
                timings.append((p, int(np.sum(per_id[k:k + n_ids])), o))
                k += n_ids
            total = sum(t[1] for t in timings)
            if total != len(audio) and timings:  # keep the sum exact: the remainder goes to EOS
                p, n, o = timings[-1]
                timings[-1] = (p, max(0, n + len(audio) - total), o)
            timings = tuple(timings)
        return Rendered(audio=audio, phoneme_samples=timings)


def _sample_symbols(id_map) -> list[str]:
    return [s for s in ("a", "i", "u", "ə", "ɪ", "ʊ", "ɛ", "æ", "ɑ", "ɔ", "θ", "ð", "ʃ", "ŋ", "ɹ", "ˈ", "ˌ", "ː")
            if s in id_map]


def load_piper(path: Path, device: str):
    """Registry loader: a Piper voice (.onnx beside its .onnx.json), with duration outputs."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.onnx"))
        if not found:
            raise ValueError(f"{path} has no .onnx Piper voice in it")
        path = found[0]
    if not path.is_file():
        raise ValueError(f"No Piper voice at {path}: give the path of a .onnx file")
    if not Path(f"{path}.json").is_file():
        raise ValueError(f"{path} needs its config {path.name}.json beside it (Piper voices come as a pair)")
    try:
        return _load_piper_voice(path, device)
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a Piper voice ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # onnx / onnxruntime raise their own types for a broken model
        if type(exc).__module__.split(".")[0] in ("onnxruntime", "onnx", "google"):
            raise ValueError(f"{path} is not a loadable ONNX voice: {exc}") from exc
        raise


def onnx_session_options():
    """ONNX Runtime settings for voices. NLP_STUDIO_TTS_THREADS=0 (default) keeps ONNX Runtime's
    own threading, fastest on a quiet machine (2 idle cores: RTF 0.063 vs 0.102 with one thread).
    N >= 1 gives N threads per run and no spin-waiting: several users' runs then go in parallel and
    a busy shared CPU is not burnt spinning (2 loaded cores: RTF 0.53 default, 0.30 with 1)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    if config.TTS_THREADS > 0:
        opts.intra_op_num_threads = config.TTS_THREADS
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def _load_piper_voice(path: Path, device: str):
    """PiperVoice.load(include_alignments=True), with our session options: the graph is patched
    in memory to also output each phoneme's length (Piper's own helper does the patching)."""
    import onnx
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(str(path))
    try:
        add_alignment_output(model)
    except ValueError:  # already patched, or no duration tensor: audio still works, timings do not
        pass
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    session = onnxruntime.InferenceSession(model.SerializeToString(), sess_options=onnx_session_options(),
                                           providers=providers)
    config_dict = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    return PiperVoice(config=PiperConfig.from_dict(config_dict), session=session)


_path_voices: dict[str, PiperEngine] = {}
_path_lock = threading.Lock()


def piper_engine(voice: str) -> PiperEngine:
    from core import models
    from core.registry import MODELS

    if voice in MODELS:
        if MODELS[voice].task != "tts" or MODELS[voice].loader != "core.tts.pipeline:load_piper":
            raise ValueError(f"{voice} is not a Piper voice; Piper voices: {', '.join(piper_voices())}")
        loaded = models.get(voice)
        with _path_lock:
            engine = _path_voices.get("key:" + voice)
            if engine is None or engine._voice is not loaded:
                engine = _path_voices["key:" + voice] = PiperEngine(loaded, voice)
        return engine
    if not (voice.endswith(".onnx") or "/" in voice):  # a folder holding one voice is a path too
        raise ValueError(f"Unknown voice {voice!r}: use one of {', '.join(piper_voices())} or the path of "
                         "a Piper .onnx voice file")
    from core.file_roots import check_path

    path = check_path(voice, "voice file")  # a public server reads voices from its allowed folders only
    if not path.exists():
        raise ValueError(f"No Piper voice at {voice}: the file does not exist")
    with _path_lock:
        key = str(path.resolve())
        if key not in _path_voices:
            from core.device import get_device

            _path_voices[key] = PiperEngine(load_piper(path, get_device()), str(path))
        return _path_voices[key]


def piper_voices() -> list[str]:
    from core.registry import MODELS

    return [k for k, s in MODELS.items() if s.loader == "core.tts.pipeline:load_piper"]
