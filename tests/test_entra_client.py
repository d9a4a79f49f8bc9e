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


def test_every_property_is_one_the_v1_sdk_models_know(live_url: str, token: str) -> None:
    """Kiota puts what its model does not know into `additional_data`: empty for every v1.0 sign-in."""
    async def run() -> Any:
        return await _client(live_url).audit_logs.sign_ins.get(request_configuration=_config(token, Query(top=5)))
    for s in asyncio.run(run()).value:
        assert not s.additional_data and not s.status.additional_data and not s.device_detail.additional_data
        assert not s.location.additional_data and s.home_tenant_id == s.resource_tenant_id


def test_beta_parses_into_the_beta_sdks_models(live_url: str, token: str) -> None:
    """`/beta` read by msgraph-beta-sdk: nothing in `additional_data`, enum-typed values its enum members."""
    pytest.importorskip("msgraph_beta", reason="pip install -e '.[beta-client]' (676 MB; .ci/run does)")
    from msgraph_beta import GraphRequestAdapter as BetaAdapter
    from msgraph_beta import GraphServiceClient as BetaClient
    from msgraph_beta.generated.audit_logs.sign_ins.sign_ins_request_builder import (
        SignInsRequestBuilder as BetaBuilder,
    )

    async def run() -> Any:
        adapter = BetaAdapter(AnonymousAuthenticationProvider())
        adapter.base_url = live_url + "/beta"
        return await BetaClient(request_adapter=adapter).audit_logs.sign_ins.get(
            request_configuration=_config(token, BetaBuilder.SignInsRequestBuilderGetQueryParameters(top=5)))
    beta = asyncio.run(run())
    for s in beta.value:
        assert not s.additional_data and not s.status.additional_data and not s.device_detail.additional_data
    failed = beta.value[1]
    assert failed.status.error_code == 50126 and failed.authentication_details[0].succeeded is False
    assert not failed.authentication_details[0].additional_data
    enums = (failed.authentication_protocol, failed.cross_tenant_access_type, failed.incoming_token_type,
             failed.original_transfer_method, failed.client_credential_type, failed.token_issuer_type,
             failed.user_type, failed.managed_service_identity.msi_type)
    values = [[f.value for f in e] if isinstance(e, list) else e.value for e in enums]  # flags parse to lists
    assert values == [["none"], ["none"], ["none"], "none", "none", "AzureAD", "member", "none"]
    assert failed.sign_in_event_types == ["interactiveUser"] and failed.home_tenant_id == failed.resource_tenant_id
