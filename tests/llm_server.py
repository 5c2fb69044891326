"""A loopback OpenAI-compatible chat-completions server for tests and benchmarks.

It records each request (with its arrival time) and answers from a script, in order, the last
entry repeating: a string or dict is a 200 answer with that message content; a ``Reply`` sets
the status, headers and error body (429 with Retry-After, 500, 400 …), a delay, a refusal
(``message.refusal`` set, ``content`` null) or the choice's ``finish_reason``. Like
llama.cpp's server, it can refuse response formats it does not support (``refuse_formats``).
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A scripted HTTP reply: an error status with headers, or an answer after a delay.

    ``refusal`` answers as OpenAI does when a model declines: ``message.refusal`` holds the text
    and ``message.content`` is null (unless ``content`` is also given).
    """

    status: int = 200
    content: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    refusal: str | None = None
    finish_reason: str = "stop"


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a burst of runs connects at once


class ScriptedLlmServer:
    """Serve POST /v1/chat/completions on 127.0.0.1 with scripted replies."""

    def __init__(self, *, delay_s: float = 0.0, record: bool = True) -> None:
        self.delay_s = delay_s
        self.record = record
        self.refuse_formats: set[str] = set()
        self.reported_model = ""  # the model id answers carry; default: the requested one
        self.usage = {"prompt_tokens": 120, "completion_tokens": 40}
        self.replies: list[Reply] = [Reply(content="{}")]
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = _LoopbackServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def answer_with(self, *replies: "str | dict[str, Any] | Reply") -> None:
        """Script the replies; a dict is answered as its JSON text."""
        self.replies = [
            r if isinstance(r, Reply) else Reply(content=r if isinstance(r, str) else json.dumps(r))
            for r in replies
        ]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> Reply:
        with self._lock:
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _respond(self, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        requested = (request.get("response_format") or {}).get("type", "text")
        if requested in self.refuse_formats:
            error = {
                "error": {
                    "message": f"response_format type {requested} is not supported",
                    "type": "invalid_request_error",
                }
            }
            return 400, {}, json.dumps(error).encode()
        reply = self._next()
        time.sleep(self.delay_s + reply.delay_s)
        if reply.status != 200:
            error_body = {
                "error": {
                    "message": reply.content or f"scripted {reply.status}",
                    "type": "server_error",
                }
            }
            return reply.status, reply.headers, json.dumps(error_body).encode()
        body: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": self.reported_model or request.get("model") or "test-model",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": reply.finish_reason,
                    "message": self._message(reply),
                }
            ],
            "usage": {**self.usage, "total_tokens": sum(self.usage.values())},
        }
        return 200, reply.headers, json.dumps(body).encode()

    @staticmethod
    def _message(reply: Reply) -> dict[str, Any]:
        if reply.refusal is None:
            return {"role": "assistant", "content": reply.content}
        content = reply.content or None  # OpenAI sends null content with a refusal
        return {"role": "assistant", "content": content, "refusal": reply.refusal}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length))
                if owner.record:
                    owner.requests.append(request)
                    owner.arrivals.append(time.monotonic())
                    owner.headers.append(dict(self.headers))
                status, headers, body = owner._respond(request)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
