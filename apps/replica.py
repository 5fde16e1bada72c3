"""Which replica answered: an ASGI middleware that adds `x-studio-replica` to every HTTP response.

Several app processes behind one balancer (docs/serving_scale.md) each get NLP_STUDIO_REPLICA
(e.g. "web1"); the header lets a teacher, a test or the balancer's log see that a browser's calls
all reach the same process. Pure ASGI, so streamed responses (SSE) pass through unbuffered.
"""
from __future__ import annotations

import os

REPLICA_ENV = "NLP_STUDIO_REPLICA"
HEADER = b"x-studio-replica"


def replica_id() -> str:
    return os.environ.get(REPLICA_ENV, "").strip()


class ReplicaHeader:
    def __init__(self, app, replica: str):
        self.app, self.value = app, replica.encode("latin-1", "replace")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_header(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER, self.value)]}
            await send(message)

        return await self.app(scope, receive, send_with_header)


def app_kwargs() -> dict:
    """Extra FastAPI arguments for `launch(app_kwargs=...)`: the header when this is a replica."""
    replica = replica_id()
    if not replica:
        return {}
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(ReplicaHeader, replica=replica)]}
