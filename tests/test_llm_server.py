"""Language models on an OpenAI-compatible server (core.llm_server), tested against a real one:
llama.cpp's server (llama-cpp-python[server], installed by scripts/setup.sh --test) on the shipped
SmolLM2-135M-Instruct Q4_1 GGUF, started once for the session on a free port.

The local model is the same GGUF dequantized by transformers to fp32; llama.cpp keeps the weights
in Q4_1 and quantizes the activations to 8 bits for its dot products (its Q4_1 x Q8_1 kernel). The
weights are the same numbers, the arithmetic is not, so the comparisons below carry tolerances
measured here and explained where they are used.

The first tests (no marker) check the error messages and the configuration without a server.
"""
from __future__ import annotations

import math
import os

import pytest

from core import config, llm_server
from core.llm_server import LLMServerError

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Give me one tip for learning a new language."}],
    [{"role": "user", "content": "What is photosynthesis?"}],
]
SCORED = "The cat sat on the mat because it was warm and the sun was shining."


# --- configuration and messages (no server) -------------------------------------------------------

def test_no_url_means_everything_runs_locally(monkeypatch):
    monkeypatch.delenv(config.LLM_URL_ENV, raising=False)
    assert llm_server.current() is None
    assert not llm_server.served("smollm2-135m")
    assert llm_server.problem() is None
    assert "in this process" in llm_server.where_markdown()
    assert llm_server.chat_note("smollm2-135m") == ""


def test_url_is_normalised_and_serves_only_the_named_keys(monkeypatch):
    monkeypatch.setenv(config.LLM_URL_ENV, "http://gpu-box:8000/")
    monkeypatch.setenv(config.LLM_SERVES_ENV, "smollm2-135m, qwen2.5-0.5b")
    server = llm_server.current()
    assert server.url == "http://gpu-box:8000/v1"
    assert server.serves == ("smollm2-135m", "qwen2.5-0.5b")
    assert llm_server.served("qwen2.5-0.5b") and not llm_server.served("gpt2")
    text = llm_server.where_markdown()
    assert "http://gpu-box:8000/v1" in text and "beam search" in text and "Chat replies" in text


def test_a_url_that_is_not_http_is_refused_with_an_example(monkeypatch):
    monkeypatch.setenv(config.LLM_URL_ENV, "gpu-box:8000")
    with pytest.raises(LLMServerError, match="http://localhost:8000/v1"):
        llm_server.current()


@pytest.mark.parametrize("status, body, words", [
    (503, '{"error": {"message": "Service Unavailable"}}', ["overloaded", "503", "Try again"]),
    (429, '{"error": "too many requests"}', ["overloaded", "429"]),
    (401, "", [config.LLM_API_KEY_ENV]),
    (404, '{"detail": "model x not found"}', [config.LLM_MODEL_ENV, "model x not found"]),
    (400, '{"error": {"message": "context length exceeded"}}', ["context length exceeded", "Shorten"]),
    (500, "boom", ["HTTP 500", "boom", config.LLM_URL_ENV]),
])
def test_http_errors_become_sentences_that_say_what_to_do(status, body, words):
    server = llm_server.ServedLLM("http://h:1/v1", "m", "", ("smollm2-135m",))
    message = str(llm_server._status_error(server, status, body))  # noqa: SLF001 - the mapping itself
    for w in words:
        assert w in message, message


# --- a real llama.cpp server ------------------------------------------------------------------

@pytest.fixture(scope="session")
def llama_url(tmp_path_factory):
    """llama.cpp's OpenAI-compatible server on the shipped GGUF, once per session, on a free port;
    killed at the end. Two threads: the test machine has two cores."""
    from core import serve_llm

    if not serve_llm.llama_server_installed():
        pytest.fail(f"llama.cpp's server is not installed: run scripts/setup.sh --test "
                    f"(or pip install '{serve_llm.LLAMA_PIN}')")
    port = serve_llm.free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    proc = serve_llm.start(port, threads=2, log=log)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        serve_llm.wait_ready(url, proc)
    except RuntimeError as exc:
        serve_llm.stop(proc)
        pytest.fail(f"{exc}; its log: {log.read_text()[-2000:]}")
    yield url
    serve_llm.stop(proc)


@pytest.fixture()
def served(llama_url, monkeypatch):
    """This test's requests for smollm2-135m go to the server."""
    monkeypatch.setenv(config.LLM_URL_ENV, llama_url)
    monkeypatch.delenv(config.LLM_MODEL_ENV, raising=False)
    monkeypatch.delenv(config.LLM_SERVES_ENV, raising=False)
    return llama_url


@pytest.fixture(scope="session")
def local_lm():
    from core import models

    return models.get("smollm2-135m")


@pytest.mark.serving
def test_the_server_lists_the_model_and_the_doctor_sees_it(served):
    assert llm_server.list_models() == ["smollm2-135m"]
    assert llm_server.problem() is None
    from core.doctor import check_models

    check = check_models(["smollm2-135m"])[0]
    assert check.ok and "serves smollm2-135m" in check.detail, check


@pytest.mark.serving
def test_chat_streams_through_core_from_the_server(served):
    from core.chat import GenerationSettings, stream_reply

    pieces = list(stream_reply(FRANCE, settings=GenerationSettings(max_new_tokens=24)))
    assert len(pieces) > 3, pieces  # streamed: the reply grew piece by piece
    assert all(b.startswith(a) for a, b in zip(pieces, pieces[1:]))  # each item is the whole reply so far
    assert "paris" in pieces[-1].lower()
