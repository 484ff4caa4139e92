import pytest

from referrals.validators import npi_check_digit
from tests.factories import OrganizationFactory, PractitionerFactory, valid_npi

pytestmark = pytest.mark.django_db


def test_the_npi_check_digit_matches_the_cms_example():
    assert npi_check_digit("123456789") == 3


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678931", "12345678٣3", "abc"])
def test_an_invalid_npi_is_refused(api, npi):
    response = api.post(
        "/api/practitioners/",
        {"npi": npi, "family_name": "Ruiz", "given_name": "Ana", "specialty": "Cardiology"},
        "json",
    )
    assert response.status_code == 400
    assert "npi" in response.json()["errors"]


def test_it_creates_a_practitioner_with_normalised_languages(api):
    organization = OrganizationFactory()
    response = api.post(
        "/api/practitioners/",
        {
            "npi": "1234567893",
            "family_name": "Ruiz",
            "given_name": "Ana",
            "specialty": "Cardiology",
            "organization_id": organization.pk,
            "languages": ["ES", "zh-hans", "es"],
        },
        "json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["languages"] == ["es", "zh-Hans"]
    assert response.json()["organization"]["id"] == organization.pk


def test_a_bad_language_tag_names_its_position(api):
    response = api.post(
        "/api/practitioners/",
        {
            "npi": "1234567893",
            "family_name": "R",
            "given_name": "A",
            "specialty": "x",
            "languages": ["es", "!!"],
        },
        "json",
    )
    assert response.status_code == 400
    assert "1" in response.json()["errors"]["languages"]


def test_directory_filters(api):
    cardiology = OrganizationFactory(specialty="Cardiology", in_network=True)
    OrganizationFactory(specialty="Dermatology", in_network=False)
    listed = api.get("/api/organizations/", {"specialty": "cardiology", "in_network": "true"})
    assert [o["id"] for o in listed.json()["results"]] == [cardiology.pk]

    speaker = PractitionerFactory(languages=["es", "en"], given_name="Ana", family_name="Ruiz")
    PractitionerFactory(languages=["en"])
    found = api.get("/api/practitioners/", {"language": "es", "name": "ana ruiz"}).json()
    assert [p["id"] for p in found["results"]] == [speaker.pk]


def test_organization_npi_is_unique(api):
    OrganizationFactory(npi=valid_npi(7))
    response = api.post("/api/organizations/", {"name": "X", "npi": valid_npi(7)}, "json")
    assert response.status_code == 400
    assert "npi" in response.json()["errors"]


def test_directory_entries_are_updated_with_history(api, coordinator):
    organization = OrganizationFactory(accepting_new_patients=True)
    practitioner = PractitionerFactory(organization=organization)

    response = api.patch(
        f"/api/organizations/{organization.pk}/", {"accepting_new_patients": False}, "json"
    )
    assert response.status_code == 200
    organization.refresh_from_db()
    assert organization.accepting_new_patients is False
    assert organization.history.first().history_user == coordinator

    response = api.patch(f"/api/practitioners/{practitioner.pk}/", {"npi": "1234567890"}, "json")
    assert response.status_code == 400
    response = api.patch(f"/api/practitioners/{practitioner.pk}/", {"phone": "555"}, "json")
    assert response.status_code == 200
