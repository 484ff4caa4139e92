import pytest

from appointments.models import ServiceType
from tests.messaging.conftest import sms_provider  # noqa: F401  (the provider double)


@pytest.fixture
def new_patient_visit(service_types):
    """Reminders 7 days, 2 days and 2 hours before (the migration's service type)."""
    return ServiceType.objects.get(code="new-patient")


@pytest.fixture
def procedure(service_types):
    """A check-in call after the visit."""
    return ServiceType.objects.get(code="procedure")
