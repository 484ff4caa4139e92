"""Errors on endpoints that carry names, phone numbers and summaries leave no patient
data in any log output."""

import logging

import pytest

from patients.models import CommunicationConsent
from tests.factories import ContactPointFactory, PatientFactory

pytestmark = pytest.mark.django_db

SECRETS = [
    "Xochitl",
    "Quetzalli",
    "M31415926",
    "6175550142",
    "spoke about her HIV test",
    "1968-03-04",
]


def test_errors_log_no_patient_data(api, caplog):
    caplog.set_level(logging.DEBUG)
    patient = PatientFactory(
        given_name="Xochitl", family_name="Quetzalli", mrn="M31415926", birth_date="1968-03-04"
    )
    ContactPointFactory(patient=patient, value="+16175550142")
    CommunicationConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="care_coordination",
        status="opt_out",
        source="phone",
    )
    calls = [
        # duplicate MRN, bad phone: 400 with the values in the body
        (
            "post",
            "/api/patients/",
            {
                "mrn": "M31415926",
                "family_name": "Quetzalli",
                "given_name": "Xochitl",
                "birth_date": "1968-03-04",
                "contact_points": [{"system": "phone", "value": "617555"}],
            },
        ),
        # searches by name and phone, one malformed
        ("get", "/api/patients/?name=Xochitl+Quetzalli", None),
        ("get", "/api/patients/?phone=6175550142", None),
        ("get", "/api/patients/?phone=Xochitl", None),
        # an outbound SMS the patient opted out of: 409
        (
            "post",
            "/api/interactions/",
            {
                "patient_id": patient.pk,
                "channel": "sms",
                "direction": "outbound",
                "department": "clinical",
                "summary": "spoke about her HIV test",
            },
        ),
        # a public reply naming the patient: 400
        (
            "post",
            "/api/interactions/",
            {
                "patient_id": patient.pk,
                "channel": "social",
                "direction": "outbound",
                "department": "clinical",
                "summary": "Xochitl, spoke about her HIV test",
            },
        ),
        # malformed JSON with the name in it
        ("post_raw", "/api/patients/", '{"family_name": "Quetzalli", '),
        # an unknown record
        ("get", "/api/patients/999999/?q=Xochitl", None),
    ]
    for method, url, body in calls:
        if method == "post_raw":
            response = api.post(url, data=body, content_type="application/json")
        elif body is None:
            response = getattr(api, method)(url)
        else:
            response = getattr(api, method)(url, body, "json")
        assert response.status_code < 500
    logging.getLogger("crm.errors").warning("capture is live")
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "capture is live" in logged  # so the absence below means something
    for secret in SECRETS:
        assert secret not in logged, secret
