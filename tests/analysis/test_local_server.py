"""The local model server's readiness check, against a stand-in for llama-cpp-python's server
(a real process on loopback): ready means "answered a chat completion", and a server that dies
is reported with its exit status and its log's tail, not as a bare connection error."""

import stat
import sys
import textwrap
from pathlib import Path

import pytest

from apps.analysis.local_server import LocalModelError, LocalModelServer, main

# Lists its model like llama.cpp's server, then on its first chat completion either answers or
# dies the way a build for unusable instructions does (a fault signal after a kernel-style line).
STAND_IN = textwrap.dedent(
    """
    import json, os, signal, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    port = int(sys.argv[sys.argv.index("--port") + 1])
    crash = os.environ.get("STAND_IN_CRASH") == "1"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._json({"data": [{"id": "smollm2"}]})

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            if crash:
                print("llama_context: graph_reserve ... general protection fault in "
                      "libggml-cpu.so.0", flush=True)
                os.kill(os.getpid(), signal.SIGSEGV)
            self._json({"choices": [{"message": {"role": "assistant", "content": "OK"}}]})

    print(f"Uvicorn running on http://127.0.0.1:{port}", flush=True)
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
    """
)


@pytest.fixture
def stand_in_python(tmp_path: Path) -> Path:
    """An executable standing in for .venv-llm/bin/python: `-c` finds a model file, `-m
    llama_cpp.server` runs the stand-in server."""
    (tmp_path / "server.py").write_text(STAND_IN)
    python = tmp_path / "python"
    python.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-c" ]; then echo {tmp_path}/model.gguf; exit 0; fi\n'
        f'shift 2; exec {sys.executable} {tmp_path}/server.py "$@"\n'
    )
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    return python


def test_a_server_that_answers_a_chat_completion_is_ready(
    stand_in_python: Path, tmp_path: Path
) -> None:
    server = LocalModelServer(python=stand_in_python, log_path=tmp_path / "server.log")
    server.start()
    try:
        assert server.wait_ready(timeout_s=30) >= 0
        assert server.alive()
    finally:
        server.stop()
    assert not server.alive()


def test_a_server_that_dies_on_its_first_completion_is_reported_with_its_log(
    stand_in_python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_CRASH", "1")
    server = LocalModelServer(python=stand_in_python, log_path=tmp_path / "server.log")
    server.start()
    try:
        with pytest.raises(LocalModelError) as failure:
            server.wait_ready(timeout_s=30)
    finally:
        server.stop()
    message = str(failure.value)
    assert "failed a chat completion" in message
    assert "exited with status -11" in message  # SIGSEGV
    assert "general protection fault in libggml-cpu.so.0" in message


def test_the_check_command_exits_1_with_the_log_tail(
    stand_in_python: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STAND_IN_CRASH", "1")
    log = tmp_path / "check.log"
    assert main(["check", "--python", str(stand_in_python), "--log", str(log)]) == 1
    assert "general protection fault" in capsys.readouterr().err


def test_alive_fails_once_the_started_server_is_gone(
    stand_in_python: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--python", str(stand_in_python), "--log", str(tmp_path / "s.log")]
    pidfile = ["--pidfile", str(tmp_path / "s.pid")]
    port = ["--port", str(LocalModelServer(python=stand_in_python, log_path=tmp_path).port)]
    assert main(["start", *common, *port, *pidfile]) == 0
    try:
        assert main(["alive", *common, *port, *pidfile]) == 0
    finally:
        assert main(["stop", *common, *pidfile]) == 0
    (tmp_path / "s.pid").write_text("999999")
    assert main(["alive", *common, *port, *pidfile]) == 1
    assert "is not running" in capsys.readouterr().err
