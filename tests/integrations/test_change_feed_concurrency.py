"""The feed under concurrent writers (PostgreSQL): 16 threads commit patients, some
holding their transaction open while others commit, and a poller reads the feed
throughout with the cursor it keeps. Every change arrives once: none lost, none twice.
CI runs 3,200 changes; ``CHANGE_FEED_TEST_SIZE=100000`` runs the full size."""

import os
import random
import threading
import time

import pytest
from django.db import connection, transaction

from crm.roles import Role
from integrations.feed import change_page
from patients.models import Patient
from tests.factories import UserFactory

WRITERS = 16
PER_TRANSACTION = 5
SIZE = int(os.environ.get("CHANGE_FEED_TEST_SIZE", "3200"))

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need a server"
    ),
]


def write(writer: int, transactions: int, created: list[int], failures: list) -> None:
    rng = random.Random(writer)
    try:
        for n in range(transactions):
            with transaction.atomic():
                rows = Patient.objects.bulk_create(
                    Patient(
                        mrn=f"F{writer:02d}{n:06d}{k}",
                        family_name="Feed",
                        given_name=f"W{writer}",
                        birth_date="1980-01-01",
                        name_search=f"w{writer} feed",
                    )
                    for k in range(PER_TRANSACTION)
                )
                created.extend(row.pk for row in rows)
                if n % 4 == writer % 4:  # hold the transaction open while others commit
                    time.sleep(rng.uniform(0.005, 0.05))
    except Exception as exc:  # the test reports it
        failures.append(exc)
    finally:
        connection.close()


def test_no_change_is_lost_or_repeated_under_concurrent_writers():
    reader = UserFactory(username="poller", roles=[Role.COORDINATOR])
    created: list[int] = []
    failures: list = []
    transactions = SIZE // WRITERS // PER_TRANSACTION
    writers = [
        threading.Thread(target=write, args=(w, transactions, created, failures))
        for w in range(WRITERS)
    ]
    for thread in writers:
        thread.start()
    seen: list[int] = []
    after = (0, 0)
    quiet_polls = 0
    while quiet_polls < 2:  # two empty polls after every writer has finished
        page, after = change_page(user=reader, after=after, types=["Patient"], limit=500)
        seen += [change.record_id for change in page if change.action == "create"]
        finished = not any(thread.is_alive() for thread in writers)
        quiet_polls = quiet_polls + 1 if finished and not page else 0
    for thread in writers:
        thread.join()
    assert not failures
    assert len(created) == WRITERS * transactions * PER_TRANSACTION
    duplicated = len(seen) - len(set(seen))
    lost = set(created) - set(seen)
    assert (duplicated, len(lost)) == (0, 0)
