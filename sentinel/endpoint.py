"""The daemon's HTTP endpoint (`/healthz`, `/metrics`) with a bounded number of threads.

The standard library's ThreadingHTTPServer starts a thread per connection and waits on it forever: 600 idle
sockets held 603 threads. Here one thread watches every open connection with a selector and hands a
connection to a small pool only once its request has started to arrive; a connection idle for IDLE seconds is
closed, and past MAX_OPEN connections the oldest idle one is closed to make room, so a probe still gets in.
A request that stalls half-way is bounded by the same socket timeout, and a client that trickles bytes to
stay under it is cut off REQUEST_DEADLINE seconds after its request began.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

WORKERS = 4
IDLE = 5.0  # seconds a connection may stay silent (before its request, or inside it)
MAX_OPEN = 256  # connections held open at once, idle or being served
REQUEST_DEADLINE = 2 * IDLE  # seconds a pool thread may spend on one connection


class BoundedHTTPServer(HTTPServer):
    request_queue_size = 128  # the listen backlog: a burst of connections waits for accept(), not SYN retries

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        handler.timeout = IDLE  # StreamRequestHandler sets it on the socket: reads inside a request time out
        super().__init__(address, handler)
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="http")
        self.idle: dict[socket.socket, tuple[float, tuple]] = {}  # in accept order: the oldest first
        self.busy = 0
        self.serving: dict[socket.socket, float] = {}  # connections in the pool, with when they got there
        self.busy_lock = threading.Lock()
        self.stopping = threading.Event()
        self.stopped = threading.Event()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.socket, selectors.EVENT_READ)
        try:
            while not self.stopping.is_set():
                for key, _ in sel.select(timeout=poll_interval):
                    if key.fileobj is self.socket:
                        self._accept(sel)
                    else:
                        self._dispatch(sel, key.fileobj)  # type: ignore[arg-type]
                now = time.monotonic()
                for conn, (since, _) in list(self.idle.items()):
                    if now - since > IDLE:
                        self._drop(sel, conn)
                with self.busy_lock:
                    late = [c for c, since in self.serving.items() if now - since > REQUEST_DEADLINE]
                for conn in late:  # its pool thread's next read or write fails, and the thread is free again
                    try:
                        conn.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        finally:
            for conn in list(self.idle):
                self._drop(sel, conn)
            sel.close()
            self.stopped.set()

    def _accept(self, sel: selectors.BaseSelector) -> None:
        try:
            conn, addr = self.socket.accept()
        except OSError:
            return
        self.idle[conn] = (time.monotonic(), addr)
        sel.register(conn, selectors.EVENT_READ)
        while len(self.idle) + self.busy > MAX_OPEN and self.idle:
            self._drop(sel, next(iter(self.idle)))

    def _dispatch(self, sel: selectors.BaseSelector, conn: socket.socket) -> None:
        sel.unregister(conn)
        _, addr = self.idle.pop(conn)
        with self.busy_lock:
            self.busy += 1
            self.serving[conn] = time.monotonic()
        self.pool.submit(self._serve_one, conn, addr)

    def _serve_one(self, conn: socket.socket, addr: tuple) -> None:
        try:
            conn.setblocking(True)
            self.finish_request(conn, addr)
        except Exception:
            pass  # a client that went away or timed out
        finally:
            with self.busy_lock:
                self.busy -= 1
                self.serving.pop(conn, None)
            self.shutdown_request(conn)

    def _drop(self, sel: selectors.BaseSelector, conn: socket.socket) -> None:
        self.idle.pop(conn, None)
        try:
            sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        self.shutdown_request(conn)

    def shutdown(self) -> None:
        self.stopping.set()
        self.stopped.wait(5)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.server_close()
