"""The API keeps its own contract at the edges a client finds by accident (issue 17): addresses
that match no route, empty filters, the security the schema declares, values looser than the
schema's types, and what the schemathesis run with every check found (issue 17.11)."""

from __future__ import annotations

import pytest
from rest_framework.permissions import SAFE_METHODS

from agreements.models import Agreement

from .test_write import create_body

pytestmark = pytest.mark.django_db


def assert_error_body(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert "errors" in body
    return body


# Addresses that match no route ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/agreements//", "/api/v1/nope/", "/api/v2/agreements/", "/api/", "/api/v1/a/b/c/"],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_address_under_api_that_matches_no_route_is_a_json_404(anon, path, method):
    response = getattr(anon, method)(path)

    assert_error_body(response, 404, "not_found")


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_api_address_is_a_json_404_with_debug_on_too(anon, settings, method):
    settings.DEBUG = True

    response = getattr(anon, method)("/api/v1/nope/")

    assert_error_body(response, 404, "not_found")


def test_with_debug_on_an_unknown_page_outside_the_api_is_still_django_s_404(client, settings):
    settings.DEBUG = True

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_with_debug_on_a_view_s_own_404_is_left_as_the_view_made_it(anon, settings):
    settings.DEBUG = True

    response = anon.get("/api/v1/agreements/no-such-agreement/")

    body = assert_error_body(response, 404, "not_found")
    assert "Agreement" in body["message"]


def test_an_unknown_page_outside_the_api_is_still_an_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_api_address_without_its_slash_still_redirects(anon):
    assert anon.get("/api/v1/agreements").status_code == 301


@pytest.mark.parametrize(
    ("method", "path"),
    [("put", "/api/v1/agreements/"), ("delete", "/api/v1/vocabularies/"), ("post", "/api/v1/")],
)
def test_a_wrong_method_is_a_json_405_for_editors_and_anonymous_clients(
    anon, editor_client, method, path
):
    for client in (anon, editor_client):
        response = getattr(client, method)(path)

        assert_error_body(response, 405, "method_not_allowed")


# Empty filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "party=",
        "subject=",
        "status=",
        "provision_category=",
        "slug=",
        "party=&subject=&status=&q=",
        "signed_after=&updated_since=",
    ],
)
def test_an_empty_filter_means_no_filter(anon, full_agreement, query):
    full_agreement(slug="a")
    full_agreement(slug="b")

    response = anon.get(f"/api/v1/agreements/?{query}")

    assert response.status_code == 200, response.content
    assert {row["slug"] for row in response.json()["results"]} == {"a", "b"}


def test_an_empty_value_beside_a_real_one_is_ignored(anon, full_agreement):
    full_agreement(slug="a")

    both = anon.get("/api/v1/agreements/?party=JP&party=")
    unknown = anon.get("/api/v1/agreements/?party=XX&party=")

    assert [row["slug"] for row in both.json()["results"]] == ["a"]
    assert_error_body(unknown, 400, "invalid")


@pytest.mark.parametrize(
    "path", ["/api/v1/status-changes/?kind=&party=", "/api/v1/provisions/?category="]
)
def test_empty_filters_mean_no_filter_on_the_other_lists(anon, path):
    assert anon.get(path).status_code == 200


# The security the schema declares ---------------------------------------------------------------


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method.upper(), operation


def schema_of(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_lets_anonymous_clients_read_and_asks_credentials_to_write(anon):
    anonymous_reads = set()
    for path, method, operation in operations(schema_of(anon)):
        security = operation["security"]
        assert {"tokenAuth": []} in security and {"cookieAuth": []} in security, (path, method)
        if {} in security:
            anonymous_reads.add((method, path))
            assert method in SAFE_METHODS, (path, method)
    assert ("GET", "/api/v1/agreements/") in anonymous_reads
    assert ("GET", "/api/v1/agreements/{slug}/") in anonymous_reads
    assert ("GET", "/api/v1/vocabularies/") in anonymous_reads
    # Webhook subscriptions are each account's own: reading them needs credentials too.
    assert ("GET", "/api/v1/webhooks/") not in anonymous_reads


def test_every_read_the_schema_calls_anonymous_answers_an_anonymous_client(anon, full_agreement):
    full_agreement(slug="a")
    for path, method, operation in operations(schema_of(anon)):
        if method == "GET" and {} in operation["security"] and "{" not in path:
            assert anon.get(path).status_code == 200, path


def test_the_schema_follows_read_requires_login(anon, viewer_client, settings):
    settings.READ_REQUIRES_LOGIN = True

    schema = schema_of(viewer_client)

    assert not [op for _, _, op in operations(schema) if {} in op["security"]]


# Values looser than the schema ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sources": [{"title": "t", "publisher": 0}]}, "sources.0.publisher"),
        ({"sources": [{"title": 12}]}, "sources.0.title"),
        ({"title": 3.5}, "title"),
        ({"short_name": True}, "short_name"),
        ({"parties": ["JP", 63]}, "parties"),
        ({"subjects": [1]}, "subjects"),
        ({"signatories": [{"party": "JP", "name": 1, "role": "r"}]}, "signatories.0.name"),
        ({"provisions": [{"category": "other", "text": 7}]}, "provisions.0.text"),
    ],
)
def test_a_number_where_text_is_expected_is_a_400_naming_the_field(editor_client, change, field):
    response = editor_client.post("/api/v1/agreements/", create_body(**change), format="json")

    body = assert_error_body(response, 400, "invalid")
    assert any(path.startswith(field) for path in body["errors"]), body
    assert not Agreement.objects.exists()


def test_a_source_posted_alone_refuses_a_number_for_text(editor_client):
    response = editor_client.post("/api/v1/sources/", {"title": "t", "publisher": 0}, format="json")

    body = assert_error_body(response, 400, "invalid")
    assert "publisher" in body["errors"]


@pytest.mark.parametrize("value", ["false", "null", "0", "-3", "2.5", "ten"])
@pytest.mark.parametrize("path", ["/api/v1/agreements/", "/api/v1/status-changes/"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_a_400(anon, path, value):
    response = anon.get(f"{path}?page_size={value}")

    body = assert_error_body(response, 400, "invalid")
    assert body["errors"]["page_size"]


def test_a_page_size_in_range_is_used_and_one_too_large_is_capped(anon, full_agreement):
    full_agreement(slug="a")
    full_agreement(slug="b")

    assert len(anon.get("/api/v1/agreements/?page_size=1").json()["results"]) == 1
    assert len(anon.get("/api/v1/agreements/?page_size=").json()["results"]) == 2
    assert anon.get("/api/v1/agreements/?page_size=100000").status_code == 200


# What the schemathesis run with every check found (issue 17.11) ------------------------------


def query_parameters(schema: dict):
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                yield path, method, parameter


FREE_TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}


def takes_blank(schema: dict) -> bool:
    if schema.get("type") == "array":
        return takes_blank(schema["items"])
    return schema == FREE_TEXT or {"type": "string", "pattern": "^ *$"} in schema.get("anyOf", [])


def test_the_schema_lets_every_query_parameter_be_empty_and_says_what_that_means(anon):
    parameters = list(query_parameters(schema_of(anon)))

    assert parameters
    for path, method, parameter in parameters:
        assert takes_blank(parameter["schema"]), (path, method, parameter)
        assert "as if not given" in parameter["description"], (path, method, parameter["name"])


def test_every_query_parameter_of_every_list_left_empty_is_as_if_not_given(
    editor_client, full_agreement
):
    full_agreement(slug="a")
    for path, method, parameter in query_parameters(schema_of(editor_client)):
        if "{" in path or method != "GET":
            continue
        for blank in ("", "%20%20"):
            response = editor_client.get(f"{path}?{parameter['name']}={blank}")

            assert response.status_code == 200, (path, parameter["name"], blank, response.content)
            assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/parties/?kind=%1C", "/api/v1/agreements/?status=%09", "/api/v1/agreements/?page=%0B"],
)
def test_white_space_other_than_spaces_is_a_value_and_an_invalid_one_is_refused(anon, path):
    """Only spaces mean "empty": a tab or a control character is refused where the parameter
    cannot take it, as the schema's pattern (`^ *$`) says."""
    response = anon.get(path)

    assert response.status_code in (400, 404), response.content


def test_a_comma_separated_parameter_may_be_empty_as_a_whole_but_not_in_part(anon):
    schema = schema_of(anon)["paths"]["/api/v1/agreements/"]["get"]
    (ordering,) = [p for p in schema["parameters"] if p["name"] == "ordering"]

    assert ordering["explode"] is False
    assert "anyOf" not in ordering["schema"]["anyOf"][0]["items"]
    assert anon.get("/api/v1/agreements/?ordering=%20").status_code == 200
    assert_error_body(anon.get("/api/v1/agreements/?ordering=title,%20,status"), 400, "invalid")


def test_the_schema_s_api_documentation_keeps_its_own_empty_parameter(anon):
    """/api/docs/?script= is Swagger UI's script: empty parameters are dropped under /api/v1/ only."""
    response = anon.get("/api/docs/?script=")

    assert "/api/schema/" in response.content.decode()


def test_the_schema_says_free_text_in_the_address_holds_no_nul_as_the_site_refuses_it(anon):
    free_text = []
    for path, _method, operation in operations(schema_of(anon)):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            schema = schema.get("items", schema)
            if parameter["in"] in ("path", "query") and schema.get("type") == "string":
                assert {"enum", "format", "pattern"} & schema.keys(), (path, parameter["name"])
                if "pattern" in schema and "^ *$" not in schema["pattern"]:
                    free_text.append(parameter["name"])
    assert {"q", "code", "agreement", "party", "subject"} <= set(free_text)

    assert_error_body(anon.get("/api/v1/parties/?code=J%00P"), 400, "invalid")


def test_party_codes_are_one_comma_separated_text_in_the_schema_and_on_the_wire(anon):
    (code,) = [
        p
        for p in schema_of(anon)["paths"]["/api/v1/parties/"]["get"]["parameters"]
        if p["name"] == "code"
    ]
    assert code["schema"] == FREE_TEXT

    listed = anon.get("/api/v1/parties/?code=JP,PH").json()["results"]
    one = anon.get("/api/v1/parties/?code=JP").json()["results"]

    assert {party["code"] for party in listed} == {"JP", "PH"}
    assert [party["code"] for party in one] == ["JP"]


def test_a_method_an_address_does_not_take_is_a_405_even_asking_for_csv(editor_client):
    response = editor_client.generic("TRACE", "/api/v1/agreements/?format=csv")

    body = assert_error_body(response, 405, "method_not_allowed")
    assert body["message"]


def test_the_schema_gives_webhook_subscription_ids_as_whole_numbers(anon, editor_client):
    schema = schema_of(editor_client)

    for path in ("/api/v1/webhooks/{id}/", "/api/v1/webhooks/{id}/deliveries/"):
        for method, operation in schema["paths"][path].items():
            (id_parameter,) = [p for p in operation["parameters"] if p["in"] == "path"]
            assert id_parameter["schema"] == {"type": "integer"}, (path, method)


def test_a_webhook_id_that_is_not_a_number_is_a_json_404(editor_client):
    assert_error_body(editor_client.get("/api/v1/webhooks/abc/"), 404, "not_found")


def test_the_schema_says_a_write_s_400_covers_the_rules_it_cannot_state(anon):
    for path, method, operation in operations(schema_of(anon)):
        if method in ("POST", "PUT", "PATCH"):
            description = operation["responses"]["400"]["description"]
            assert "a party code or slug that names nothing" in description, (path, method)
