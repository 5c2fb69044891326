"""A loopback TCP proxy a fault test opens and shuts: between a worker and PostgreSQL it makes
the database unreachable (every connection closed at once) and reachable again."""

import socket
import threading
from contextlib import suppress

from tests.redis_server import free_port


class TcpProxy:
    """Listens on a free 127.0.0.1 port; while ``open`` it forwards each connection to
    ``target`` (host, port), while shut it accepts and closes at once (the client sees the
    server close the connection). ``refused`` counts the connections closed that way."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.open = False
        self.refused = 0
        self._forwarded: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> None:
        """Start accepting connections (shut until ``open`` is set)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting; connections already forwarded end with their peers."""
        with suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()

    def cut(self) -> None:
        """Shut the proxy and close every forwarded connection: peers see them drop."""
        self.open = False
        for end in self._forwarded:
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        self._forwarded.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.open:
                self.refused += 1
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self._forwarded += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    for end in (source, sink):
        with suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
