"""The Microsoft Graph Python SDK (msgraph-sdk 1.65) reading sign-ins from the emulator over HTTP.

The SDK is pointed at the emulator through its request adapter's `base_url`; its kiota bearer-token
provider only sends tokens to https hosts, so the access token goes in as a request header (what a
real deployment's token provider would add).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from conftest import Arrange, at

Query = SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters


@pytest.fixture
def token(arrange: Arrange) -> str:
    cred = arrange.credential(arrange.person(email="jane@contoso.com"), arrange.tenant(name="Contoso"),
                              login="jane@contoso.com")
    arrange.events(*({"credential_id": cred["id"], "occurred_at": at(i + 1), "ip": f"10.0.0.{i}",
                      "successful": i != 1, "failure_reason": None if i != 1 else "Invalid password"}
                     for i in range(5)))
    return arrange.token("entra", "app_auditlog", credential_id=cred["id"])


def _client(live_url: str) -> GraphServiceClient:
    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())
    adapter.base_url = live_url + "/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def _config(token: str, query: Any = None) -> RequestConfiguration[Any]:
    config: RequestConfiguration[Any] = RequestConfiguration(query_parameters=query)
    config.headers.add("Authorization", f"Bearer {token}")
    return config


def test_the_sdk_pages_through_next_links_into_its_models(live_url: str, token: str) -> None:
    async def run() -> list[tuple[str, int, str]]:
        client, seen = _client(live_url), []
        page = await client.audit_logs.sign_ins.get(request_configuration=_config(token, Query(top=2)))
        while page is not None:
            seen += [(s.user_principal_name, s.status.error_code, s.ip_address) for s in page.value]
            if not page.odata_next_link:
                break
            page = await client.audit_logs.sign_ins.with_url(page.odata_next_link).get(
                request_configuration=_config(token))
        return seen
    seen = asyncio.run(run())
    assert [ip for _, _, ip in seen] == [f"10.0.0.{i}" for i in range(5)]  # newest first, five in three pages
    assert [code for _, code, _ in seen] == [0, 50126, 0, 0, 0]


def test_the_sdk_sends_odata_filters(live_url: str, token: str) -> None:
    async def run() -> Any:
        return await _client(live_url).audit_logs.sign_ins.get(
            request_configuration=_config(token, Query(filter="status/errorCode ne 0", top=10)))
    page = asyncio.run(run())
    assert [(s.status.error_code, s.status.additional_details) for s in page.value] == [(50126, "Invalid password")]


def test_the_sdk_raises_graph_errors(live_url: str, token: str) -> None:
    async def run() -> Any:
        return await _client(live_url).audit_logs.sign_ins.get(
            request_configuration=_config(token + "x"))
    with pytest.raises(ODataError) as caught:
        asyncio.run(run())
    assert caught.value.response_status_code == 401
    assert caught.value.error is not None and caught.value.error.code == "InvalidAuthenticationToken"
