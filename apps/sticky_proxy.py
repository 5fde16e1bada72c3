"""A small balancer with sticky sessions for several NLP Studio replicas behind one address.

    .venv/bin/python -m apps.sticky_proxy --port 7860 \\
        --backend web1=http://127.0.0.1:7861 --backend web2=http://127.0.0.1:7862

Gradio keeps each visitor's state (gr.State, the queue's session, streaming ASR, chat history) in
the process that served the page, so every request of one browser must reach the same replica. A
new browser is given the next replica in turn (round robin) and a cookie naming it
(`studio_replica`); later requests carrying the cookie go there. If that replica stops answering,
the browser is moved to another one (its in-process state is lost: the page must be reloaded) and
the cookie is rewritten. HTTP (streamed: SSE and large downloads pass through as they arrive) and
WebSockets are proxied. Answers carry `x-studio-proxy-replica`, the replica that served them.

For a department server, nginx or Traefik with cookie affinity do the same (docs/serving_scale.md);
this one is for a laptop or a test without them. It uses aiohttp, already in the studio's venv.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools

from aiohttp import ClientSession, ClientTimeout, DummyCookieJar, WSMsgType, client_exceptions, web

COOKIE = "studio_replica"
HEADER = "x-studio-proxy-replica"
# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, never forwarded; nor is Host.
HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
       "transfer-encoding", "upgrade", "host"}
# Refused connections only: nothing was sent, so the request can go to another replica unchanged.
DOWN = (client_exceptions.ClientConnectorError,)


def parse_backends(specs: list[str]) -> dict[str, str]:
    """["web1=http://h:7861", ...] -> {"web1": "http://h:7861"}; a bare URL is named by position."""
    out = {}
    for i, spec in enumerate(specs, 1):
        name, sep, url = spec.partition("=")
        name, url = (name, url) if sep else (f"r{i}", spec)
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"backend {spec!r}: give NAME=http://host:port")
        out[name.strip()] = url.rstrip("/")
    if not out:
        raise ValueError("give at least one --backend NAME=http://host:port")
    return out


class StickyProxy:
    def __init__(self, backends: dict[str, str], timeout_s: float = 600):
        self.backends = backends
        self.turn = itertools.cycle(list(backends))
        self.timeout = ClientTimeout(total=None, sock_connect=5, sock_read=timeout_s)
        self.session: ClientSession | None = None

    async def start(self, app: web.Application) -> None:
        # auto_decompress off: bodies pass through byte for byte, with their content-encoding. No
        # cookie jar: each browser's cookies are forwarded, none kept between browsers.
        self.session = ClientSession(timeout=self.timeout, auto_decompress=False, cookie_jar=DummyCookieJar())

    async def stop(self, app: web.Application) -> None:
        await self.session.close()

    def pick(self, request: web.Request, exclude: set[str] = frozenset()) -> str:
        pinned = request.cookies.get(COOKIE)
        if pinned in self.backends and pinned not in exclude:
            return pinned
        for _ in range(len(self.backends)):
            name = next(self.turn)
            if name not in exclude:
                return name
        raise web.HTTPBadGateway(text="no replica is answering; try again in a minute")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        tried: set[str] = set()
        while True:
            name = self.pick(request, tried)
            try:
                if request.headers.get("upgrade", "").lower() == "websocket":
                    return await self._websocket(request, name)
                return await self._http(request, name)
            except DOWN:
                tried.add(name)  # that replica is down: move this browser to another one

    def _headers(self, request: web.Request) -> dict[str, str]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        headers["x-forwarded-for"] = request.remote or ""
        headers["x-forwarded-proto"] = request.scheme
        headers["x-forwarded-host"] = request.host
        return headers

    def _pin(self, request: web.Request, response: web.StreamResponse, name: str) -> None:
        response.headers[HEADER] = name
        if request.cookies.get(COOKIE) != name:
            response.set_cookie(COOKIE, name, httponly=True, samesite="Lax", path="/")

    async def _http(self, request: web.Request, name: str) -> web.StreamResponse:
        url = self.backends[name] + request.rel_url.raw_path_qs
        body = request.content.iter_chunked(1 << 16) if request.body_exists else None
        async with self.session.request(request.method, url, headers=self._headers(request), data=body,
                                        allow_redirects=False) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP and key.lower() != "set-cookie":
                    response.headers.add(key, value)
            for value in upstream.headers.getall("set-cookie", []):
                response.headers.add("set-cookie", value)
            self._pin(request, response, name)
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():  # as it arrives: SSE events are not held back
                await response.write(chunk)
            await response.write_eof()
            return response

    async def _websocket(self, request: web.Request, name: str) -> web.WebSocketResponse:
        url = self.backends[name].replace("http", "ws", 1) + request.rel_url.raw_path_qs
        headers = {k: v for k, v in self._headers(request).items()
                   if not k.lower().startswith("sec-websocket")}
        async with self.session.ws_connect(url, headers=headers) as upstream:
            client = web.WebSocketResponse()
            self._pin(request, client, name)
            await client.prepare(request)

            async def pump(src, dst):
                async for msg in src:
                    if msg.type == WSMsgType.TEXT:
                        await dst.send_str(msg.data)
                    elif msg.type == WSMsgType.BINARY:
                        await dst.send_bytes(msg.data)
                    else:
                        break
                await dst.close()

            await asyncio.gather(pump(client, upstream), pump(upstream, client), return_exceptions=True)
            return client


def make_app(backends: dict[str, str]) -> web.Application:
    proxy = StickyProxy(backends)
    app = web.Application(client_max_size=0)  # no body limit here: the replicas enforce their own
    app.on_startup.append(proxy.start)
    app.on_cleanup.append(proxy.stop)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--backend", action="append", default=[], help="NAME=http://host:port (repeat)")
    args = parser.parse_args(argv)
    backends = parse_backends(args.backend)
    print(f"sticky proxy on http://{args.host}:{args.port}/ -> " +
          ", ".join(f"{k}={v}" for k, v in backends.items()), flush=True)
    web.run_app(make_app(backends), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
