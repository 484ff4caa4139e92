"""Webhooks: a receiver on loopback that fails on purpose for a while gets every
change once, in feed order, signed, after its outage; every attempt is logged; a
subscription gets only what its owner may read; resend delivers again."""

import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading

import pytest
import time_machine
from django.utils import timezone

from crm.integrations import integration_client_create
from crm.models import AccessRecord
from crm.roles import Role
from integrations.models import WebhookSubscription
from integrations.webhooks import deliver_due, deliver_page
from tests.api.test_integration_clients import token_for
from tests.factories import InteractionFactory, PatientFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server on loopback answering ``fail_first`` POSTs with 503, then 200;
    keeps what it accepted."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.accepted: list[tuple[dict, bytes, str]] = []
        self.attempts = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts <= receiver.fail_first:
                    self.send_response(503)
                else:
                    receiver.accepted.append(
                        (json.loads(body), body, self.headers["X-CRM-Signature"])
                    )
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(fail_first=0):
        made.append(Receiver(fail_first))
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.fixture
def client_subscription(client, settings):
    """A call center's client registers a webhook for patients: the subscription and
    its secret."""
    settings.WEBHOOK_BATCH = 3
    settings.WEBHOOK_PRIVATE_ADDRESSES = True  # the receivers here are on loopback

    def register(url, types=("Patient",), scopes=("system/Patient.read",)):
        application, secret = integration_client_create(
            name=f"Hook {url}", role=Role.FRONT_DESK, scopes=list(scopes)
        )
        token = token_for(application, secret).json()["access_token"]
        response = client.post(
            "/api/webhooks/",
            {"url": url, "types": list(types)},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        return WebhookSubscription.objects.get(pk=body["id"]), body["secret"], token

    return register


def test_after_an_outage_the_receiver_gets_every_change_once_in_order(
    receiver, client_subscription
):
    down = receiver(fail_first=3)
    subscription, secret, _ = client_subscription(down.url)
    patients = PatientFactory.create_batch(7)
    InteractionFactory(patient=patients[0])  # not a type it asked for
    now = timezone.now()
    for _ in range(3):  # the receiver is down: nothing moves, the wait grows
        with time_machine.travel(now, tick=False):
            assert deliver_due() == {"delivered": 0, "failed": 1}
        subscription.refresh_from_db()
        now = subscription.next_attempt_at
    assert subscription.failures == 3
    assert (subscription.next_attempt_at - subscription.deliveries.first().attempted_at) == (
        dt.timedelta(minutes=8)
    )
    with time_machine.travel(now, tick=False):
        assert deliver_due() == {"delivered": 3, "failed": 0}  # 7 changes, 3 a page
    received = [change for body, _, _ in down.accepted for change in body["changes"]]
    assert [(c["type"], c["id"], c["action"]) for c in received] == [
        ("Patient", p.pk, "create") for p in patients
    ]
    cursors = [tuple(map(int, c["cursor"].split("."))) for c in received]
    assert cursors == sorted(set(cursors))
    for _, raw, header in down.accepted:
        stamp, sent = dict(part.split("=") for part in header.split(",")).values()
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256)
        assert hmac.compare_digest(sent, expected.hexdigest())
    log = list(subscription.deliveries.order_by("id"))
    assert [d.succeeded for d in log] == [False, False, False, True, True, True]
    assert log[0].status_code == 503 and log[0].error == "The receiver answered 503."
    # Every attempt is in the access log, with the patients it carried.
    sent = AccessRecord.objects.filter(auth_method="webhook").order_by("id")
    assert [r.outcome for r in sent] == ["failed"] * 3 + ["allowed"] * 3
    assert set().union(*(r.patients for r in sent[3:])) == {p.pk for p in patients}
    assert {r.endpoint for r in sent} == {down.url}
    # Nothing new: nothing sent.
    with time_machine.travel(now + dt.timedelta(minutes=1), tick=False):
        assert deliver_due() == {"delivered": 0, "failed": 0}
    assert down.attempts == 6


def test_resend_delivers_again_from_an_earlier_cursor(receiver, client_subscription, client):
    up = receiver()
    subscription, _, token = client_subscription(up.url)
    PatientFactory.create_batch(2)
    deliver_due()
    first = up.accepted[0][0]["changes"][0]["cursor"]
    response = client.post(
        f"/api/webhooks/{subscription.pk}/resend/",
        {"after": first},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    deliver_due()
    again = up.accepted[-1][0]["changes"]
    assert len(again) == 1 and again[0]["cursor"] > first
    deliveries = client.get(
        f"/api/webhooks/{subscription.pk}/deliveries/", HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()["results"]
    assert [d["count"] for d in deliveries] == [1, 2]


def test_a_subscription_gets_only_what_its_token_could_read(receiver, client_subscription):
    up = receiver()
    client_subscription(up.url, types=(), scopes=("system/Patient.read",))
    patient = PatientFactory()
    InteractionFactory(patient=patient)
    deliver_due()
    assert {c["type"] for body, _, _ in up.accepted for c in body["changes"]} == {"Patient"}


def test_an_unreachable_receiver_is_logged_and_retried(client_subscription):
    subscription, _, _ = client_subscription("http://127.0.0.1:9/nothing-listens")
    PatientFactory()
    assert deliver_due() == {"delivered": 0, "failed": 1}
    [attempt] = subscription.deliveries.all()
    assert attempt.status_code is None and "could not be reached" in attempt.error


def test_bad_registrations_are_400s(client_subscription, client):
    _, _, token = client_subscription("https://example.org/hook")
    for body in (
        {"url": "ftp://example.org/x"},
        {"url": "https://example.org/x", "types": ["Invoice"]},
        {"url": "not a url"},
    ):
        response = client.post(
            "/api/webhooks/", body, content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )  # fmt: skip
        assert response.status_code == 400, body


def test_a_private_address_is_refused_unless_allowed(receiver, client_subscription, settings):
    up = receiver()
    subscription, _, _ = client_subscription(up.url)
    settings.WEBHOOK_PRIVATE_ADDRESSES = False
    PatientFactory()
    assert deliver_due() == {"delivered": 0, "failed": 1}
    assert up.attempts == 0
    assert "private network" in subscription.deliveries.get().error


def test_a_worker_holds_a_subscription_while_it_delivers(receiver, client_subscription):
    """Between two pages no other worker may take it (pages would cross); once the
    worker stops, it is due again at once."""
    up = receiver()
    subscription, _, _ = client_subscription(up.url)
    PatientFactory.create_batch(5)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        assert deliver_page(subscription, now=now) == "delivered"
        subscription.refresh_from_db()
        assert subscription.next_attempt_at > now  # held
        assert not WebhookSubscription.objects.filter(next_attempt_at__lte=now).exists()
        assert deliver_due(now=now + dt.timedelta(minutes=2), pages=1) == {
            "delivered": 1,
            "failed": 0,
        }
        subscription.refresh_from_db()
        assert subscription.next_attempt_at == now + dt.timedelta(minutes=2)  # let go


def test_a_delivered_page_costs_pinned_queries(
    receiver, client_subscription, django_assert_max_num_queries
):
    """The subscription and its owner's roles, the horizon (PostgreSQL), the page, the
    access record, the delivery, the cursor; whatever the page's size."""
    up = receiver()
    subscription, _, _ = client_subscription(up.url)
    subscription = WebhookSubscription.objects.select_related("owner").get(pk=subscription.pk)
    for size in (1, 3):
        PatientFactory.create_batch(size)
        with django_assert_max_num_queries(7):
            assert deliver_page(subscription, now=timezone.now()) == "delivered"
