"""Voice -> images -> grounded answer -> speech, through the ASR, chat and TTS cores (real offline weights)."""
from __future__ import annotations

import numpy as np
import pytest

from core.image_search import rag


@pytest.fixture(scope="session")
def spoken_rocket():
    from core.tts.pipeline import synthesize

    speech = synthesize("Show me the rocket.")
    return speech.sample_rate, speech.audio


@pytest.mark.slow
def test_spoken_question_finds_the_rocket(spoken_rocket):
    answer = rag.ask(audio=spoken_rocket, speak=False)
    assert "rocket" in answer.question.lower()
    assert answer.hits[0].key == "rocket.jpg"
    assert set(answer.timings) >= {"asr", "embed", "search", "generate"}


@pytest.mark.slow
def test_answer_cites_the_cat_and_is_spoken():
    answer = rag.ask("Which picture shows an animal?")
    assert answer.citations and answer.citations[0].key == "chelsea.png"
    assert "[1] chelsea.png" in answer.sources_text and "cat" in answer.sources_text.lower()
    assert "cat" in answer.spoken_text.lower()
    assert answer.spoken_text.startswith("The best match is picture 1")
    # The prompt the model saw lists the numbered items with their tags.
    assert "[1] chelsea.png" in answer.messages[-1]["content"] and "Tags:" in answer.messages[-1]["content"]
    assert answer.model_text  # the model said something (its correctness is not promised)
    assert answer.sample_rate > 0 and answer.audio is not None and answer.audio.size > answer.sample_rate // 2
    assert np.isfinite(answer.audio).all()
    assert set(answer.timings) >= {"embed", "search", "speak", "generate"}
    assert 0 < answer.first_audio_s <= answer.total_s


def test_unintelligible_voice_and_empty_question_are_refused():
    rng = np.random.default_rng(0)
    hum = (0.001 * rng.standard_normal(16000 * 2)).astype(np.float32)  # near-silence
    with pytest.raises(ValueError, match="could not make out|no speech|silence|empty"):
        rag.ask(audio=(16000, hum), speak=False)
    with pytest.raises(ValueError, match="ask a question"):
        rag.ask("  ")


def test_citations_come_from_the_retrieval_not_the_model():
    from core.image_search.pipeline import Hit

    hits = [Hit(1, "IMG_1.jpg", 0.5, {"tags": 0.5}, [("tabby", 0.6), ("tiger cat", 0.2)], "", 0),
            Hit(2, "IMG_2.jpg", 0.45, {"tags": 0.45}, [("Egyptian cat", 0.7)], "", 1),
            Hit(3, "IMG_3.jpg", 0.1, {"tags": 0.1}, [("espresso", 0.9)], "", 2)]
    cites = rag.choose_citations(hits)
    assert [c.key for c in cites] == ["IMG_1.jpg", "IMG_2.jpg"]
    assert cites[0].subject == "tagged tabby, tiger cat"
    assert rag.sources_sentence(cites).startswith("Best match [1] IMG_1.jpg: tagged tabby")


def test_api_ask_images(client):
    out = client.predict("Which picture shows a cat?", None, "", api_name="/ask_images")
    assert out["citations"][0]["file"] == "chelsea.png"
    assert "[1]" in out["answer"] and "cat" in out["answer"].lower()
    assert out["items"][0]["file"] == "chelsea.png" and out["prompt"][0]["role"] == "system"


@pytest.mark.slow
def test_api_ask_images_with_audio(client, spoken_rocket, tmp_path):
    import soundfile as sf
    from gradio_client import handle_file

    wav = tmp_path / "question.wav"
    sf.write(wav, spoken_rocket[1], spoken_rocket[0])
    out = client.predict("", handle_file(str(wav)), "", api_name="/ask_images")
    assert "rocket" in out["question"].lower()
    assert out["citations"][0]["file"] == "rocket.jpg"
    assert "asr" in out["timings"]
