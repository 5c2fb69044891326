"""A loopback OpenAI-compatible chat-completions server for tests: it records each request and
answers with scripted message contents, in order (the last one repeats)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a burst of runs connects at once


class ScriptedLlmServer:
    """Serve POST /v1/chat/completions on 127.0.0.1 with scripted answers."""

    def __init__(self, *, delay_s: float = 0.0, record: bool = True) -> None:
        self.delay_s = delay_s
        self.record = record
        self.answers: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._server = _LoopbackServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def answer_with(self, *contents: str | dict[str, Any]) -> None:
        """Queue answers; a dict is sent as its JSON text."""
        self.answers = [c if isinstance(c, str) else json.dumps(c) for c in contents]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_answer(self) -> str:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length))
                if owner.record:
                    owner.requests.append(request)
                time.sleep(owner.delay_s)
                if owner.record:
                    owner.headers.append(dict(self.headers))
                body = json.dumps(
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": request.get("model") or "test-model",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": owner._next_answer()},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": 120,
                            "completion_tokens": 40,
                            "total_tokens": 160,
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
