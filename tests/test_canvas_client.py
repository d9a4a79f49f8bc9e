"""The real `canvasapi` package against the Canvas API over HTTP.

canvasapi 3.6.0's `get_authentication_events()` iterates the top level of the compound document
(ucfopen/canvasapi#533): the emulator stays faithful and this test pins that real behaviour, then
shows the working path (`PaginatedList` with `_root="events"`) following our `Link` header.
"""

from __future__ import annotations

from typing import Any

import pytest
from canvasapi import Canvas
from canvasapi.account import Account
from canvasapi.authentication_event import AuthenticationEvent
from canvasapi.exceptions import Forbidden, InvalidAccessToken, ResourceDoesNotExist, Unauthorized
from canvasapi.login import Login
from canvasapi.paginated_list import PaginatedList

from conftest import Arrange, at


@pytest.fixture
def setup(arrange: Arrange) -> dict[str, Any]:
    uni = arrange.tenant(name="Example University")
    jane = arrange.credential(arrange.person(), uni)
    admin = arrange.credential(arrange.person(first_name="Ada", email="ada@ex.edu"), uni, login="ada")
    ids = arrange.events(*({"credential_id": jane["id"], "occurred_at": at(h)} for h in range(1, 8)))
    return {"uni": uni, "jane": jane, "ids": ids,
            "admin": arrange.token("canvas", "account_admin", credential_id=admin["id"]),
            "user": arrange.token("canvas", "user", credential_id=jane["id"])}


def _requester(live_url: str, token: str) -> Any:
    return Canvas(live_url, token)._Canvas__requester


def test_get_authentication_events_hits_canvasapi_bug_533(live_url: str, setup: dict[str, Any]) -> None:
    login = Login(_requester(live_url, setup["admin"]), {"id": setup["jane"]["id"], "account_id": 1})
    events = login.get_authentication_events()
    with pytest.raises(AttributeError, match="'str' object has no attribute"):
        list(events)


def test_paginated_list_with_root_follows_link_header(live_url: str, setup: dict[str, Any]) -> None:
    requester = _requester(live_url, setup["admin"])
    events = PaginatedList(AuthenticationEvent, requester, "GET",
                           f"audit/authentication/logins/{setup['jane']['id']}", {"per_page": 3}, _root="events")
    got = list(events)
    assert len(got) == 7 and len({e.id for e in got}) == 7  # three pages, nothing repeated
    assert [e.event_type for e in got] == ["login"] * 7
    assert got[0].links["login"] == setup["jane"]["id"]
    assert got[0].created_at_date > got[-1].created_at_date


def test_account_route_through_canvasapi_objects(live_url: str, setup: dict[str, Any]) -> None:
    account = Account(_requester(live_url, setup["admin"]), {"id": setup["uni"]["id"]})
    page = account._requester.request("GET", f"audit/authentication/accounts/{account.id}", per_page=100)
    assert len(page.json()["events"]) == 7
    assert page.links["first"]["url"].endswith("page=first&per_page=100")


def test_requester_error_mapping(live_url: str, setup: dict[str, Any]) -> None:
    path = f"audit/authentication/accounts/{setup['uni']['id']}"
    with pytest.raises(InvalidAccessToken):  # 401 with WWW-Authenticate
        _requester(live_url, "1~bogus").request("GET", path)
    with pytest.raises(Unauthorized):  # 401 without it: a permission failure
        _requester(live_url, setup["user"]).request("GET", path)
    with pytest.raises(ResourceDoesNotExist):
        _requester(live_url, setup["admin"]).request("GET", "audit/authentication/logins/99999")


def test_requester_maps_the_403_variant(live_url: str, client: Any, setup: dict[str, Any]) -> None:
    client.patch("/_loginaudit/vendors/canvas/settings", json={"api_auth_error_updates": True})
    with pytest.raises(Forbidden):
        _requester(live_url, setup["user"]).request("GET", f"audit/authentication/accounts/{setup['uni']['id']}")


def test_canvasapi_walks_accounts_self_and_an_sis_user(live_url: str, arrange: Arrange,
                                                       setup: dict[str, Any]) -> None:
    """A connector names the account `self` and a user by the SIS id of their login; canvasapi follows
    the Link header, whose URLs carry the records' own ids."""
    requester = _requester(live_url, setup["admin"])
    by_self = PaginatedList(AuthenticationEvent, requester, "GET", "audit/authentication/accounts/self",
                            {"per_page": 3}, _root="events")
    assert len(list(by_self)) == 7
    sis = arrange.credential(arrange.person(first_name="Sis"), setup["uni"], login="sis", sis_id="S-42")
    arrange.events(*({"credential_id": sis["id"], "occurred_at": at(h)} for h in (1, 2)))
    by_sis = PaginatedList(AuthenticationEvent, requester, "GET", "audit/authentication/users/sis_user_id:S-42",
                           {"per_page": 1}, _root="events")
    got = list(by_sis)
    assert [e.links["login"] for e in got] == [sis["id"], sis["id"]]
