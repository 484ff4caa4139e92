import pytest
from django.db import connection
from django.test import RequestFactory

from patients.filtersets import PatientFilterSet
from patients.selectors import patient_list
from tests.factories import ContactPointFactory, LanguageFactory, PatientFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_name_search_ignores_case_and_accents_and_word_order(api):
    jose = PatientFactory(family_name="Ñúñez", given_name="José")
    PatientFactory(family_name="Smith", given_name="Joseph")

    assert ids(api.get("/api/patients/", {"name": "jose nunez"})) == {jose.pk}
    assert ids(api.get("/api/patients/", {"name": "NÚÑEZ José"})) == {jose.pk}


@pytest.mark.parametrize("query", ["陈", "伟", "Nguyễn", "nguyen thi", "محمد"])
def test_non_latin_names_are_searchable(api, query):
    wei = PatientFactory(family_name="陈", given_name="伟")
    hoa = PatientFactory(family_name="Nguyễn", given_name="Thị Hoa")
    mohammed = PatientFactory(family_name="العلي", given_name="محمد")
    expected = {"陈": wei, "伟": wei, "Nguyễn": hoa, "nguyen thi": hoa, "محمد": mohammed}[query]
    assert ids(api.get("/api/patients/", {"name": query})) == {expected.pk}


def test_preferred_name_is_searched_too(api):
    patient = PatientFactory(given_name="Elizabeth", preferred_name="Betty")
    assert ids(api.get("/api/patients/", {"name": "betty"})) == {patient.pk}


def test_filter_by_mrn_and_birth_date(api):
    patient = PatientFactory(mrn="M000000042", birth_date="1961-07-04")
    PatientFactory(birth_date="1962-07-04")
    assert ids(api.get("/api/patients/", {"mrn": "m000000042"})) == {patient.pk}
    assert ids(api.get("/api/patients/", {"birth_date": "1961-07-04"})) == {patient.pk}


@pytest.mark.parametrize(
    "typed", ["(617) 555-0142", "617.555.0142", "+1 617 555 0142", "6175550142"]
)
def test_phone_search_accepts_any_format(api, typed):
    patient = PatientFactory()
    ContactPointFactory(patient=patient, value="+16175550142")
    ContactPointFactory(value="+16175550143")
    assert ids(api.get("/api/patients/", {"phone": typed})) == {patient.pk}


def test_an_unparseable_phone_filter_is_a_field_error(api):
    response = api.get("/api/patients/", {"phone": "call me"})
    assert response.status_code == 400
    assert "phone" in response.json()["errors"]


def test_language_filter_matches_the_tag_and_its_subtags(api):
    simplified = LanguageFactory(language="zh-Hans").patient
    traditional = LanguageFactory(language="zh-Hant").patient
    LanguageFactory(language="es")
    assert ids(api.get("/api/patients/", {"language": "zh"})) == {simplified.pk, traditional.pk}
    assert ids(api.get("/api/patients/", {"language": "zh-Hans"})) == {simplified.pk}


def test_the_as_you_type_search_finds_by_name_mrn_birth_date_or_phone(api):
    patient = PatientFactory(family_name="Okafor", mrn="M123", birth_date="1977-11-30")
    ContactPointFactory(patient=patient, value="+16175550142")
    PatientFactory(family_name="Other")
    for query in ("oka", "M123", "1977-11-30", "617-555-0142"):
        assert ids(api.get("/api/patients/", {"q": query})) == {patient.pk}, query


def test_search_results_show_the_preferred_language(api):
    language = LanguageFactory(language="vi", preferred=True)
    row = api.get("/api/patients/").json()["results"][0]
    assert row["id"] == language.patient_id
    assert row["preferred_language"]["language"] == "vi"
    assert row["preferred_language"]["name"] == "Vietnamese"


def test_the_list_uses_keyset_pages_with_a_constant_query_count(api, django_assert_num_queries):
    for n in range(7):
        LanguageFactory(patient=PatientFactory(family_name=f"Family{n}"))
    # roles, patients page, languages prefetch, access record
    with django_assert_num_queries(4):
        first = api.get("/api/patients/", {"page_size": 5}).json()
    second = api.get(first["next"]).json()
    names = [r["family_name"] for r in first["results"] + second["results"]]
    assert names == sorted(names) and len(names) == 7


def test_a_search_page_and_its_total_are_one_query(api, django_assert_num_queries):
    found = {
        LanguageFactory(patient=PatientFactory(family_name="Okafor")).patient_id for _ in "abc"
    }
    PatientFactory(family_name="Smith")
    # roles, the page with its total, languages prefetch, access record
    with django_assert_num_queries(4):
        first = api.get("/api/patients/", {"q": "okafor", "page_size": 2}).json()
    with django_assert_num_queries(3):  # the same signed-in user: roles read once
        second = api.get(first["next"]).json()
    assert first["count"] == second["count"] == 3
    assert {row["id"] for row in first["results"] + second["results"]} == found
    assert second["next"] is None
    # Past the last page: counted apart, and refused, however far past.
    for page in (3, 10**20):
        response = api.get("/api/patients/", {"q": "okafor", "page_size": 2, "page": page})
        assert response.status_code == 404


def test_a_search_that_finds_nothing_gives_an_empty_first_page(api, django_assert_num_queries):
    PatientFactory(family_name="Smith")
    with django_assert_num_queries(3):  # roles, the empty page (a total of none), access record
        body = api.get("/api/patients/", {"q": "okafor"}).json()
    assert (body["count"], body["results"], body["next"]) == (0, [], None)
    assert api.get("/api/patients/", {"q": "okafor", "page": 2}).status_code == 404


def ranked(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("typed", ["Maria Preito", "preito maria", "Maria Prieto"])
def test_a_family_name_misspelled_still_finds_the_patient_first(api, typed):
    maria = PatientFactory(given_name="María", family_name="Prieto")
    PatientFactory(given_name="Maria", family_name="Lopez")
    PatientFactory(given_name="Pedro", family_name="Prieto")
    for parameter in ("q", "name"):
        assert ranked(api.get("/api/patients/", {parameter: typed}))[0] == maria.pk


def test_a_family_name_that_sounds_like_the_typo_ranks_first(api):
    brock = PatientFactory(given_name="Bernard", family_name="Brock")
    PatientFactory(given_name="Bernard", family_name="Brown")
    assert ranked(api.get("/api/patients/", {"q": "Bernard Borck"}))[0] == brock.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram similarity")
def test_a_misspelled_name_in_another_script_is_found_on_postgresql(api):
    bragin = PatientFactory(given_name="Ксения", family_name="Брагин")
    PatientFactory(given_name="Ксения", family_name="Петрова")
    assert ranked(api.get("/api/patients/", {"q": "Ксения Багин"}))[0] == bragin.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram similarity")
def test_a_given_name_misspelled_still_finds_the_patient_on_postgresql(api):
    jonathan = PatientFactory(given_name="Jonathan", family_name="Whitaker")
    PatientFactory(given_name="Jonas", family_name="Whitman")
    assert ranked(api.get("/api/patients/", {"q": "Jonahtan Whitaker"}))[0] == jonathan.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram similarity")
@pytest.mark.parametrize(("typed", "first"), [("Ánhh Bùi", "Ánh"), ("Anhh Bui", "Anh")])
def test_the_accents_typed_rank_the_name_written_so_first(api, typed, first):
    # Added in this order, the names alike fold and sort Anh before Ánh.
    anh = PatientFactory(given_name="Anh", family_name="Bùi")
    accented = PatientFactory(given_name="Ánh", family_name="Bùi")
    expected = [accented.pk, anh.pk] if first == "Ánh" else [anh.pk, accented.pk]
    assert ranked(api.get("/api/patients/", {"q": typed}))[:2] == expected


@pytest.mark.parametrize("typed", ["杨涛", "杨 涛", "Yang Tao", "yangtao"])
def test_chinese_names_are_found_in_their_natural_order(api, typed):
    tao = PatientFactory(family_name="杨", given_name="涛")
    PatientFactory(family_name="王", given_name="伟")
    found = ranked(api.get("/api/patients/", {"q": typed}))
    assert found[0] == tao.pk and len(found) == 1


def test_the_characters_typed_rank_above_others_read_alike(api):
    tao = PatientFactory(family_name="杨", given_name="涛")
    other = PatientFactory(family_name="阳", given_name="涛")  # also "yang tao"
    found = ranked(api.get("/api/patients/", {"q": "杨涛"}))
    if connection.vendor == "postgresql":
        assert found == [tao.pk, other.pk]
    else:  # no similarity ranking: both, by name
        assert set(found) == {tao.pk, other.pk}


def test_a_search_ranks_an_exact_mrn_first_and_gives_the_total(api):
    by_mrn = PatientFactory(mrn="OKAFOR", family_name="Zed")
    by_name = PatientFactory(family_name="Okafor")
    for n in range(3):
        PatientFactory(family_name=f"Smith{n}")
    body = api.get("/api/patients/", {"q": "okafor", "page_size": 1}).json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [by_mrn.pk]
    assert ranked(api.get(body["next"])) == [by_name.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize(
    "parameters",
    [
        {"q": "Maria Preito"},
        {"q": "M000000042"},
        {"q": "1961-07-04"},
        {"q": "(617) 555-0142"},
        {"q": "杨涛"},
        {"q": "li"},
        {"name": "wei li"},
        {"mrn": "m000000042"},
        {"birth_date": "1961-07-04"},
        {"phone": "6175550142"},
    ],
)
def test_every_search_is_served_by_indexes(parameters, coordinator):
    """With sequential scans made as costly as possible, a plan that still reads the
    patient table whole has no index to use."""
    ContactPointFactory(value="+16175550142")
    request = RequestFactory().get("/api/patients/", parameters)
    filterset = PatientFilterSet(request.GET, queryset=patient_list(), request=request)
    assert filterset.is_valid(), filterset.errors
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = filterset.qs.explain()
    assert "Seq Scan on patients_patient" not in plan, plan
    assert "Seq Scan on patients_contactpoint" not in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram similarity")
def test_a_word_typed_as_spelled_earns_no_sound_bonus_over_the_misspelled_name(api):
    # "Bailey" sounds like the family name Bailey, but it is found as typed: the patient
    # whose other name is misspelled ranks first.
    shaffer = PatientFactory(given_name="Bailey", family_name="Shaffer")
    PatientFactory(given_name="Shane", family_name="Bailey")
    PatientFactory(given_name="Sharon", family_name="Bailey")
    assert ranked(api.get("/api/patients/", {"q": "Bailey Shafher"}))[0] == shaffer.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="edit distance")
@pytest.mark.parametrize("typed", ["Hồg Hoàng", "hog hoang", "Hoàng Hồg"])
def test_the_name_fewest_letters_away_ranks_above_one_repeating_a_word_typed(api, typed):
    # Hoàng Hoàng shares more trigrams with "Hồg Hoàng" (each counts once), but Hồng
    # Hoàng is one letter away.
    hong = PatientFactory(given_name="Hồng", family_name="Hoàng")
    PatientFactory(given_name="Hoàng", family_name="Hoàng")
    PatientFactory(given_name="Hoàng", family_name="Minh")
    assert ranked(api.get("/api/patients/", {"q": typed}))[0] == hong.pk


@pytest.mark.parametrize("typed", ["Tnoy West", "west tnoy"])
def test_a_short_given_name_misspelled_is_found_by_both_names_sounds(api, typed):
    # "tnoy" and "tony" share one trigram of five, too few to be alike; both sound TN.
    tony = PatientFactory(given_name="Tony", family_name="West")
    PatientFactory(given_name="Tony", family_name="Brown")
    PatientFactory(given_name="Anna", family_name="West")
    for parameter in ("q", "name"):
        assert ranked(api.get("/api/patients/", {parameter: typed})) == [tony.pk]
