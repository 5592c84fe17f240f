"""Real sockets that fail the way broken infrastructure does, for the infrastructure-error tests.

* ``refusing_port``: a port bound but not listening: every connection is refused, and no
  other process can take the port while the block runs.
* ``silent_server``: a listening socket that never accepts: the kernel completes each
  TCP handshake (up to the backlog), then nothing ever answers, like a host that swallows
  requests.
* ``not_found_server``: an HTTP server that answers every request with 404, like a web
  server that is not the exchange.
"""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCALHOST = "127.0.0.1"


@contextmanager
def refusing_port() -> Iterator[int]:
    """A local port where connections are refused, held for the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOCALHOST, 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def silent_server(backlog: int = 64) -> Iterator[int]:
    """A local port that takes connections and never says a word; its number."""
    sock = socket.create_server((LOCALHOST, 0), backlog=backlog)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


class _NotFound(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body><h1>404 Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read the bot's output, not the server's."""


@contextmanager
def not_found_server() -> Iterator[str]:
    """A local HTTP server answering 404 to everything; its base URL."""
    server = ThreadingHTTPServer((LOCALHOST, 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCALHOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
