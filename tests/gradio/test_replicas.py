"""Several web replicas behind one address: the sticky proxy (apps/sticky_proxy.py) and, marked
`serving`, two real app processes behind it sharing one adapter store."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from aiohttp import ClientSession, CookieJar, web

from apps import sticky_proxy
from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]


# --- the proxy against two small in-process backends (fast; no app) ------------------------------

def _backend(name: str, release: asyncio.Event) -> web.Application:
    """Says its name; streams SSE (the second event waits for `release`); echoes a WebSocket."""

    async def hello(request):
        return web.json_response({"replica": name, "cookie": request.cookies.get("app_cookie")},
                                 headers={"set-cookie": f"app_cookie={name}-made; Path=/"})

    async def sse(request):
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(f"data: first from {name}\n\n".encode())
        await asyncio.wait_for(release.wait(), 20)  # held until the client has seen the first event
        await resp.write(f"data: second from {name}\n\n".encode())
        await resp.write_eof()
        return resp

    async def echo(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str(f"{name}: {msg.data}")
        return ws

    async def upload(request):
        return web.json_response({"replica": name, "bytes": len(await request.read())})

    app = web.Application(client_max_size=0)
    app.router.add_get("/hello", hello)
    app.router.add_get("/sse", sse)
    app.router.add_get("/ws", echo)
    app.router.add_post("/upload", upload)
    return app


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def _scenario() -> dict:
    release = asyncio.Event()
    runners, urls = [], {}
    for name in ("web1", "web2"):
        runner, url = await _serve(_backend(name, release))
        runners.append(runner)
        urls[name] = url
    proxy_runner, proxy = await _serve(sticky_proxy.make_app(urls))
    out: dict = {}
    try:
        # two browsers, two cookie jars (unsafe=True: aiohttp's jar refuses cookies from bare IPs; browsers don't)
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as alice, \
                ClientSession(cookie_jar=CookieJar(unsafe=True)) as bob:
            out["alice"] = [(await (await alice.get(f"{proxy}/hello")).json())["replica"] for _ in range(4)]
            out["bob"] = [(await (await bob.get(f"{proxy}/hello")).json())["replica"] for _ in range(3)]
            # The replica's own cookie reaches the browser and comes back to the replica.
            out["app_cookie"] = (await (await alice.get(f"{proxy}/hello")).json())["cookie"]
            # SSE: the first event must arrive while the backend still holds the second.
            async with alice.get(f"{proxy}/sse") as resp:
                out["sse_header"] = resp.headers[sticky_proxy.HEADER]
                first = await asyncio.wait_for(resp.content.readline(), 10)
                out["first"] = first.decode().strip()
                release.set()
                out["rest"] = (await asyncio.wait_for(resp.content.read(), 10)).decode()
            async with alice.ws_connect(f"{proxy}/ws") as ws:
                await ws.send_str("ping")
                out["ws"] = (await asyncio.wait_for(ws.receive(), 10)).data
            big = os.urandom(3_000_000)  # a request body streams through whole
            out["upload"] = await (await bob.post(f"{proxy}/upload", data=big)).json()
            # Alice's replica goes down: she is moved to the other one, and pinned there.
            await runners[["web1", "web2"].index(out["alice"][0])].cleanup()
            out["moved"] = [(await (await alice.get(f"{proxy}/hello")).json())["replica"] for _ in range(2)]
    finally:
        await proxy_runner.cleanup()
        for runner in runners:
            await runner.cleanup()
    return out


def test_proxy_pins_each_browser_streams_and_fails_over():
    out = asyncio.run(asyncio.wait_for(_scenario(), 60))
    assert len(set(out["alice"])) == 1 and len(set(out["bob"])) == 1  # every call on one replica
    assert out["alice"][0] != out["bob"][0]  # new browsers take turns
    assert out["app_cookie"] == f"{out['alice'][0]}-made"
    assert out["first"] == f"data: first from {out['alice'][0]}" and out["sse_header"] == out["alice"][0]
    assert f"second from {out['alice'][0]}" in out["rest"]
    assert out["ws"] == f"{out['alice'][0]}: ping"
    assert out["upload"] == {"replica": out["bob"][0], "bytes": 3_000_000}
    assert out["moved"] == [out["bob"][0]] * 2


def test_backends_are_checked():
    assert sticky_proxy.parse_backends(["a=http://h:1", "http://h:2/"]) == {"a": "http://h:1", "r2": "http://h:2"}
    with pytest.raises(ValueError, match="NAME=http"):
        sticky_proxy.parse_backends(["web1=h:1"])
    with pytest.raises(ValueError, match="at least one"):
        sticky_proxy.parse_backends([])


# --- two real app processes behind the proxy (serving) ---------------------------------------------

def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer; log:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """web1 and web2 (only the chat tab: a light start) sharing one cache, and the proxy in front."""
    tmp = tmp_path_factory.mktemp("replicas")
    shared = tmp / "shared-cache"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "NLP_STUDIO_TABS": "chat",
           "NLP_STUDIO_CACHE": str(shared), "NLP_STUDIO_SHARE_ADAPTERS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    procs, backends = [], {}
    started = time.perf_counter()
    try:
        for name in ("web1", "web2"):
            port, log = _free_port(), tmp / f"{name}.log"
            procs.append((subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT,
                                           env={**env, "NLP_STUDIO_REPLICA": name}, stdout=open(log, "w"),
                                           stderr=subprocess.STDOUT), log))
            backends[name] = f"http://127.0.0.1:{port}"
        port, log = _free_port(), tmp / "proxy.log"
        args = [a for name, url in backends.items() for a in ("--backend", f"{name}={url}")]
        procs.append((subprocess.Popen([sys.executable, "-m", "apps.sticky_proxy", "--port", str(port), *args],
                                       cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT), log))
        for (proc, log), url in zip(procs, [*backends.values(), f"http://127.0.0.1:{port}"]):
            _wait_http(url + "/", proc, log)
        print(f"two replicas and the proxy answered after {time.perf_counter() - started:.1f} s")
        yield f"http://127.0.0.1:{port}", shared
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _call(client: httpx.Client, base: str, api: str, data: list) -> tuple[list, set[str]]:
    """A Gradio API call as two requests (POST: queued, GET: its SSE stream); the replicas seen."""
    post = client.post(f"{base}/gradio_api/call/{api}", json={"data": data}, timeout=60)
    post.raise_for_status()
    seen = {post.headers["x-studio-replica"]}
    with client.stream("GET", f"{base}/gradio_api/call/{api}/{post.json()['event_id']}", timeout=120) as get:
        seen.add(get.headers["x-studio-replica"])
        lines = [line for line in get.iter_lines() if line]
    assert lines[0] == "event: complete", lines[:4]
    import json

    return json.loads(lines[1].removeprefix("data: ")), seen


@pytest.mark.serving
def test_sessions_stay_on_their_replica_and_share_the_adapter_store(replicas):
    base, shared = replicas
    with httpx.Client() as alice, httpx.Client() as bob:
        page = alice.get(base + "/")
        alice_replica = page.headers["x-studio-replica"]  # set by the replica itself (NLP_STUDIO_REPLICA)
        assert page.headers[sticky_proxy.HEADER] == alice_replica and "studio_replica" in alice.cookies
        bob_replica = bob.get(base + "/").headers["x-studio-replica"]
        assert {alice_replica, bob_replica} == {"web1", "web2"}
        # An adapter saved to the shared store after both started (as a training run on either
        # replica would save it) is listed by both.
        src = ROOT / "assets" / "lora" / "pirate-demo"
        shutil.copytree(src, shared / "adapters" / "class-pirate")
        for client, replica in ((alice, alice_replica), (bob, bob_replica)):
            for _ in range(2):
                (rows,), seen = _call(client, base, "adapters", [])  # one output: the list
                assert seen == {replica}  # the queued call and its stream: one process
                assert "class-pirate" in [r["name"] for r in rows]


@pytest.mark.serving
def test_without_the_cookie_a_queued_call_loses_its_replica(replicas):
    """Why stickiness matters: the event queued on one replica is unknown to the other."""
    base, _ = replicas
    post = httpx.post(f"{base}/gradio_api/call/adapters", json={"data": []}, timeout=60)
    event, first = post.json()["event_id"], post.headers["x-studio-replica"]
    with httpx.Client() as stranger:  # no cookie: the proxy deals it the next replica
        text = ""
        with stranger.stream("GET", f"{base}/gradio_api/call/adapters/{event}", timeout=60) as resp:
            assert resp.headers["x-studio-replica"] != first
            try:
                for chunk in resp.iter_text():
                    text += chunk
            except httpx.RemoteProtocolError:  # that replica gave up on the unknown event mid-stream
                pass
        assert "event: complete" not in text  # never the answer: it lives in the other process


def test_compose_recipe_wires_replicas_balancer_and_model_server():
    """docker-compose.yml read statically (Docker is not available here: the recipe is not run)."""
    import yaml

    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    webs = {n: s for n, s in services.items() if "app.py" in s.get("command", [])}
    assert len(webs) >= 2 and "vllm" in services
    assert {s["environment"]["NLP_STUDIO_REPLICA"] for s in webs.values()} == set(webs)
    balancer = services["balancer"]["command"]
    backends = sticky_proxy.parse_backends([balancer[i + 1] for i, a in enumerate(balancer) if a == "--backend"])
    assert backends == {n: f"http://{n}:7860" for n in webs}
    assert services["balancer"]["ports"] == ["7860:7860"]
    for s in webs.values():
        assert s["environment"]["NLP_STUDIO_LLM_URL"] == "http://vllm:8000/v1"
        assert s["environment"]["NLP_STUDIO_SHARE_ADAPTERS"] == "1"
        assert s["volumes"] == ["studio-cache:/home/user/.cache/nlp-studio"]  # one adapter store
    assert "--served-model-name" in services["vllm"]["command"]
    # aiohttp runs the balancer inside the image: it must be pinned in requirements.txt
    assert any(line.startswith("aiohttp==") for line in (ROOT / "requirements.txt").read_text().splitlines())


@pytest.mark.serving
@pytest.mark.browser
def test_a_browser_through_the_proxy_gets_its_queued_events(replicas, browser, screenshot_dir):
    """Chromium through the proxy: the Chat tab fills its adapter list with a queued event on page
    load (a queue join, then its SSE stream: both must reach the replica that holds the session)."""
    from selenium.webdriver.common.by import By

    from tests.browser import click_tab, open_app, page_errors

    base, shared = replicas
    for name in ("browser-pirate", "browser-pirate-2"):
        shutil.rmtree(shared / "adapters" / name, ignore_errors=True)
    shutil.copytree(ROOT / "assets" / "lora" / "pirate-demo", shared / "adapters" / "browser-pirate")
    open_app(browser, base + "/")
    click_tab(browser, "Adapters")  # the table the page-load event filled

    def wait_for(name: str) -> None:
        deadline = time.time() + 90
        while time.time() < deadline and name not in browser.page_source:
            assert not page_errors(browser), page_errors(browser)
            time.sleep(0.5)
        assert name in browser.page_source

    wait_for("browser-pirate")
    # Another adapter lands in the shared store; the refresh button is a queued event (join + SSE).
    shutil.copytree(ROOT / "assets" / "lora" / "pirate-demo", shared / "adapters" / "browser-pirate-2")
    [b for b in browser.find_elements(By.TAG_NAME, "button") if "adapters" in b.text and b.is_displayed()][0].click()
    wait_for("browser-pirate-2")
    assert browser.get_cookie("studio_replica")["value"] in ("web1", "web2")
    browser.save_screenshot(str(Path(screenshot_dir) / "replica_behind_proxy.png"))
    assert not page_errors(browser)


def test_tabs_env_builds_only_the_named_tabs(monkeypatch):
    from apps.gradio import TABS_ENV, tab_modules

    monkeypatch.setenv(TABS_ENV, "chat, home")
    assert [m.__name__ for m in tab_modules()] == ["apps.gradio.home", "apps.gradio.chat"]  # TABS order
    monkeypatch.setenv(TABS_ENV, "chat,nope")
    with pytest.raises(ValueError, match="unknown tabs \\['nope'\\].*known: home"):
        tab_modules()


def test_replica_header_only_when_named(monkeypatch):
    from apps import replica

    monkeypatch.delenv(replica.REPLICA_ENV, raising=False)
    assert replica.app_kwargs() == {}
    monkeypatch.setenv(replica.REPLICA_ENV, "web7")
    (mw,) = replica.app_kwargs()["middleware"]
    assert mw.cls is replica.ReplicaHeader and mw.kwargs == {"replica": "web7"}
