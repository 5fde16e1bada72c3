"""Figures for the TTS pipeline's stages, built from a `core.tts.pipeline.Speech` (plotly, UI-neutral).

- `timeline_figure`: the waveform with each word's span over it, and below it every phoneme as
  a bar from when it starts to when it ends (the engine's own durations).
- `mel_figure`: the mel-spectrogram: the acoustic model's own output when the engine has one
  (Coqui), else computed from the audio and titled so (Piper's VITS has no mel stage).
- `karaoke_html`: the sentence with data-start/data-end on each word, plus an <audio> player;
  a few lines of JS (in the tab) light up the word being spoken.
"""
from __future__ import annotations

import base64
import html

import numpy as np

from core.tts.pipeline import Speech, to_wav_bytes
from core.tts.xtts import STAGES

WORD_COLOURS = ("#4C78A8", "#F58518")  # alternate, so neighbouring words stay apart


def _mel_filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters on the HTK mel scale, [n_mels, n_fft // 2 + 1]."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(sr / 2), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lower) / np.maximum(centre - lower, 1e-9)
    down = (upper - freqs[None]) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(up, down))


def mel_from_audio(audio: np.ndarray, sr: int, n_mels: int = 80, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """Log-mel spectrogram in dB, [n_mels, frames], frames = len(audio) // hop + 1."""
    pad = n_fft // 2
    x = np.pad(audio.astype(np.float32), (pad, pad), mode="reflect" if len(audio) > pad else "constant")
    frames = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft).astype(np.float32), axis=1)) ** 2  # [frames, bins]
    mel = _mel_filters(sr, n_fft, n_mels) @ spec.T
    return (10.0 * np.log10(np.maximum(mel, 1e-10))).astype(np.float32)


def mel_of(speech: Speech) -> tuple[np.ndarray, int, str]:
    """(mel [n_mels, frames], hop, where it came from)."""
    if speech.mel is not None:
        return speech.mel, speech.mel_hop, f"the acoustic model's own output ({speech.voice}), fed to the vocoder"
    why = {"piper": "VITS goes from phonemes straight to waveform",
           "xtts": "its GPT-2 latents go straight to the HiFi-GAN decoder"}.get(speech.engine, "a formant synthesizer")
    name = "XTTS" if speech.engine == "xtts" else speech.engine
    return (mel_from_audio(speech.audio, speech.sample_rate), 256,
            f"computed from the audio: {name} has no mel stage ({why})")


def _word_spans(speech: Speech):
    return [(w.start, w.end, w.text) for w in speech.words if w.start is not None]


def mel_figure(speech: Speech, max_frames: int = 2000):
    import plotly.graph_objects as go

    mel, hop, source = mel_of(speech)
    if mel.shape[1] > max_frames:  # long audio: average neighbouring frames, the page stays light
        k = -(-mel.shape[1] // max_frames)
        n = mel.shape[1] // k * k
        mel, hop = mel[:, :n].reshape(mel.shape[0], -1, k).mean(axis=2), hop * k
    t = np.arange(mel.shape[1]) * hop / speech.sample_rate
    fig = go.Figure(go.Heatmap(z=mel, x=t, y=np.arange(mel.shape[0]), colorscale="Magma",
                               colorbar=dict(title="dB", thickness=12), hovertemplate="%{x:.2f}s band %{y}<extra></extra>"))
    # shapes and labels in one layout update: plotly's add_vline/add_annotation validate one by one (slow)
    spans = _word_spans(speech)
    fig.update_layout(
        shapes=[dict(type="line", x0=s0, x1=s0, y0=0, y1=1, xref="x", yref="paper",
                     line=dict(color="white", width=1, dash="dot")) for s0, _, _ in spans],
        annotations=[dict(x=(s0 + s1) / 2, y=1.0, xref="x", yref="paper", text=t, showarrow=False,
                          yanchor="bottom", font=dict(size=11)) for s0, s1, t in spans])
    fig.update_layout(title=dict(text=f"Mel-spectrogram ({mel.shape[0]} bands): {source}", font=dict(size=13)),
                      xaxis_title="seconds", yaxis_title="mel band", height=300,
                      margin=dict(l=50, r=20, t=60, b=40))
    return fig


def timeline_figure(speech: Speech, max_phoneme_labels: int = 250):
    """Waveform with word spans (row 1) and phoneme durations (row 2)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    has_durations = speech.has_durations
    fig = make_subplots(rows=2 if has_durations else 1, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.6, 0.4] if has_durations else [1.0])
    # min/max envelope in ~1500 bins: the shape of the audio without sending every sample
    audio, sr = speech.audio, speech.sample_rate
    bins = max(1, len(audio) // 1500)
    n = len(audio) // bins * bins
    if n:
        env = audio[:n].reshape(-1, bins)
        t = (np.arange(env.shape[0]) * bins + bins / 2) / sr
        fig.add_trace(go.Scatter(x=np.concatenate([t, t[::-1]]), y=np.concatenate([env.max(1), env.min(1)[::-1]]),
                                 fill="toself", mode="lines", line=dict(width=0.5, color="#333"),
                                 fillcolor="rgba(60,60,60,0.55)", name="waveform", hoverinfo="skip"), row=1, col=1)
    spans = _word_spans(speech)
    fig.update_layout(
        shapes=[dict(type="rect", x0=s0, x1=s1, y0=0, y1=1, xref="x", yref="y domain", layer="below",
                     fillcolor=WORD_COLOURS[i % 2], opacity=0.15, line_width=0) for i, (s0, s1, _) in enumerate(spans)],
        annotations=[dict(x=(s0 + s1) / 2, y=1.0, xref="x", yref="y domain", text=t, showarrow=False,
                          yanchor="bottom", font=dict(size=11)) for s0, s1, t in spans])
    if has_durations:
        ph = [p for p in speech.phonemes if p.end > p.start]
        fig.add_trace(go.Bar(
            x=[p.end - p.start for p in ph], base=[p.start for p in ph], y=[1] * len(ph), orientation="h",
            marker=dict(color=[WORD_COLOURS[p.word % 2] if p.word >= 0 else "#bbb" for p in ph],
                        line=dict(color="white", width=1)),
            text=[p.phoneme if len(ph) <= max_phoneme_labels else "" for p in ph], textposition="inside",
            insidetextanchor="middle", textfont=dict(size=12),
            hovertext=[f"{p.phoneme}  {p.start:.2f}-{p.end:.2f}s ({1000 * (p.end - p.start):.0f} ms)" for p in ph],
            hoverinfo="text", name="phonemes", showlegend=False), row=2, col=1)
        fig.update_yaxes(visible=False, row=2, col=1)
    fig.update_yaxes(visible=False, range=[-1.05, 1.05], row=1, col=1)
    fig.update_xaxes(title_text="seconds", row=2 if has_durations else 1, col=1)
    title = ("Waveform with each word's span, and each phoneme's duration from the model"
             if has_durations else f"Waveform ({speech.engine} exposes no durations, so no alignment)")
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=330 if has_durations else 220,
                      margin=dict(l=20, r=20, t=60, b=40), showlegend=False, bargap=0)
    return fig


def karaoke_html(speech: Speech, max_seconds: float = 120.0) -> str:
    """Words with their times and an audio player; JS in the tab highlights the current word."""
    if not speech.has_durations:
        return (f"<p class='tts-karaoke-note'>Karaoke needs word timings; {html.escape(speech.engine)} "
                "does not expose durations. Piper and Coqui do.</p>")
    if speech.duration > max_seconds:
        return f"<p class='tts-karaoke-note'>Karaoke is shown for up to {max_seconds:.0f} s of audio.</p>"
    wav = base64.b64encode(to_wav_bytes(speech)).decode()
    by_word: dict[int, list] = {}
    for p in speech.phonemes:
        if p.word >= 0:
            by_word.setdefault(p.word, []).append(p)
    parts = []
    for i, w in enumerate(speech.words):
        phones = "".join(f"<span class='kp' data-s='{p.start:.3f}' data-e='{p.end:.3f}'>{html.escape(p.phoneme)}</span>"
                         for p in by_word.get(i, []))
        parts.append(f"<span class='kw' data-s='{w.start:.3f}' data-e='{w.end:.3f}'>"
                     f"<span class='kt'>{html.escape(w.text)}{html.escape(w.punct)}</span>"
                     f"<span class='kps'>{phones}</span></span>")
    return (f"<div class='tts-karaoke'><audio controls preload='auto' src='data:audio/wav;base64,{wav}'></audio>"
            f"<div class='kw-line'>{' '.join(parts)}</div></div>")


def stage_rows(speech: Speech) -> list[list]:
    """[stage, milliseconds, what it did] for a table."""
    xtts = speech.engine == "xtts"
    what = {
        "normalize": f"{len(speech.normalized.rewrites)} rewrites",
        "phonemize": f"{len(speech.words)} words to {'BPE text tokens (XTTS reads no phonemes)' if xtts else 'IPA'}",
        "synthesize": "phonemes to waveform" + (" (VITS, with durations)" if speech.engine == "piper" else ""),
        "acoustic model (mel)": "phonemes to mel-spectrogram",
        "vocoder (waveform)": "mel-spectrogram to waveform",
        "durations": "none: XTTS exposes no alignment" if xtts else "per phoneme and word timings",
        STAGES[0]: "reference audio to GPT conditioning latents and a speaker embedding (0 when reused)",
        STAGES[1]: "text tokens to discrete audio codes, one per ~46 ms",
        STAGES[2]: "GPT latents + speaker embedding to waveform (no mel between)",
    }
    rows = [[k, round(1000 * v, 1), what.get(k, "")] for k, v in speech.stage_seconds.items()]
    rows.append(["first audio ready", round(1000 * speech.first_audio_seconds, 1), "first sentence playable"])
    rows.append(["audio length", round(1000 * speech.duration, 1), f"{speech.sample_rate} Hz mono"])
    return rows
