"""Audio in: any file or array to float32 mono at 16 kHz, with clear errors and limits.

Files go through ffmpeg (wav, mp3, flac, ogg, m4a, the audio track of a video...), so any
sample rate and channel count works. Arrays from a microphone (int16 or float, mono or stereo,
any rate) go through `from_array`. Limits come from `core.config`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from math import gcd
from pathlib import Path

import numpy as np

from core import config

SAMPLE_RATE = 16_000  # what Whisper and Silero VAD expect
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".oga", ".opus", ".aac", ".webm", ".mp4")


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise ValueError("ffmpeg is not installed; install it (Debian/Ubuntu: `apt-get install ffmpeg`, "
                         "macOS: `brew install ffmpeg`) to read audio files")
    return path


def _probe_seconds(path: Path) -> float | None:
    """Duration from the container header (cheap), or None when ffprobe can't tell."""
    probe = shutil.which("ffprobe")
    if probe is None:
        return None
    try:
        out = subprocess.run([probe, "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                             capture_output=True, timeout=30, check=False)
        return float(json.loads(out.stdout or b"{}").get("format", {}).get("duration"))
    except (subprocess.TimeoutExpired, ValueError, TypeError):
        return None


def _explain_ffmpeg_failure(name: str, stderr: str) -> str:
    err = stderr.lower()
    if "matches no streams" in err or "does not contain any stream" in err:
        return (f"{name} has no audio track (a video without sound, an image or another kind of file). "
                f"Give an audio file: {', '.join(AUDIO_EXTENSIONS[:5])}.")
    if "invalid data" in err or "could not find codec" in err or "invalid argument" in err or "moov atom" in err:
        return (f"{name} could not be decoded as audio: the file is damaged, or it is not really audio "
                f"(a text file renamed .wav, say). Supported: {', '.join(AUDIO_EXTENSIONS[:5])} and most "
                "formats ffmpeg reads.")
    last = stderr.strip().splitlines()[-1:] or ["no message"]
    return f"{name} could not be decoded as audio (ffmpeg said: {last[0][:200]})."


def _decode_file(path: Path, sr: int, name: str) -> np.ndarray:
    limit = config.MAX_AUDIO_SECONDS
    seconds = _probe_seconds(path)
    if seconds is not None and seconds > limit + 0.5:
        raise ValueError(f"{name} is {seconds / 60:.1f} minutes long; the limit is {limit / 60:.0f} minutes "
                         f"(NLP_STUDIO_MAX_AUDIO_SECONDS). Cut it into parts, e.g. "
                         f"`ffmpeg -i in.mp3 -f segment -segment_time {int(limit)} part%02d.mp3`.")
    cmd = [_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
           "-map", "0:a:0", "-t", f"{limit + 1:.3f}", "-vn", "-ac", "1", "-ar", str(sr),
           "-f", "f32le", "-acodec", "pcm_f32le", "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=max(60, limit / 4), check=False)
    except subprocess.TimeoutExpired as exc:
        raise ValueError(f"decoding {name} took too long; try a shorter or simpler file") from exc
    if out.returncode != 0:
        raise ValueError(_explain_ffmpeg_failure(name, out.stderr.decode("utf-8", "replace")))
    audio = np.frombuffer(out.stdout, np.float32).copy()
    if audio.size == 0:
        raise ValueError(f"{name} contains no audio samples (an empty recording?).")
    if audio.size > (limit + 0.5) * sr:
        raise ValueError(f"{name} is longer than the {limit / 60:.0f}-minute limit (NLP_STUDIO_MAX_AUDIO_SECONDS).")
    return audio


def load_audio(source: str | os.PathLike | bytes, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a file (path) or its bytes to float32 mono at `sr` Hz, shape [samples], values in [-1, 1].

    Raises ValueError with what to do for a missing, empty, oversized, damaged or non-audio file,
    and for audio longer than config.MAX_AUDIO_SECONDS.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ValueError("the audio is empty (0 bytes); record or upload again")
        if len(data) > config.MAX_AUDIO_UPLOAD_BYTES:
            raise ValueError(f"the audio is {len(data) / 1e6:.0f} MB; the limit is "
                             f"{config.MAX_AUDIO_UPLOAD_BYTES / 1e6:.0f} MB (NLP_STUDIO_MAX_AUDIO_UPLOAD_BYTES)")
        # A temporary file, not a pipe: mp4/m4a keep their index at the end, which a pipe can't seek to.
        with tempfile.NamedTemporaryFile(suffix=".audio") as tmp:
            tmp.write(data)
            tmp.flush()
            return _decode_file(Path(tmp.name), sr, "the audio")
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"load_audio takes a file path or bytes, not {type(source).__name__}; "
                         "for arrays use core.audio.from_array(samples, sample_rate)")
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"no such audio file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path.name} is empty (0 bytes); record or upload again")
    if size > config.MAX_AUDIO_UPLOAD_BYTES:
        raise ValueError(f"{path.name} is {size / 1e6:.0f} MB; the limit is "
                         f"{config.MAX_AUDIO_UPLOAD_BYTES / 1e6:.0f} MB (NLP_STUDIO_MAX_AUDIO_UPLOAD_BYTES)")
    return _decode_file(path, sr, path.name)


def resample(audio: np.ndarray, sr_from: int, sr_to: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling of float32 mono audio (8 kHz telephone, 44.1/48/96 kHz, ...)."""
    if sr_from == sr_to:
        return audio.astype(np.float32, copy=False)
    if sr_from <= 0:
        raise ValueError(f"sample rate must be positive, got {sr_from}")
    from scipy.signal import resample_poly

    g = gcd(int(sr_from), int(sr_to))
    return resample_poly(audio, sr_to // g, sr_from // g).astype(np.float32)


def from_array(samples: np.ndarray, sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """A microphone or in-memory array to float32 mono at `target_sr`.

    `samples`: [n] or [n, channels] (as Gradio gives it) or [channels, n]; int16/int32/uint8 or
    float. Stereo is averaged to mono; integers are scaled to [-1, 1].
    """
    a = np.asarray(samples)
    if a.size == 0:
        return np.zeros(0, np.float32)
    if a.dtype == np.int16:
        a = a.astype(np.float32) / 32768.0
    elif a.dtype == np.int32:
        a = a.astype(np.float32) / 2147483648.0
    elif a.dtype == np.uint8:
        a = (a.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
    else:
        raise ValueError(f"audio samples of type {a.dtype} are not supported; give int16 or float32")
    if a.ndim == 2:
        # Channels are the short axis: Gradio gives [n, channels], soundfile too; torch gives [channels, n].
        a = a.mean(axis=1) if a.shape[1] <= a.shape[0] else a.mean(axis=0)
    elif a.ndim != 1:
        raise ValueError(f"audio must be 1-D (mono) or 2-D (multi-channel), got shape {a.shape}")
    return resample(a, int(sr), target_sr)


def as_audio(audio: str | os.PathLike | bytes | np.ndarray | tuple) -> np.ndarray:
    """Any supported audio input to float32 mono 16 kHz: a path, bytes, a float32 16 kHz array, or
    a (sample_rate, samples) pair as gr.Audio(type="numpy") gives it."""
    if isinstance(audio, tuple) and len(audio) == 2:
        sr, samples = audio
        return from_array(samples, int(sr))
    if isinstance(audio, np.ndarray):
        if audio.ndim != 1:
            raise ValueError(f"an audio array must be float32 mono at 16 kHz, shape [samples]; got {audio.shape}. "
                             "Use core.audio.from_array(samples, sample_rate) to convert.")
        return audio.astype(np.float32, copy=False)
    return load_audio(audio)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """float [-1, 1] to 16-bit PCM samples (clipped), what players and WAV files take."""
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def rms_db(audio: np.ndarray) -> float:
    """Loudness in dBFS (0 = full scale; about -60 or below is silence), for level meters."""
    if audio.size == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return max(-100.0, 20.0 * np.log10(rms + 1e-10))
