"""gevent WSGI server tuned for many small keep-alive requests and long streamed bodies,
with a graceful stop: finish the responses in flight, drop idle keep-alive connections.
Shared by the services with an HTTP API (restreamer, editor).

The connection's socket is in the WSGI environ as `SOCKET_KEY`, so a long response can notice
its client hanging up while it has nothing to send yet."""

import logging
import socket
from collections.abc import Callable

from gevent.pool import Pool
from gevent.pywsgi import WSGIHandler, WSGIServer

log = logging.getLogger(__name__)

SOCKET_KEY = "http_server.socket"


class Handler(WSGIHandler):
    """One connection. Tracks whether it is busy with a request, so a stop can close idle
    keep-alive connections at once instead of waiting for their clients to go away."""

    def handle(self) -> None:
        self.server.connections.add(self)
        try:
            super().handle()
        finally:
            self.server.connections.discard(self)

    def handle_one_response(self) -> None:
        self.server.busy.add(self)
        try:
            super().handle_one_response()
        finally:
            self.server.busy.discard(self)
            if self.server.draining:
                self.close_connection = True

    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ[SOCKET_KEY] = self.socket
        return environ

    def shutdown_idle(self) -> None:
        sock = getattr(self, "socket", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Server(WSGIServer):
    handler_class = Handler

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.connections = set()
        self.busy = set()
        self.draining = False

    def handle(self, sock: socket.socket, address: tuple) -> None:
        # Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK stall every
        # small response on a keep-alive connection by ~40 ms.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle(sock, address)

    def in_flight(self) -> int:
        return len(self.busy)

    def drain(self, timeout: float) -> None:
        """Stop accepting, let requests in flight finish (up to timeout seconds), then stop."""
        self.draining = True
        self.close()
        for handler in list(self.connections - self.busy):
            handler.shutdown_idle()
        self.pool.join(timeout=timeout)
        if self.busy:
            log.warning("%d request(s) still running after %ss: stopping them", len(self.busy),
                        timeout)
        self.pool.kill(block=True, timeout=1)


def make_server(app: Callable, host: str, port: int, max_connections: int = 1000,
                service: str = "http") -> Server:
    """Errors are logged as SERVICE.http."""
    return Server((host, port), app, spawn=Pool(max_connections), log=None,
                  error_log=logging.getLogger(f"{service}.http"))
