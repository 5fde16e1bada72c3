"""The Live Whisper tab's API, called as a script would (gradio_client against the launched app)."""
from __future__ import annotations

import pytest

from core import asr
from core.audio import load_audio

CLIPS = asr.librivox_clips()
pytestmark = pytest.mark.skipif(not CLIPS, reason="needs Debian pocketsphinx-testdata (scripts/setup.sh --test)")


def test_transcribe_endpoint_gives_text_segments_and_subtitles(client):
    from gradio_client import handle_file

    text, summary, table, _words, files, data, _code = client.predict(
        handle_file(str(CLIPS[0][0])), "whisper-tiny.en", "auto", "faster-whisper", "transcribe", True,
        api_name="/transcribe")
    assert "dashwood" in text.lower()
    assert asr.word_error_rate(CLIPS[0][1], text) <= 0.2
    assert data["language"] == "en" and data["segments"] and data["segments"][0]["words"]
    assert sorted(str(f).rsplit(".", 1)[-1] for f in files) == ["srt", "txt", "vtt"]
    srt = next(f for f in files if str(f).endswith(".srt"))
    assert " --> " in open(srt, encoding="utf-8").read()


def test_transcribe_chunks_endpoint(client):
    a = load_audio(CLIPS[4][0])  # "he might even have been made amiable himself"
    chunks = [a[i:i + 8000].round(5).tolist() for i in range(0, a.size, 8000)]
    out = client.predict(chunks, 16000, "whisper-tiny.en", "auto", "faster-whisper", api_name="/transcribe_chunks")
    assert "amiable" in out["committed"].lower()
    assert out["tentative"] == "" and any(e["kind"] == "finish" for e in out["events"])


def test_bad_upload_is_a_clear_error(client, tmp_path):
    from gradio_client import handle_file

    fake = tmp_path / "lecture.mp3"
    fake.write_text("not audio\n" * 100)
    with pytest.raises(Exception, match="could not be decoded"):
        client.predict(handle_file(str(fake)), "whisper-tiny.en", "auto", "faster-whisper", "transcribe", False,
                       api_name="/transcribe")
    with pytest.raises(Exception, match="English only"):
        client.predict([[0.0] * 8000], 16000, "whisper-tiny.en", "fr", "faster-whisper",
                       api_name="/transcribe_chunks")
