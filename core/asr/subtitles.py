"""Transcripts out: plain text, SubRip (.srt) and WebVTT (.vtt).

Long segments are split into cues of at most MAX_CUE_SECONDS / MAX_CUE_CHARS when word
timestamps are there, so subtitles stay readable on a projector.
"""
from __future__ import annotations

from pathlib import Path

from core.asr.whisper import Segment, Transcript

FORMATS = ("txt", "srt", "vtt")
MAX_CUE_SECONDS = 6.0
MAX_CUE_CHARS = 84  # two lines of 42, the usual broadcast limit


def timestamp(seconds: float, sep: str = ",") -> str:
    """HH:MM:SS,mmm (SubRip) or HH:MM:SS.mmm (WebVTT, sep=".")."""
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def cues(transcript: Transcript) -> list[tuple[float, float, str]]:
    """(start, end, text) cues: segments, split at word boundaries when too long."""
    out: list[tuple[float, float, str]] = []
    for seg in transcript.segments:
        out.extend(_split(seg))
    return [(a, max(b, a + 0.2), t) for a, b, t in out if t]


def _split(seg: Segment) -> list[tuple[float, float, str]]:
    text = seg.text.strip()
    if not seg.words or (seg.end - seg.start <= MAX_CUE_SECONDS and len(text) <= MAX_CUE_CHARS):
        return [(seg.start, seg.end, text)]
    parts, cur = [], []
    for w in seg.words:
        if cur and (w.end - cur[0].start > MAX_CUE_SECONDS or len("".join(x.word for x in cur) + w.word) > MAX_CUE_CHARS):
            parts.append(cur)
            cur = []
        cur.append(w)
    if cur:
        parts.append(cur)
    return [(p[0].start, p[-1].end, "".join(w.word for w in p).strip()) for p in parts]


def to_txt(transcript: Transcript) -> str:
    return "\n".join(s.text.strip() for s in transcript.segments if s.text.strip()) + "\n"


def to_srt(transcript: Transcript) -> str:
    blocks = [f"{i}\n{timestamp(a)} --> {timestamp(b)}\n{t}\n" for i, (a, b, t) in enumerate(cues(transcript), 1)]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = [f"{timestamp(a, '.')} --> {timestamp(b, '.')}\n{t}\n" for a, b, t in cues(transcript)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def render(transcript: Transcript, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown subtitle format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return {"txt": to_txt, "srt": to_srt, "vtt": to_vtt}[fmt](transcript)


def write_all(transcript: Transcript, folder: str | Path, stem: str = "transcript") -> dict[str, Path]:
    """Write .txt, .srt and .vtt into `folder`; returns {format: path}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt in FORMATS:
        path = folder / f"{stem}.{fmt}"
        path.write_text(render(transcript, fmt), encoding="utf-8")
        paths[fmt] = path
    return paths
