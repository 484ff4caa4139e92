"""A local HTTP server that plays the SMS provider (Twilio's Messages API), for the
tests, the benchmark and development: nothing leaves the machine.

It answers ``POST /2010-04-01/Accounts/<sid>/Messages.json`` the way Twilio does
(basic auth with the account and token, form fields, a JSON message or a JSON error),
keeps what it was sent (``GET`` lists a number's messages, newest first), and then
posts the delivery receipts (``sent``, then ``delivered`` or ``undelivered``) to the
message's status-callback address, signed with the token as Twilio signs them. It can
also post a patient's text to the inbound webhook. Failures are scripted: answer the
next requests with an error, or treat some numbers as unable to receive texts.
"""

import argparse
import base64
import contextlib
import datetime
import json
import queue
import re
import socket
import threading
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twilio.request_validator import RequestValidator

from messaging import segments

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class Sent:
    sid: str
    to: str
    body: str
    status_callback: str
    created: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))

    @property
    def key(self) -> str:
        """The idempotency key the message's callback address carries."""
        query = urllib.parse.urlparse(self.status_callback).query
        return urllib.parse.parse_qs(query).get("key", [""])[0]


@dataclass
class ProviderDouble:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token"
    callbacks: bool = True
    sent: list[Sent] = field(default_factory=list)
    # Numbers whose carrier says they cannot take texts (a landline, Twilio's 30006).
    unreachable: set[str] = field(default_factory=set)
    # The next requests (sends or lists) fail with these HTTP statuses, in order (429,
    # 500: temporary).
    failures: list[int] = field(default_factory=list)
    port: int = 0  # any free one
    # Once this many texts are taken, the next request hangs until released (then
    # fails): a caller stopped in the middle of its work, for a test to kill.
    hold_after: int | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.holding = threading.Event()
        self._released = threading.Event()
        self._receipts: queue.Queue = queue.Queue()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # Running --------------------------------------------------------------------------

    def start(self) -> "ProviderDouble":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        threading.Thread(target=self._post_receipts, daemon=True).start()
        return self

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        self._receipts.put(None)
        self._server.shutdown()
        self._server.server_close()

    def wait_for_receipts(self, timeout: float = 180) -> None:
        """Block until every receipt queued so far has been posted."""
        done = threading.Event()
        self._receipts.put(done)
        if not done.wait(timeout):
            raise TimeoutError("The provider double's receipts did not go out.")

    # What a test scripts or reads ------------------------------------------------------

    def sent_to(self, number: str) -> list[Sent]:
        with self._lock:
            return [message for message in self.sent if message.to == number]

    def sign(self, url: str, fields: dict[str, str]) -> str:
        return RequestValidator(self.auth_token).compute_signature(url, fields)

    def post(self, url: str, fields: dict[str, str], *, signature: str | None = None) -> int:
        """POST a webhook as the provider does; returns the HTTP status."""
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": self.sign(url, fields) if signature is None else signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def text_from(self, number: str, body: str, *, webhook: str) -> tuple[int, str]:
        """A patient's text arriving: post it to the inbound webhook. Returns the HTTP
        status and the message id."""
        sid = "SM" + uuid.uuid4().hex
        fields = {
            "AccountSid": self.account_sid,
            "MessageSid": sid,
            "From": number,
            "To": "+15550100100",
            "Body": body,
            "NumSegments": str(segments.count(body)[0]),
        }
        return self.post(webhook, fields), sid

    # The provider's side -------------------------------------------------------------

    def _accept(self, fields: dict[str, str]) -> tuple[int, dict]:
        if self.hold_after is not None and len(self.sent) >= self.hold_after:
            self.holding.set()
            self._released.wait()
            return 503, _error(503, 20503, "Service unavailable.")
        if failure := self._scripted_failure():
            return failure
        to, body = fields.get("To", ""), fields.get("Body", "")
        if not E164.match(to):
            return 400, _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return 400, _error(400, 21602, "Message body is required.")
        message = Sent(
            sid="SM" + uuid.uuid4().hex,
            to=to,
            body=body,
            status_callback=fields.get("StatusCallback", ""),
        )
        with self._lock:
            self.sent.append(message)
        if self.callbacks and message.status_callback:
            self._receipts.put((message, "sent", ""))
            if to in self.unreachable:
                self._receipts.put((message, "undelivered", "30006"))
            else:
                self._receipts.put((message, "delivered", ""))
        return 201, self._resource(message, fields.get("From", ""))

    def _scripted_failure(self) -> tuple[int, dict] | None:
        with self._lock:
            if not self.failures:
                return None
            status = self.failures.pop(0)
        return status, _error(status, 20500 if status >= 500 else 20429, "Try again.")

    def _list(self, query: dict[str, str]) -> tuple[int, dict]:
        if failure := self._scripted_failure():
            return failure
        to = query.get("To", "")
        size = int(query.get("PageSize") or 50)
        with self._lock:
            found = [message for message in reversed(self.sent) if message.to == to][:size]
        return 200, {
            "messages": [self._resource(message) for message in found],
            "page": 0,
            "page_size": size,
            "next_page_uri": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages.json",
        }

    def _resource(self, message: Sent, sender: str = "") -> dict:
        created = format_datetime(message.created)
        return {
            "sid": message.sid,
            "account_sid": self.account_sid,
            "to": message.to,
            "from": sender,
            "body": message.body,
            "status": "queued",
            "num_segments": str(segments.count(message.body)[0]),
            "direction": "outbound-api",
            "date_created": created,
            "date_updated": created,
            "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}.json",
        }

    def _post_receipts(self) -> None:
        while (item := self._receipts.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
                continue
            message, status, error_code = item
            fields = {
                "AccountSid": self.account_sid,
                "MessageSid": message.sid,
                "MessageStatus": status,
                "To": message.to,
            }
            if error_code:
                fields["ErrorCode"] = error_code
            # Like the provider: a receipt nobody takes is not retried forever.
            with contextlib.suppress(OSError):
                self.post(message.status_callback, fields)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes: without this, each answer
                # on a kept-alive connection waits out the client's delayed ACK.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if self._allowed():
                    fields = {k: v[-1] for k, v in urllib.parse.parse_qs(raw).items()}
                    self._answer(*double._accept(fields))

            def do_GET(self) -> None:
                if self._allowed():
                    query = urllib.parse.urlparse(self.path).query
                    fields = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
                    self._answer(*double._list(fields))

            def _allowed(self) -> bool:
                path = f"/2010-04-01/Accounts/{double.account_sid}/Messages.json"
                if self.headers.get("Authorization") != expected:
                    self._answer(401, _error(401, 20003, "Authenticate"))
                elif urllib.parse.urlparse(self.path).path != path:
                    self._answer(404, _error(404, 20404, "Not found"))
                else:
                    return True
                return False

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # phone numbers stay out of the logs

        return Handler


def _error(status: int, code: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


if __name__ == "__main__":
    # Its own process, as a provider is (the benchmark runs it so): python -m
    # messaging.sms_double --port 8025 --no-receipts
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-receipts", action="store_true")
    options = parser.parse_args()
    ProviderDouble(port=options.port, callbacks=not options.no_receipts).start()
    threading.Event().wait()
