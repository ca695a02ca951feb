"""gevent WSGI server tuned for many small keep-alive requests and long streamed bodies."""

import logging
import socket

from gevent.pool import Pool
from gevent.pywsgi import WSGIHandler, WSGIServer

log = logging.getLogger(__name__)


class Handler(WSGIHandler):
    def get_environ(self):
        environ = super().get_environ()
        # Lets a long cut notice its client hanging up while it has nothing to send yet.
        environ["restreamer.socket"] = self.socket
        return environ


class Server(WSGIServer):
    handler_class = Handler

    def handle(self, sock, address):
        # Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK stall every
        # small response on a keep-alive connection by ~40 ms.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle(sock, address)


def make_server(app, host, port, max_connections=1000):
    return Server((host, port), app, spawn=Pool(max_connections), log=None,
                  error_log=logging.getLogger("restreamer.http"))
