"""A language model served at a URL: the registry's second backend for causal LMs.

One GPU box running an OpenAI-compatible server (vLLM, llama.cpp's server) can answer a whole class
with continuous batching, where one 2-core web server makes about 17 tokens/s in total. Set

    NLP_STUDIO_LLM_URL=http://gpu-box:8000/v1    # unset (the default): every model runs in-process
    NLP_STUDIO_LLM_MODEL=smollm2                  # the server's name for it (default: its first model)
    NLP_STUDIO_LLM_API_KEY=...                    # only if the server wants one
    NLP_STUDIO_LLM_SERVES=smollm2-135m            # registry key(s) the server stands in for

and the features that only need tokens and log-probabilities send their work there: Chat (without
an adapter), RAG answers, the Decoding Lab's greedy search and sampling, and perplexity. Anything
that needs the weights themselves (attention maps, saliency, LoRA training and adapters, DPO, beam
search, which the OpenAI API does not offer) keeps loading the local model. `FEATURES` lists which
is which; the Models panel and `python -m core.doctor` show it.

Plain HTTP (httpx), the OpenAI chat/completions and completions endpoints, streamed replies as
server-sent events. Every failure becomes `LLMServerError` (a ValueError: the front ends show its
message) saying what happened and what to do: server down, too slow, overloaded (HTTP 429/503),
a refused key, a model name it does not serve, or a request it rejected.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Iterator

from core import config

# (feature, where it runs when a server is configured, why). The panel and the doctor print this.
FEATURES: tuple[tuple[str, str, str], ...] = (
    ("Chat replies (no adapter)", "server", "only needs generated tokens"),
    ("RAG answers (Voice Image Search)", "server", "only needs generated tokens"),
    ("Decoding Lab: greedy, sampling", "server", "tokens and their top log-probabilities"),
    ("Evaluation Lab: perplexity (where the server scores a prompt correctly; llama.cpp's does not)", "server",
     "log-probabilities of the text's own tokens"),
    ("Chat with a LoRA adapter", "local", "the adapter is applied to local weights"),
    ("Fine-tune (LoRA, QLoRA), Compare", "local", "needs gradients and both models' logits"),
    ("Preference Lab (DPO)", "local", "trains the weights"),
    ("Decoding Lab: beam search", "local", "the OpenAI API has no beam search"),
    ("Attention, saliency", "local", "needs the model's internals"),
)


class LLMServerError(ValueError):
    """The language-model server could not answer; the message says why and what to do."""


@dataclass(frozen=True)
class ServedLLM:
    """Where the served model is: `url` is the API root (ending in /v1)."""

    url: str
    model: str  # "" until known: asked from the server's /models on first use
    api_key: str
    serves: tuple[str, ...]  # registry keys whose requests go to the server


def current() -> ServedLLM | None:
    """The server from the environment (read at each call, so a host can set it before start and
    a test can set it per test), or None when NLP_STUDIO_LLM_URL is unset."""
    raw = os.environ.get(config.LLM_URL_ENV, "").strip()
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise LLMServerError(f"{config.LLM_URL_ENV}={raw!r} is not an http(s) URL; give e.g. "
                             "http://localhost:8000/v1, or unset it to run the model in this process")
    url = raw.rstrip("/")
    if not url.endswith("/v1"):
        url += "/v1"
    serves = os.environ.get(config.LLM_SERVES_ENV, config.LLM_DEFAULT_SERVES)
    return ServedLLM(url, os.environ.get(config.LLM_MODEL_ENV, "").strip(),
                     os.environ.get(config.LLM_API_KEY_ENV, "").strip(),
                     tuple(k.strip() for k in serves.split(",") if k.strip()))


def served(key: str) -> bool:
    """Whether requests for the registry model `key` go to the server."""
    server = current()
    return server is not None and key in server.serves


_client = None
_client_lock = threading.Lock()
_names: dict[str, str] = {}  # url -> the model name the server reported


def _http():
    """One httpx client per process (a connection pool shared by every user)."""
    global _client
    import httpx

    with _client_lock:
        if _client is None:
            _client = httpx.Client(limits=httpx.Limits(max_connections=256,
                                                                           max_keepalive_connections=64))
        return _client


def _timeout():
    """Per request (read from core.config at each call, so a test or a host can change it)."""
    import httpx

    return httpx.Timeout(connect=config.LLM_CONNECT_TIMEOUT_S, read=config.LLM_READ_TIMEOUT_S,
                         write=config.LLM_CONNECT_TIMEOUT_S, pool=config.LLM_READ_TIMEOUT_S)


def _headers(server: ServedLLM) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"} if server.api_key else {}


def _fallback() -> str:
    return f"or unset {config.LLM_URL_ENV} to run the model in this process"


def _transport_error(server: ServedLLM, exc: Exception) -> LLMServerError:
    """httpx's connect / timeout errors as a sentence with the fix."""
    import httpx

    if isinstance(exc, (httpx.ReadTimeout, httpx.PoolTimeout)):
        return LLMServerError(
            f"The language-model server at {server.url} did not answer within {config.LLM_READ_TIMEOUT_S:g} s: it "
            "is overloaded or stuck. Try again in a moment or ask for fewer tokens; a host can raise "
            "NLP_STUDIO_LLM_READ_TIMEOUT_S or give the server more capacity.")
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError)):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        return LLMServerError(
            f"The language-model server at {server.url} is not answering ({first}). Start it (docs/serving.md: "
            f"`python -m llama_cpp.server --model ...` or `vllm serve ...`), check {config.LLM_URL_ENV}, "
            f"{_fallback()}.")
    return LLMServerError(f"Talking to the language-model server at {server.url} failed ({type(exc).__name__}: "
                          f"{exc}); try again, {_fallback()}.")


def _error_text(body: str) -> str:
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return body.strip()[:300]
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return str(err.get("message") or err.get("detail") or err)[:300]
    return str(err)[:300]


def _status_error(server: ServedLLM, status: int, body: str) -> LLMServerError:
    """An HTTP error status as a sentence with the fix."""
    why = _error_text(body)
    if status in (429, 503):
        return LLMServerError(
            f"The language-model server at {server.url} is overloaded (HTTP {status}: {why}). Try again in a few "
            "seconds; a host can add capacity (a GPU, more replicas) or limit the class's concurrent chats.")
    if status in (401, 403):
        return LLMServerError(f"The language-model server at {server.url} refused the key (HTTP {status}): set "
                              f"{config.LLM_API_KEY_ENV} to the key it expects.")
    if status == 404:
        return LLMServerError(f"The language-model server at {server.url} has no such model or endpoint (HTTP 404: "
                              f"{why}). Set {config.LLM_MODEL_ENV} to a name its /v1/models lists, and point "
                              f"{config.LLM_URL_ENV} at the API root (ending in /v1).")
    if 400 <= status < 500:
        return LLMServerError(f"The language-model server refused the request (HTTP {status}: {why}). "
                              "Shorten the conversation or ask for fewer tokens.")
    return LLMServerError(f"The language-model server at {server.url} failed (HTTP {status}: {why}). Its log says "
                          f"why; try again, {_fallback()}.")


def _server() -> ServedLLM:
    server = current()
    if server is None:
        raise LLMServerError(f"no language-model server is configured: set {config.LLM_URL_ENV} "
                             "(e.g. http://localhost:8000/v1)")
    return server


def model_name(server: ServedLLM | None = None) -> str:
    """The model name to send: NLP_STUDIO_LLM_MODEL, else the first model the server lists."""
    server = server or _server()
    if server.model:
        return server.model
    if server.url not in _names:
        models = list_models(server)
        if not models:
            raise LLMServerError(f"the language-model server at {server.url} lists no models; set "
                                 f"{config.LLM_MODEL_ENV}")
        _names[server.url] = models[0]
    return _names[server.url]


def list_models(server: ServedLLM | None = None) -> list[str]:
    """The model names the server serves (GET /models)."""
    import httpx

    server = server or _server()
    try:
        resp = _http().get(f"{server.url}/models", headers=_headers(server), timeout=_timeout())
    except httpx.HTTPError as exc:
        raise _transport_error(server, exc) from None
    if resp.status_code != 200:
        raise _status_error(server, resp.status_code, resp.text)
    return [str(m.get("id")) for m in resp.json().get("data", []) if isinstance(m, dict)]


def problem() -> str | None:
    """None when no server is configured or it answers /models; else the sentence saying what is
    wrong. For the Models panel and the doctor (one short request)."""
    if os.environ.get(config.LLM_URL_ENV, "").strip() == "":
        return None
    try:
        model_name(_server())
    except LLMServerError as exc:
        return str(exc)
    return None


def _post(server: ServedLLM, path: str, body: dict) -> dict:
    import httpx

    try:
        resp = _http().post(f"{server.url}{path}", json=body, headers=_headers(server), timeout=_timeout())
    except httpx.HTTPError as exc:
        raise _transport_error(server, exc) from None
    if resp.status_code != 200:
        raise _status_error(server, resp.status_code, resp.text)
    data = resp.json()
    if not data.get("choices"):
        raise LLMServerError(f"the language-model server at {server.url} answered without choices: "
                             f"{str(data)[:200]}")
    return data


def _sse_events(server: ServedLLM, path: str, body: dict) -> Iterator[dict]:
    """POST with stream=True and yield each server-sent event's JSON until [DONE]. Closing the
    generator closes the connection, and the server stops generating."""
    import httpx

    try:
        with _http().stream("POST", f"{server.url}{path}", json=body, headers=_headers(server),
                            timeout=_timeout()) as resp:
            if resp.status_code != 200:
                raise _status_error(server, resp.status_code, resp.read().decode("utf-8", "replace"))
            for line in resp.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank keep-alives, ": ping" comments, "event:" lines
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                event = json.loads(payload)
                if isinstance(event, dict) and "error" in event:
                    raise _status_error(server, 500, payload)
                yield event
    except httpx.HTTPError as exc:
        raise _transport_error(server, exc) from None


def _sampling(temperature: float, top_p: float, max_tokens: int, seed: int | None, top_k: int = 0) -> dict:
    # The OpenAI API's sampling is temperature and top-p alone. llama.cpp's server adds its own defaults
    # on top (repeat_penalty 1.1, min_p 0.05, top_k 40): the repeat penalty alone turned SmolLM2's greedy
    # "The capital of France is Paris." into French nonsense. Switch them off explicitly; vLLM knows
    # min_p and ignores the other name.
    body: dict[str, Any] = {"max_tokens": int(max_tokens), "temperature": float(temperature),
                            "repeat_penalty": 1.0, "min_p": 0.0}
    if temperature > 0:
        body["top_p"] = float(top_p)
        if top_k:
            body["top_k"] = int(top_k)  # an extension both vLLM and llama.cpp accept
        if seed is not None:
            body["seed"] = int(seed)
    return body


def stream_chat(messages: list[dict], temperature: float = 0.0, top_p: float = 0.9, max_tokens: int = 128,
                seed: int | None = None) -> Iterator[str]:
    """Yield the reply's new pieces of text as the server streams them (chat/completions with
    stream=True); the server applies the model's chat template. Temperature 0 is greedy."""
    server = _server()
    body = {"model": model_name(server), "messages": messages, "stream": True,
            **_sampling(temperature, top_p, max_tokens, seed)}
    finished = None
    for event in _sse_events(server, "/chat/completions", body):
        for choice in event.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                yield piece
            finished = choice.get("finish_reason") or finished
    if finished is None:
        # The stream ended without saying why: the server cut the reply short. (llama.cpp's server does
        # this to every streamed reply while another request waits, unless started with
        # --interrupt_requests False.)
        raise LLMServerError(f"the language-model server at {server.url} ended the reply early without a reason "
                             "(the text so far is shown). Ask again; a host running llama.cpp's server must start "
                             "it with --interrupt_requests False (python -m core.chat.serve_llm does).")


@dataclass(frozen=True)
class TokenLogprob:
    """One token as the server reports it: its text, log p (natural log; None for a first prompt
    token, which nothing predicts) and the top alternatives {text: log p}, most likely first."""

    text: str
    logprob: float | None
    top: tuple[tuple[str, float], ...]


def _tokens(logprobs: dict) -> list[TokenLogprob]:
    out = []
    tops = logprobs.get("top_logprobs") or []
    for i, (text, lp) in enumerate(zip(logprobs.get("tokens") or [], logprobs.get("token_logprobs") or [])):
        top = tops[i] if i < len(tops) and isinstance(tops[i], dict) else {}
        out.append(TokenLogprob(str(text), None if lp is None else float(lp),
                                tuple(sorted(((str(k), float(v)) for k, v in top.items()), key=lambda kv: -kv[1]))))
    return out


def complete(prompt: str, max_tokens: int, temperature: float = 0.0, top_p: float = 1.0, top_k: int = 0,
             seed: int | None = None, top_logprobs: int = 5) -> tuple[str, list[TokenLogprob]]:
    """A plain continuation of `prompt` (the completions endpoint, no chat template): the text
    and each generated token with its log-probability and top alternatives."""
    server = _server()
    body = {"model": model_name(server), "prompt": prompt, "logprobs": int(top_logprobs),
            **_sampling(temperature, top_p, max_tokens, seed, top_k)}
    choice = _post(server, "/completions", body)["choices"][0]
    return str(choice.get("text") or ""), _tokens(choice.get("logprobs") or {})


class MisalignedLogprobs(LLMServerError):
    """The server's prompt log-probabilities cannot be trusted (see `prompt_logprobs`)."""


def prompt_logprobs(text: str, top_logprobs: int = 1) -> list[TokenLogprob]:
    """Each token of `text` with log p(token | the tokens before it), from the completions endpoint
    with echo=True and one generated token (the OpenAI API's way to score a prompt). The first
    token has logprob None.

    A server that does this right returns the prompt's tokens AND the generated one (vLLM and
    OpenAI do). llama-cpp-python 0.3.36 returns only the prompt's tokens, each scored with the
    distribution that FOLLOWS it (one row off: " sat" in "The cat sat" gets log p(" sat" | "The cat
    sat") instead of log p(" sat" | "The cat")), and the first row is lost. That shape is how it is
    recognised: then MisalignedLogprobs is raised, saying so, rather than wrong numbers returned.
    """
    server = _server()
    body = {"model": model_name(server), "prompt": text, "echo": True, "logprobs": int(top_logprobs),
            **_sampling(0.0, 1.0, 1, None)}
    choice = _post(server, "/completions", body)["choices"][0]
    lp = choice.get("logprobs") or {}
    tokens = _tokens(lp)
    offsets = lp.get("text_offset") or []
    if len(offsets) != len(tokens) or not any(off >= len(text) for off in offsets):
        raise MisalignedLogprobs(
            f"the language-model server at {server.url} does not score a prompt's own tokens correctly (its "
            "echo=true answer leaves out the generated token: llama-cpp-python 0.3.36 scores each prompt token "
            "with the distribution after it). Perplexity needs those, so it runs on this machine's model.")
    return [t for t, off in zip(tokens, offsets) if off < len(text)]


def where_markdown() -> str:
    """Which language-model features use the server and which run here, as one markdown paragraph
    (the Models panel, the Chat tab). Says "in this process" for all when no server is configured."""
    server = current() if os.environ.get(config.LLM_URL_ENV, "").strip().startswith(("http://", "https://")) \
        else None
    if server is None:
        return ("**Language models run in this process** (no model server: set "
                f"`{config.LLM_URL_ENV}` to use one, see docs/serving.md).")
    remote = ", ".join(f for f, where, _ in FEATURES if where == "server")
    local = ", ".join(f for f, where, _ in FEATURES if where == "local")
    name = f" (model `{server.model}`)" if server.model else ""
    text = (f"**Language-model server: {server.url}**{name} for {', '.join(server.serves)}. "
            f"On the server: {remote}. On this machine's copy of the weights: {local}.")
    trouble = problem()  # one short request: is it answering now?
    return text + (f"\n\n**The server is not answering now:** {trouble}" if trouble else "")


def chat_note(model: str, adapter: str | None = None) -> str:
    """One line for the Chat tab: where the next reply comes from."""
    if not served(model):
        return ""
    if adapter:
        return ("Replies with an adapter run on this machine (the adapter lives on the local weights); "
                f"without one they come from the model server at {_server().url}.")
    return (f"Replies come from the model server at {_server().url}; choosing an adapter, fine-tuning and "
            "Compare use this machine's copy of the weights.")
