"""Real HTTP servers that receive alerts, on a free localhost port each.

* ``webhook_receiver``: accepts ``POST`` JSON bodies; each request lands in ``requests``
  (a queue: a test waits on it with a bound, never sleeps). Its ``mode`` can make it
  answer 500 or hang until the test calls ``release()``, as a broken receiver would.
* ``telegram_api``: a stand-in for the Telegram Bot API's ``sendMessage`` with the real
  request shape (``POST /bot<TOKEN>/sendMessage``, JSON ``chat_id`` and ``text``) and the
  real answers: ``{"ok": true, "result": {...message...}}``, or ``{"ok": false,
  "error_code": ..., "description": ...}`` with 401 for a wrong token, 404 for an unknown
  method and 400 for an unknown chat, an empty or an over-long text.
"""

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "fail", "hang"]

HANG_LIMIT_S = 60.0
"""Longest a hanging receiver holds a request if the test never releases it."""


@dataclass
class Received:
    """One request a receiver got: its path, headers and JSON body."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    """A running receiver: its URL, what it received, and how it answers."""

    url: str
    requests: "queue.Queue[Received]" = field(default_factory=queue.Queue)
    mode: Mode = "ok"
    _release: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let every hanging request (and later ones) answer."""
        self._release.set()

    def take(self, timeout_s: float = 30.0) -> Received:
        """The next request received, waiting ``timeout_s`` at most."""
        return self.requests.get(timeout=timeout_s)

    def drain(self) -> list[Received]:
        """Every request received so far and not taken yet."""
        out = []
        while True:
            try:
                out.append(self.requests.get_nowait())
            except queue.Empty:
                return out


def _answer(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _read(handler: BaseHTTPRequestHandler) -> Received:
    length = int(handler.headers.get("Content-Length", 0))
    raw = handler.rfile.read(length)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return Received(handler.path, dict(handler.headers.items()), body)


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler], receiver: Receiver) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.receiver = receiver  # type: ignore[attr-defined]
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()  # no request stays hanging
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _WebhookHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        request = _read(self)
        receiver.requests.put(request)
        if receiver.mode == "hang":
            receiver._release.wait(HANG_LIMIT_S)
        if receiver.mode == "fail":
            _answer(self, 500, {"error": "receiver broken"})
        else:
            _answer(self, 200, {"received": True})


@contextmanager
def webhook_receiver(mode: Mode = "ok") -> Iterator[Receiver]:
    """A JSON webhook receiver on localhost while the block runs."""
    with _serving(_WebhookHandler, Receiver("", mode=mode)) as receiver:
        yield receiver


@dataclass
class TelegramReceiver(Receiver):
    """A ``Receiver`` that also knows the bot's token and the chats it may write to."""

    token: str = ""
    chats: frozenset[str] = frozenset()
    next_message_id: int = 1


class _TelegramHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        api: TelegramReceiver = self.server.receiver  # type: ignore[attr-defined]
        request = _read(self)
        api.requests.put(request)
        prefix, _, method = self.path.lstrip("/").partition("/")
        if prefix != f"bot{api.token}":
            _answer(self, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        if method != "sendMessage":
            _answer(self, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        body = request.body if isinstance(request.body, dict) else {}
        chat, text = str(body.get("chat_id", "")), body.get("text")
        problem = None
        if chat not in api.chats:
            problem = "Bad Request: chat not found"
        elif not isinstance(text, str) or not text.strip():
            problem = "Bad Request: message text is empty"
        elif len(text) > 4096:
            problem = "Bad Request: message is too long"
        if problem is not None:
            _answer(self, 400, {"ok": False, "error_code": 400, "description": problem})
            return
        message_id, api.next_message_id = api.next_message_id, api.next_message_id + 1
        chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        _answer(
            self,
            200,
            {
                "ok": True,
                "result": {
                    "message_id": message_id,
                    "from": {"id": 1, "is_bot": True, "first_name": "market-maker"},
                    "chat": {"id": chat_id, "type": "private"},
                    "date": 1_747_180_800,
                    "text": text,
                },
            },
        )


@contextmanager
def telegram_api(token: str, chats: frozenset[str]) -> Iterator[TelegramReceiver]:
    """A stand-in Telegram Bot API on localhost while the block runs."""
    with _serving(_TelegramHandler, TelegramReceiver("", token=token, chats=chats)) as api:
        yield api  # type: ignore[misc]
