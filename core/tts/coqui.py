"""The two-stage TTS pipeline with Coqui TTS (`coqui-tts`): an acoustic model turns phonemes into
a mel-spectrogram, a separate neural vocoder (HiFi-GAN) turns the mel into a waveform.

    engine = get_coqui_engine("coqui-glow-tts")          # after `python -m core.tts.coqui download`
    speech = core.tts.pipeline.synthesize("Hello.", engine=engine)
    speech.mel                                            # [80, frames], the acoustic model's own

No Coqui weights ship in a package, so nothing here works offline until the models are fetched
with Coqui's own model manager (`python -m core.tts.coqui download coqui-glow-tts`, about 400 MB,
into Coqui's data folder, ~/.local/share/tts). A local pair of folders also works:
`NLP_STUDIO_COQUI_<NAME>=/path` pointing at a folder with `acoustic/` and `vocoder/`, each holding
config.json and a .pth checkpoint. `CoquiEngine` takes model objects directly, which is how the
tests run this code path on small random-weight models (never shown in the app).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from core.models import ModelMissingError
from core.tts.engine import Rendered, SynthesisOptions, Word, pick_speaker, words_from_phonemes

# name -> (acoustic model, vocoder) in Coqui's model catalogue (TTS/.models.json)
COQUI_VOICES: dict[str, tuple[str, str]] = {
    "coqui-glow-tts": ("tts_models/en/ljspeech/glow-tts", "vocoder_models/en/ljspeech/hifigan_v2"),
    "coqui-tacotron2": ("tts_models/en/ljspeech/tacotron2-DDC", "vocoder_models/en/ljspeech/hifigan_v2"),
}
_engines: dict[str, "CoquiEngine"] = {}
_engines_lock = threading.Lock()


class CoquiEngine:
    """Acoustic model + vocoder behind the `core.tts.pipeline.Engine` interface.

    acoustic: a coqui GlowTTS or Tacotron2 model (eval mode) with its `tokenizer`.
    vocoder: a coqui GAN vocoder (HiFi-GAN), eval mode.
    acoustic_ap / vocoder_ap: their `AudioProcessor`s: the acoustic model's mel is denormalized
      with the first and renormalized with the second, since the two were trained apart.
    """

    name = "coqui"

    def __init__(self, acoustic, vocoder, acoustic_ap, vocoder_ap, voice: str, language: str = "en-us"):
        self.acoustic = acoustic
        self.vocoder = vocoder
        self.acoustic_ap = acoustic_ap
        self.vocoder_ap = vocoder_ap
        self.voice = voice
        self.language = language
        self.tokenizer = acoustic.tokenizer
        self.sample_rate = int(acoustic_ap.sample_rate)
        self.hop = int(acoustic_ap.hop_length)
        self._lock = threading.Lock()

    def speakers(self) -> list[str]:
        n = int(getattr(self.acoustic, "num_speakers", 0) or 0)
        if n <= 1:
            return []
        manager = getattr(self.acoustic, "speaker_manager", None)
        names = [str(i) for i in range(n)]
        for name, i in (getattr(manager, "name_to_id", None) or {}).items():
            if 0 <= int(i) < n:
                names[int(i)] = str(name)
        return names

    # -- grapheme to phoneme ------------------------------------------------------------------
    def _clean(self, text: str) -> str:
        cleaner = self.tokenizer.text_cleaner
        return cleaner(text) if cleaner is not None else text

    def _phonemize(self, text: str) -> str:
        phonemizer = self.tokenizer.phonemizer
        if phonemizer is None:  # a character model reads cleaned letters
            return self._clean(text)
        return phonemizer.phonemize(self._clean(text), separator="", language=self.language)

    def analyze(self, sentence: str) -> list[Word]:
        return words_from_phonemes(sentence, self._phonemize(sentence), self._phonemize)

    def check_phonemes(self, phonemes: str) -> None:
        vocab = set(self.tokenizer.characters.vocab)
        for ch in phonemes:
            if ch not in vocab:
                raise ValueError(f"symbol {ch!r} is not in this model's symbol set "
                                 f"({''.join(sorted(c for c in vocab if len(c) == 1))[:80]}...)")

    # -- the two stages -------------------------------------------------------------------------
    def _ids(self, words: list[Word]) -> tuple[list[int], list[tuple[str, int]]]:
        """Token ids, and for each id (symbol, word index or -1), as the tokenizer would build them."""
        tok = self.tokenizer
        chars: list[tuple[str, int]] = []
        for i, w in enumerate(words):
            if i:
                chars.append((" ", -1))
            chars += [(c, i) for c in w.phonemes]
            chars += [(c, -1) for c in w.punct]
        ids, owners = [], []
        for c, o in chars:
            try:
                ids.append(tok.characters.char_to_id(c))
                owners.append((c, o))
            except KeyError:
                continue  # as the tokenizer does: unknown symbols are dropped
        if tok.add_blank:
            ids = tok.intersperse_blank_char(ids)
            spread: list[tuple[str, int]] = [("", -1)] * len(ids)
            spread[1::2] = owners
            owners = spread
        if tok.use_eos_bos:
            ids = tok.pad_with_bos_eos(ids)
            owners = [("^", -1), *owners, ("$", -1)]
        return ids, owners

    def acoustic_stage(self, ids: list[int], options: SynthesisOptions) -> tuple[np.ndarray, np.ndarray]:
        """Stage 1: ids -> (mel [n_mels, frames] normalized as the model was trained, frames per id)."""
        import torch

        model = self.acoustic
        if options.rate != 1.0 and not hasattr(model, "length_scale"):
            raise ValueError(f"{type(model).__name__} has no speaking-rate control (its attention decides "
                             "the timing); set rate to 1, or use Glow-TTS or Piper")
        x = torch.tensor([ids], dtype=torch.long, device=next(model.parameters()).device)
        speaker = pick_speaker(options.speaker, self.speakers(), self.voice)
        if speaker is None and self.speakers():
            speaker = 0
        aux = {"x_lengths": torch.tensor([len(ids)], device=x.device), "d_vectors": None,
               "speaker_ids": None if speaker is None else torch.tensor([speaker], device=x.device)}
        with self._lock, torch.inference_mode():
            saved = getattr(model, "length_scale", None), getattr(model, "inference_noise_scale", None)
            if saved[0] is not None:  # Glow-TTS scales its predicted durations; Tacotron2 cannot
                model.length_scale = saved[0] / options.rate
            if saved[1] is not None and options.noise is not None:
                model.inference_noise_scale = options.noise
            try:
                out = model.inference(x, aux_input=aux)
            finally:
                if saved[0] is not None:
                    model.length_scale = saved[0]
                if saved[1] is not None:
                    model.inference_noise_scale = saved[1]
        mel = out["model_outputs"][0].float().cpu().numpy().T  # [n_mels, frames]
        frames = mel.shape[1]
        align = out["alignments"][0].float().cpu().numpy()  # [decoder steps, ids]
        if align.shape[-1] != len(ids) and align.shape[0] == len(ids):
            align = align.T
        # Each frame goes to the id it attends to most (Glow-TTS's alignment is already hard).
        step_owner = align.argmax(axis=1)
        frame_owner = step_owner[np.minimum((np.arange(frames) * len(step_owner)) // max(frames, 1),
                                            len(step_owner) - 1)]
        per_id = np.bincount(frame_owner, minlength=len(ids))[: len(ids)]
        return mel, per_id

    def vocoder_stage(self, mel_db: np.ndarray) -> np.ndarray:
        """Stage 2: mel [n_mels, frames] in dB -> waveform float32, frames * hop samples."""
        import torch

        voc_in = self.vocoder_ap.normalize(mel_db) if self.vocoder_ap is not None else mel_db
        x = torch.tensor(voc_in[None], dtype=torch.float32, device=next(self.vocoder.parameters()).device)
        with self._lock, torch.inference_mode():
            wav = self.vocoder.inference(x)[0, 0].float().cpu().numpy()
        want = mel_db.shape[1] * self.hop
        pad = max(0, (len(wav) - want) // 2)  # HiFi-GAN pads the mel on both sides at inference
        return wav[pad:pad + want].astype(np.float32)

    def render(self, words: list[Word], options: SynthesisOptions) -> Rendered:
        ids, owners = self._ids(words)
        if not ids:
            raise ValueError("none of these symbols are in the model's symbol set")
        t0 = time.perf_counter()
        mel_norm, per_id = self.acoustic_stage(ids, options)
        mel_db = self.acoustic_ap.denormalize(mel_norm) if self.acoustic_ap is not None else mel_norm
        t1 = time.perf_counter()
        audio = self.vocoder_stage(mel_db)
        t2 = time.perf_counter()
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 1.0:
            audio = audio / peak
        timings = tuple((sym or "·", int(n) * self.hop, o) for (sym, o), n in zip(owners, per_id))
        total = sum(t[1] for t in timings)
        if timings and total != len(audio):
            sym, n, o = timings[-1]
            timings = timings[:-1] + ((sym, max(0, n + len(audio) - total), o),)
        return Rendered(audio=audio, phoneme_samples=timings, mel=mel_db.astype(np.float32), mel_hop=self.hop,
                        stage_seconds={"acoustic model (mel)": t1 - t0, "vocoder (waveform)": t2 - t1})


# --------------------------------------------------------------------------------------------
# Finding and loading real models
# --------------------------------------------------------------------------------------------
def _data_dir() -> Path:
    from trainer.io import get_user_data_dir  # where Coqui's ModelManager puts models

    return Path(get_user_data_dir("tts"))


def _env_var(name: str) -> str:
    return "NLP_STUDIO_COQUI_" + "".join(c if c.isalnum() else "_" for c in name.upper())


def how_to_get(name: str) -> str:
    return (f"The Coqui models for {name} are not on this machine (no package ships them). On a machine "
            f"with internet run `python -m core.tts.coqui download {name}` (Coqui's own model manager, about "
            f"400 MB, into {_data_dir()}), or set {_env_var(name)}=/folder holding acoustic/ and vocoder/ "
            "(each with config.json and a .pth checkpoint). Piper works offline meanwhile.")


def _folders(name: str) -> tuple[Path, Path]:
    env = os.environ.get(_env_var(name), "").strip()
    if env:
        root = Path(env)
        return root / "acoustic", root / "vocoder"
    if name in COQUI_VOICES:
        acoustic, vocoder = COQUI_VOICES[name]
        return _data_dir() / acoustic.replace("/", "--"), _data_dir() / vocoder.replace("/", "--")
    if "/" in name:  # a folder by path: only inside the folders this server allows (its checkpoints are pickles)
        from core.file_roots import check_path

        root = check_path(name, "Coqui voice folder")
        if root.is_dir():
            return root / "acoustic", root / "vocoder"
    raise ValueError(f"Unknown Coqui voice {name!r}: use one of {', '.join(COQUI_VOICES)} or a folder "
                     "holding acoustic/ and vocoder/")


def _checkpoint(folder: Path) -> tuple[Path, Path]:
    config = folder / "config.json"
    ckpts = [p for p in folder.glob("*.pth*") if not p.name.startswith(("speaker", "model_se"))]
    if not config.is_file() or not ckpts:
        raise FileNotFoundError(folder)
    best = [p for p in ckpts if p.name.startswith(("model", "checkpoint", "best_model"))] or ckpts
    return config, sorted(best)[0]


def is_available(name: str) -> bool:
    try:
        for folder in _folders(name):
            _checkpoint(folder)
        return True
    except (FileNotFoundError, ValueError):
        return False


def load_coqui(name: str, device: str = "cpu") -> CoquiEngine:
    """Load the acoustic model and vocoder of `name` from disk (raises ModelMissingError if absent)."""
    acoustic_dir, vocoder_dir = _folders(name)
    try:
        a_cfg_path, a_ckpt = _checkpoint(acoustic_dir)
        v_cfg_path, v_ckpt = _checkpoint(vocoder_dir)
    except FileNotFoundError:
        raise ModelMissingError(how_to_get(name)) from None
    from TTS.config import load_config
    from TTS.tts.models import setup_model
    from TTS.utils.audio import AudioProcessor
    from TTS.vocoder.models import setup_model as setup_vocoder

    a_cfg = load_config(str(a_cfg_path))
    acoustic = setup_model(a_cfg)
    acoustic.load_checkpoint(a_cfg, str(a_ckpt), eval=True)
    v_cfg = load_config(str(v_cfg_path))
    vocoder = setup_vocoder(v_cfg)
    vocoder.load_checkpoint(v_cfg, str(v_ckpt), eval=True)
    if device.startswith("cuda"):
        acoustic, vocoder = acoustic.to(device), vocoder.to(device)
    language = getattr(a_cfg, "phoneme_language", None) or "en-us"
    return CoquiEngine(acoustic, vocoder, AudioProcessor(a_cfg.audio),
                       AudioProcessor(v_cfg.audio), name, language)


def get_coqui_engine(voice: str | None) -> CoquiEngine:
    """The engine for `voice` (default coqui-glow-tts), loaded once per process."""
    name = voice if voice and not voice.startswith("piper") else "coqui-glow-tts"
    with _engines_lock:
        if name not in _engines:
            from core.device import get_device

            _engines[name] = load_coqui(name, get_device())
        return _engines[name]


def loaded_speakers(voice: str) -> list[str]:
    """The speakers of a Coqui voice already loaded in this process (empty when it is not loaded
    yet or has a single speaker); never loads a model."""
    with _engines_lock:
        engine = _engines.get(voice)
    return list(engine.speakers()) if engine is not None else []


def download(name: str) -> None:
    """Fetch a voice's acoustic model and vocoder with Coqui's ModelManager (needs internet)."""
    if name not in COQUI_VOICES:
        raise ValueError(f"unknown Coqui voice {name!r}; known: {', '.join(COQUI_VOICES)}")
    from TTS.utils.manage import ModelManager

    manager = ModelManager(progress_bar=True)
    for model in COQUI_VOICES[name]:
        manager.download_model(model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.tts.coqui", description="Coqui TTS models for NLP Studio")
    sub = parser.add_subparsers(dest="cmd", required=True)
    dl = sub.add_parser("download", help="download a voice (acoustic model + HiFi-GAN vocoder)")
    dl.add_argument("names", nargs="*", default=["coqui-glow-tts"], help=f"any of {', '.join(COQUI_VOICES)}")
    sub.add_parser("list", help="list Coqui voices and whether they are here")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for name, (acoustic, vocoder) in COQUI_VOICES.items():
            print(f"{name:18} {'here' if is_available(name) else 'missing':8} {acoustic} + {vocoder}")
        return 0
    for name in args.names:
        download(name)
        print(f"{name}: ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
