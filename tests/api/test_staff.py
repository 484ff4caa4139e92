import pytest

pytestmark = pytest.mark.django_db


def test_staff_lists_people_with_a_role_and_their_roles(api, coordinator, billing, outsider):
    rows = api.get("/api/staff/").json()["results"]
    by_username = {row["username"]: row for row in rows}
    assert set(by_username) == {"alice", "bob"}
    assert by_username["bob"]["roles"] == ["billing"]
    assert by_username["alice"]["name"] == coordinator.get_full_name()
