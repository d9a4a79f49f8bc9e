"""The real `jsonapi-requests` client (ORM models, included resolution) against Ingedata over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from jsonapi_requests import orm

from conftest import Arrange, at


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


@pytest.fixture
def models(live_url: str, arrange: Arrange) -> dict[str, Any]:
    org = arrange.tenant(name="Ingedata")
    person = arrange.person(first_name="Ana", email="ana@ex.com")
    ana = arrange.credential(person, org, login="ana@ex.com", role="admin")
    arrange.events(*({"credential_id": ana["id"], "occurred_at": at(h), "ip": f"10.0.0.{h}"} for h in (1, 2, 3)))
    key = arrange.token("ingedata", "admin_key", credential_id=ana["id"])
    token = requests.post(f"{live_url}/api/v3/iam/auth/api/login", json={"key": key}, timeout=5).json()["meta"]["token"]
    api = orm.OrmApi.config({"API_ROOT": f"{live_url}/api/v3/iam/", "APPEND_SLASH": False, "TIMEOUT": 5,
                             "AUTH": Bearer(token)})

    class Person(orm.ApiModel):
        class Meta:
            type = "iam/people"
            path = "people"

        first_name = orm.AttributeField("first_name")

    class Account(orm.ApiModel):
        class Meta:
            type = "iam/accounts"
            path = "accounts"

        email = orm.AttributeField("email")
        person = orm.RelationField("person")

    class Login(orm.ApiModel):
        class Meta:
            type = "iam/account/logins"
            path = "account_logins"

        ip = orm.AttributeField("ip")
        role = orm.AttributeField("role")
        account = orm.RelationField("account")

    for model in (Person, Account, Login):
        model._options.api = api
        api.type_registry.register(model)
    return {"Login": Login, "Account": Account, "Person": Person, "ana": ana}


def test_list_with_included_resolves_relations(models: dict[str, Any]) -> None:
    logins = models["Login"].get_list(params={"included[]": "account.person", "sort": "-date"})
    assert [lg.ip for lg in logins] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert logins[0].role == "admin"
    assert logins[0].account.email == "ana@ex.com"
    assert logins[0].account.person.first_name == "Ana"


def test_single_record_through_the_client(models: dict[str, Any]) -> None:
    account = models["Account"].from_id(str(models["ana"]["id"]))
    assert account.email == "ana@ex.com"
