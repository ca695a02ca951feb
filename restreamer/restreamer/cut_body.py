"""A cut's HTTP response body: streams the cut, stops it when the client hangs up."""

import logging
import socket
import time

import gevent
import gevent.socket
import prometheus_client as prom

from common import cuts

log = logging.getLogger(__name__)

cut_bytes = prom.Counter("cut_bytes", "Bytes of cut video sent", ["type", "container"])
cuts_started = prom.Counter("cuts_started", "Cuts started", ["type", "container"])
cuts_running = prom.Gauge("cuts_running", "Cuts being produced now", ["type"])


class CutBody:
    """A cut's response body: counts bytes, releases its full-cut slot, and stops the cut as
    soon as the client disconnects (even while ffmpeg is still working on output to come)."""

    def __init__(self, chunks, kind, container, release, client_socket, description):
        self.chunks = iter(chunks)
        self.kind, self.container = kind, container
        self.description = description
        self.started = time.monotonic()
        self.sent = 0
        self.finished = False
        self.release = release
        self.first = None
        self.closed = False
        cuts_started.labels(kind, container).inc()
        cuts_running.labels(kind).inc()
        self.watcher = None
        if client_socket is not None and kind != "rough":
            self.watcher = gevent.spawn(_watch_client, client_socket, gevent.getcurrent())

    def prefetch(self):
        """Run the cut up to its first chunk, so early failures get a proper status."""
        try:
            self.first = next(self.chunks, b"")
        except BaseException:
            self.close()
            raise

    def __iter__(self):
        try:
            if self.first:
                cut_bytes.labels(self.kind, self.container).inc(len(self.first))
                self.sent += len(self.first)
                yield self.first
            self.first = None
            for chunk in self.chunks:
                cut_bytes.labels(self.kind, self.container).inc(len(chunk))
                self.sent += len(chunk)
                yield chunk
            self.finished = True
        except cuts.CutError as e:
            # Headers are sent: all we can do is log and end the response abnormally.
            log.error("cut failed while streaming: %s", e)
            raise
        finally:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.watcher is not None:
            self.watcher.kill(block=False)
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        cuts_running.labels(self.kind).dec()
        log.info("%s cut %s (%s): %s after %.1fs, %d bytes sent", self.kind, self.description,
                 self.container, "done" if self.finished else "stopped early",
                 time.monotonic() - self.started, self.sent)
        if self.release is not None:
            self.release()


def _watch_client(sock, request_greenlet):
    """Kill the request's greenlet (and so its ffmpeg) when the client hangs up mid-cut.
    A client waiting for a response sends nothing, so readability means EOF or a reset."""
    try:
        gevent.socket.wait_read(sock.fileno())
        gone = not sock.recv(1, socket.MSG_PEEK)
    except OSError:
        gone = True
    if gone:
        log.info("client disconnected: stopping its cut")
        request_greenlet.kill(block=False)
