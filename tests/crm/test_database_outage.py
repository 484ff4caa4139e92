"""The database goes away under load and comes back: every answer meanwhile is a JSON
503 with Retry-After (never Django's HTML 500), the application reconnects by itself,
and no write that was acknowledged is lost. PostgreSQL is reached through a proxy on
loopback that the test cuts and restores."""

import socket
import socketserver
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from crm.roles import Role
from patients.models import Patient
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL under a proxy"),
]


class CuttableProxy(socketserver.ThreadingTCPServer):
    """Forwards loopback connections to the database until it is cut: then every open
    connection is closed and new ones are refused, until it is restored."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: tuple[str, int]):
        super().__init__(("127.0.0.1", 0), _Pipe)
        self.target = target
        self.cut = threading.Event()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()

    def sever(self) -> None:
        self.cut.set()
        with self.lock:
            for sock in self.open:
                with _quiet():
                    sock.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def restore(self) -> None:
        self.cut.clear()


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], OSError)


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self):
        server: CuttableProxy = self.server  # type: ignore[assignment]
        if server.cut.is_set():
            return
        upstream = socket.create_connection(server.target)
        with server.lock:
            server.open |= {self.request, upstream}
        pumps = [
            threading.Thread(target=_pump, args=(self.request, upstream), daemon=True),
            threading.Thread(target=_pump, args=(upstream, self.request), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with _quiet():
        while data := source.recv(65536):
            sink.sendall(data)
    for sock in (source, sink):
        with _quiet():
            sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxied():
    settings_dict = connection.settings_dict
    target = (settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432))
    proxy = CuttableProxy(target)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    original_port = settings_dict["PORT"]
    connection.close()
    settings_dict["PORT"] = str(proxy.server_address[1])
    yield proxy
    proxy.restore()
    connection.close()
    settings_dict["PORT"] = original_port
    proxy.shutdown()
    proxy.server_close()


def test_an_outage_answers_json_503s_and_loses_no_acknowledged_write(proxied):
    user = UserFactory(username="casey", roles=[Role.FRONT_DESK])
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)

    def register(n: int):
        return client.post(
            "/api/patients/",
            # Look-alikes (Outage1, Outage2...): registered as the different people they are.
            {
                "family_name": f"Outage{n}",
                "given_name": "Test",
                "birth_date": "1980-01-01",
                "confirm_new_person": True,
            },
            "json",
        )

    acknowledged, outcomes = [], []
    for n in range(30):
        if n == 10:
            proxied.sever()
        if n == 20:
            proxied.restore()
        response = register(n)
        outcomes.append(response.status_code)
        if response.status_code == 201:
            acknowledged.append(response.json()["id"])
        elif 10 <= n < 20:
            assert response.status_code == 503, response.content
            assert response["Content-Type"] == "application/json"
            assert response.json()["code"] == "unavailable"
            assert response["Retry-After"] == "5"
    assert outcomes[:10] == [201] * 10
    assert 503 in outcomes[10:20]
    assert outcomes[-5:] == [201] * 5  # recovered by itself
    stored = set(
        Patient.objects.filter(family_name__startswith="Outage").values_list("pk", flat=True)
    )
    assert set(acknowledged) <= stored
