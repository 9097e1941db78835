"""The PayPal emulator driven over real HTTP, exactly as the bot's aiohttp client will drive it."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from bot.emulators.paypal import PayPalEmulator

ORDER_ID = re.compile(r"^[A-Z0-9]{17}$")
RETURN_URL = "https://bot.example/paypal/return"
CANCEL_URL = "https://bot.example/paypal/cancel"


class FakeClock:
    """A hand-driven clock, started at the real time so certificates are valid either way."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PayPalClient:
    """The smallest client that speaks PayPal's wire format: token, JSON calls, request ids."""

    def __init__(self, session: aiohttp.ClientSession, em: PayPalEmulator) -> None:
        self.session = session
        self.em = em
        self.access_token: str | None = None

    async def token(self, client_id: str = "emu-client-id", secret: str = "emu-client-secret") -> tuple[int, Any]:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        async with self.session.post(
            f"{self.em.base_url}/v1/oauth2/token",
            headers={"Authorization": f"Basic {basic}"},
            data={"grant_type": "client_credentials"},
        ) as response:
            body = await response.json()
        if response.status == 200:
            self.access_token = body["access_token"]
        return response.status, body

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        request_id: str | None = None,
        prefer: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        if self.access_token is None:
            await self.token()
        sent = {"Authorization": f"Bearer {self.access_token}", **(headers or {})}
        if request_id:
            sent["PayPal-Request-Id"] = request_id
        if prefer:
            sent["Prefer"] = prefer
        kwargs: dict[str, Any] = {"json": body} if method == "POST" and "Content-Type" not in sent else {}
        async with self.session.request(method, self.em.base_url + path, headers=sent, **kwargs) as response:
            return response.status, await response.json()

    async def create_order(
        self,
        value: str = "10.00",
        *,
        currency: str = "USD",
        experience: bool = True,
        request_id: str | None = None,
        prefer: str | None = None,
        **unit: Any,
    ) -> tuple[int, Any]:
        urls = {"return_url": RETURN_URL, "cancel_url": CANCEL_URL}
        body: dict[str, Any] = {
            "intent": "CAPTURE",
            "purchase_units": [{"amount": {"currency_code": currency, "value": value}, **unit}],
        }
        if experience:
            body["payment_source"] = {"paypal": {"experience_context": {**urls, "shipping_preference": "NO_SHIPPING"}}}
        else:
            body["application_context"] = urls
        return await self.call("POST", "/v2/checkout/orders", body, request_id=request_id, prefer=prefer)

    async def capture(self, order_id: str, *, request_id: str | None = None, prefer: str | None = None) -> Any:
        return await self.call(
            "POST", f"/v2/checkout/orders/{order_id}/capture", {}, request_id=request_id, prefer=prefer
        )

    async def paid_capture(self, value: str = "10.00", **unit: Any) -> dict[str, Any]:
        """Create, approve and capture; the capture object from the capture response."""
        _, order = await self.create_order(value, **unit)
        self.em.approve(order["id"])
        status, captured = await self.capture(order["id"])
        assert status == 201, captured
        return captured["purchase_units"][0]["payments"]["captures"][0]


def rels(resource: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {link["rel"]: link for link in resource["links"]}


def issue_of(body: dict[str, Any]) -> str:
    return body["details"][0]["issue"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def em(clock: FakeClock) -> AsyncIterator[PayPalEmulator]:
    async with PayPalEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
async def client(em: PayPalEmulator) -> AsyncIterator[PayPalClient]:
    async with aiohttp.ClientSession() as session:
        yield PayPalClient(session, em)


# --- OAuth ---------------------------------------------------------------------------------------


async def test_oauth_client_credentials_returns_bearer_token_with_paypal_fields(client: PayPalClient) -> None:
    status, body = await client.token()
    assert status == 200
    assert set(body) == {"scope", "access_token", "token_type", "app_id", "expires_in", "nonce"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 32400
    call = client.em.calls_to("oauth")[0]
    assert call.form == {"grant_type": "client_credentials"}
    assert call.headers["authorization"].startswith("Basic ")


async def test_oauth_wrong_secret_gets_invalid_client_401(client: PayPalClient) -> None:
    status, body = await client.token(secret="wrong")
    assert status == 401
    assert body == {"error": "invalid_client", "error_description": "Client Authentication failed"}


async def test_oauth_without_grant_type_is_unsupported_grant_type(client: PayPalClient, em: PayPalEmulator) -> None:
    basic = base64.b64encode(b"emu-client-id:emu-client-secret").decode()
    async with client.session.post(
        f"{em.base_url}/v1/oauth2/token", headers={"Authorization": f"Basic {basic}"}, data={"scope": "x"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "unsupported_grant_type"


async def test_expired_token_gets_authentication_failure_until_refetched(
    client: PayPalClient, clock: FakeClock
) -> None:
    _, order = await client.create_order()
    clock.advance(32400)
    status, body = await client.call("GET", f"/v2/checkout/orders/{order['id']}")
    assert status == 401
    assert body["name"] == "AUTHENTICATION_FAILURE"
    assert {"message", "debug_id", "details", "links"} <= set(body)
    assert issue_of(body) == "TOKEN_EXPIRED"
    await client.token()
    status, _ = await client.call("GET", f"/v2/checkout/orders/{order['id']}")
    assert status == 200


@pytest.mark.parametrize(
    ("authorization", "issue"), [(None, "MISSING_AUTHORIZATION"), ("Bearer nope", "INVALID_TOKEN")]
)
async def test_api_call_without_valid_bearer_is_401(
    client: PayPalClient, em: PayPalEmulator, authorization: str | None, issue: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with client.session.get(f"{em.base_url}/v2/checkout/orders/ABC", headers=headers) as response:
        body = await response.json()
        assert response.status == 401
        assert response.headers["PayPal-Debug-Id"] == body["debug_id"]
    assert body["name"] == "AUTHENTICATION_FAILURE"
    assert issue_of(body) == issue


async def test_revoked_tokens_are_rejected(client: PayPalClient, em: PayPalEmulator) -> None:
    await client.token()
    em.revoke_tokens()
    status, body = await client.call("GET", "/v2/checkout/orders/ABC")
    assert (status, issue_of(body)) == (401, "INVALID_TOKEN")


# --- create and get ------------------------------------------------------------------------------


async def test_create_with_experience_context_is_payer_action_required_minimal(client: PayPalClient) -> None:
    status, body = await client.create_order()
    assert status == 201
    assert ORDER_ID.match(body["id"])
    assert set(body) == {"id", "status", "payment_source", "links"}
    assert body["status"] == "PAYER_ACTION_REQUIRED"
    assert body["payment_source"] == {"paypal": {}}
    links = rels(body)
    assert set(links) == {"self", "payer-action"}
    assert links["payer-action"]["href"] == f"{client.em.base_url}/checkoutnow?token={body['id']}"


async def test_create_with_application_context_is_created_with_approve_link(client: PayPalClient) -> None:
    status, body = await client.create_order(experience=False)
    assert (status, body["status"]) == (201, "CREATED")
    links = rels(body)
    assert set(links) == {"self", "approve", "update", "capture"}
    assert links["approve"]["href"] == client.em.checkout_url(body["id"])
    assert links["capture"]["method"] == "POST"


async def test_create_with_prefer_representation_returns_full_order(client: PayPalClient) -> None:
    status, body = await client.create_order(
        "12.5", prefer="return=representation", custom_id="topup-42", invoice_id="INV-42"
    )
    assert status == 201
    unit = body["purchase_units"][0]
    assert body["intent"] == "CAPTURE"
    assert unit["amount"] == {"currency_code": "USD", "value": "12.50"}
    assert (unit["custom_id"], unit["invoice_id"], unit["reference_id"]) == ("topup-42", "INV-42", "default")
    assert unit["payee"] == {"email_address": "merchant@business.example.com", "merchant_id": "EMUMERCHANT01"}
    assert body["create_time"].endswith("Z")


async def test_create_replayed_with_same_request_id_returns_original_order_with_200(client: PayPalClient) -> None:
    first_status, first = await client.create_order(request_id="topup-7-create", invoice_id="INV-7")
    again_status, again = await client.create_order(request_id="topup-7-create", invoice_id="INV-7")
    assert (first_status, again_status) == (201, 200)
    assert again == first
    assert len(client.em.orders) == 1
    other_status, other = await client.create_order(request_id="topup-8-create")
    assert other_status == 201
    assert other["id"] != first["id"]


async def test_create_duplicate_invoice_id_is_422(client: PayPalClient) -> None:
    await client.create_order(invoice_id="INV-1")
    status, body = await client.create_order(invoice_id="INV-1")
    assert (status, body["name"], issue_of(body)) == (422, "UNPROCESSABLE_ENTITY", "DUPLICATE_INVOICE_ID")
    assert body["details"][0]["field"] == "/purchase_units/@reference_id=='default'/invoice_id"


UNIT = "/purchase_units/@reference_id=='default'"


def order_body(value: Any = "1.00", *, currency: str = "USD", intent: str | None = "CAPTURE", **unit: Any) -> Any:
    """A create-order body to break one field at a time; ``value=None`` drops the amount."""
    amount = {"currency_code": currency, "value": value}
    body: dict[str, Any] = {"purchase_units": [{**({"amount": amount} if value is not None else {}), **unit}]}
    if intent is not None:
        body["intent"] = intent
    return body


@pytest.mark.parametrize(
    ("body", "status", "issue", "field"),
    [
        pytest.param(order_body(intent=None), 400, "MISSING_REQUIRED_PARAMETER", "/intent", id="no-intent"),
        pytest.param({"intent": "CAPTURE"}, 400, "MISSING_REQUIRED_PARAMETER", "/purchase_units", id="no-units"),
        pytest.param(order_body(None), 400, "MISSING_REQUIRED_PARAMETER", f"{UNIT}/amount", id="no-amount"),
        pytest.param(order_body(intent="SALE"), 400, "INVALID_PARAMETER_VALUE", "/intent", id="bad-intent"),
        pytest.param(order_body(10.0), 400, "INVALID_PARAMETER_SYNTAX", f"{UNIT}/amount/value", id="float"),
        pytest.param(order_body("10.005"), 422, "DECIMAL_PRECISION", f"{UNIT}/amount/value", id="3-decimals"),
        pytest.param(order_body("0.00"), 422, "CANNOT_BE_ZERO_OR_NEGATIVE", f"{UNIT}/amount/value", id="zero"),
        pytest.param(
            order_body(currency="XYZ"), 422, "INVALID_CURRENCY_CODE", f"{UNIT}/amount/currency_code", id="currency"
        ),
        pytest.param(
            order_body(custom_id="x" * 128), 400, "INVALID_STRING_LENGTH", f"{UNIT}/custom_id", id="long-custom-id"
        ),
        pytest.param(
            order_body(invoice_id="x" * 128), 400, "INVALID_STRING_LENGTH", f"{UNIT}/invoice_id", id="long-invoice"
        ),
    ],
)
async def test_create_rejects_invalid_bodies_with_paypal_issues(
    client: PayPalClient, body: dict[str, Any], status: int, issue: str, field: str
) -> None:
    got_status, got = await client.call("POST", "/v2/checkout/orders", body)
    assert (got_status, issue_of(got), got["details"][0]["field"]) == (status, issue, field)
    assert got["name"] == ("INVALID_REQUEST" if status == 400 else "UNPROCESSABLE_ENTITY")
    assert got["links"][0]["rel"] == "information_link"


async def test_create_with_malformed_json_or_wrong_content_type_is_rejected(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    status, body = await client.call("POST", "/v2/checkout/orders", headers={"Content-Type": "application/json"})
    assert (status, issue_of(body)) == (400, "MALFORMED_REQUEST_JSON")
    status, body = await client.call("POST", "/v2/checkout/orders", headers={"Content-Type": "text/plain"})
    assert (status, body["name"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


async def test_get_order_unknown_id_is_404_invalid_resource_id(client: PayPalClient) -> None:
    status, body = await client.call("GET", "/v2/checkout/orders/5O190127TN364715T")
    assert (status, body["name"], issue_of(body)) == (404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")


async def test_get_order_shows_buyer_approval(client: PayPalClient, em: PayPalEmulator) -> None:
    _, created = await client.create_order()
    em.approve(created["id"], payer_email="alice@example.com")
    status, order = await client.call("GET", f"/v2/checkout/orders/{created['id']}")
    assert (status, order["status"]) == (200, "APPROVED")
    assert order["payer"]["email_address"] == "alice@example.com"
    assert order["payment_source"]["paypal"]["email_address"] == "alice@example.com"
    assert set(rels(order)) == {"self", "update", "capture"}
    assert em.orders[created["id"]] == order


async def test_buyer_cancel_leaves_order_unapproved(client: PayPalClient, em: PayPalEmulator) -> None:
    _, created = await client.create_order()
    em.cancel(created["id"])
    assert em.orders[created["id"]]["status"] == "PAYER_ACTION_REQUIRED"
    status, body = await client.capture(created["id"])
    assert (status, issue_of(body)) == (422, "ORDER_NOT_APPROVED")


# --- capture -------------------------------------------------------------------------------------


async def test_capture_before_approval_is_422_and_a_later_retry_with_the_same_id_succeeds(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    _, order = await client.create_order()
    status, body = await client.capture(order["id"], request_id=f"capture-{order['id']}")
    assert (status, issue_of(body)) == (422, "ORDER_NOT_APPROVED")
    em.approve(order["id"])
    status, body = await client.capture(order["id"], request_id=f"capture-{order['id']}")
    assert (status, body["status"]) == (201, "COMPLETED")


async def test_capture_after_approval_completes_with_ids_amounts_and_fees(client: PayPalClient) -> None:
    _, order = await client.create_order("25.00", custom_id="topup-9", invoice_id="INV-9")
    client.em.approve(order["id"])
    status, body = await client.capture(order["id"])
    assert (status, body["status"]) == (201, "COMPLETED")
    capture = body["purchase_units"][0]["payments"]["captures"][0]
    assert ORDER_ID.match(capture["id"])
    assert capture["status"] == "COMPLETED"
    assert "status_details" not in capture
    assert capture["amount"] == {"currency_code": "USD", "value": "25.00"}
    assert (capture["custom_id"], capture["invoice_id"], capture["final_capture"]) == ("topup-9", "INV-9", True)
    assert capture["seller_protection"]["status"] == "ELIGIBLE"
    breakdown = capture["seller_receivable_breakdown"]
    assert breakdown["gross_amount"]["value"] == "25.00"
    assert breakdown["paypal_fee"]["value"] == "1.36"  # 3.49 % + 0.49
    assert breakdown["net_amount"]["value"] == "23.64"
    links = rels(capture)
    assert links["up"]["href"] == f"{client.em.base_url}/v2/checkout/orders/{order['id']}"
    assert links["refund"]["method"] == "POST"
    assert links["self"]["href"].endswith(f"/v2/payments/captures/{capture['id']}")
    assert body["payer"]["email_address"] == "buyer@example.com"


async def test_capture_repeated_with_same_request_id_replays_200_and_other_id_is_already_captured(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    _, order = await client.create_order()
    em.approve(order["id"])
    first_status, first = await client.capture(order["id"], request_id="cap-1")
    again_status, again = await client.capture(order["id"], request_id="cap-1")
    assert (first_status, again_status) == (201, 200)
    assert again == first
    assert len(em.captures) == 1
    status, body = await client.capture(order["id"], request_id="cap-2")
    assert (status, issue_of(body)) == (422, "ORDER_ALREADY_CAPTURED")
    status, body = await client.capture(order["id"])
    assert (status, issue_of(body)) == (422, "ORDER_ALREADY_CAPTURED")


async def test_capture_representation_includes_amount_and_purchase_unit_fields(client: PayPalClient) -> None:
    _, order = await client.create_order(custom_id="topup-3")
    client.em.approve(order["id"])
    _, body = await client.capture(order["id"], prefer="return=representation")
    unit = body["purchase_units"][0]
    assert unit["custom_id"] == "topup-3"
    assert unit["amount"]["value"] == "10.00"
    assert unit["payments"]["captures"][0]["custom_id"] == "topup-3"


async def test_capture_pending_outcome_has_reason_and_no_breakdown_until_completed(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    _, order = await client.create_order()
    em.set_capture_outcome(order["id"], "PENDING")
    em.approve(order["id"])
    status, body = await client.capture(order["id"])
    assert (status, body["status"]) == (201, "COMPLETED")
    capture = body["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "PENDING"
    assert capture["status_details"] == {"reason": "PENDING_REVIEW"}
    assert "seller_receivable_breakdown" not in capture
    completed = em.complete_pending_capture(capture["id"])
    assert completed["status"] == "COMPLETED"
    assert "status_details" not in completed
    status, fetched = await client.call("GET", f"/v2/payments/captures/{capture['id']}")
    assert (status, fetched["status"]) == (200, "COMPLETED")
    assert fetched["seller_receivable_breakdown"]["net_amount"]["value"] == "9.16"


async def test_capture_declined_outcome_completes_the_order_with_a_declined_capture(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    em.set_capture_outcome(None, "DECLINED")
    _, order = await client.create_order()
    em.approve(order["id"])
    status, body = await client.capture(order["id"])
    assert (status, body["status"]) == (201, "COMPLETED")
    capture = body["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "DECLINED"
    assert capture["seller_protection"]["status"] == "NOT_ELIGIBLE"
    assert "seller_receivable_breakdown" not in capture


async def test_capture_instrument_declined_is_422_with_redirect_and_needs_new_approval(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    _, order = await client.create_order()
    em.set_capture_outcome(order["id"], "INSTRUMENT_DECLINED")
    em.approve(order["id"])
    status, body = await client.capture(order["id"], request_id="cap-x")
    assert (status, issue_of(body)) == (422, "INSTRUMENT_DECLINED")
    assert rels(body)["redirect"]["href"] == em.checkout_url(order["id"])
    assert em.orders[order["id"]]["status"] == "PAYER_ACTION_REQUIRED"
    em.approve(order["id"])
    status, body = await client.capture(order["id"], request_id="cap-x")
    assert (status, body["purchase_units"][0]["payments"]["captures"][0]["status"]) == (201, "COMPLETED")


async def test_set_capture_outcome_rejects_unknown_status(em: PayPalEmulator) -> None:
    with pytest.raises(ValueError, match="capture outcome"):
        em.set_capture_outcome(None, "MAYBE")


async def test_get_capture_names_its_order_in_supplementary_data(client: PayPalClient) -> None:
    capture = await client.paid_capture(custom_id="topup-5")
    status, body = await client.call("GET", f"/v2/payments/captures/{capture['id']}")
    assert status == 200
    order_id = rels(capture)["up"]["href"].rsplit("/", 1)[1]
    assert body["supplementary_data"] == {"related_ids": {"order_id": order_id}}
    assert body["custom_id"] == "topup-5"
    assert body["payee"]["merchant_id"] == "EMUMERCHANT01"
    status, missing = await client.call("GET", "/v2/payments/captures/NOPE")
    assert (status, issue_of(missing)) == (404, "INVALID_RESOURCE_ID")
    assert "payments/v2" in missing["links"][0]["href"]


# --- refunds -------------------------------------------------------------------------------------


async def test_refund_partial_then_full_moves_capture_to_refunded(client: PayPalClient) -> None:
    capture = await client.paid_capture("10.00", custom_id="topup-6")
    path = f"/v2/payments/captures/{capture['id']}/refund"
    status, minimal = await client.call("POST", path, {"amount": {"currency_code": "USD", "value": "4.00"}})
    assert status == 201
    assert set(minimal) == {"id", "status", "links"}
    assert rels(minimal)["up"]["href"] == f"{client.em.base_url}/v2/payments/captures/{capture['id']}"
    _, fetched = await client.call("GET", f"/v2/payments/captures/{capture['id']}")
    assert fetched["status"] == "PARTIALLY_REFUNDED"

    status, full = await client.call("POST", path, {}, prefer="return=representation")
    assert (status, full["status"]) == (201, "COMPLETED")
    assert full["amount"] == {"currency_code": "USD", "value": "6.00"}
    assert full["custom_id"] == "topup-6"
    breakdown = full["seller_payable_breakdown"]
    assert breakdown["total_refunded_amount"]["value"] == "10.00"
    assert breakdown["gross_amount"]["value"] == "6.00"
    _, fetched = await client.call("GET", f"/v2/payments/captures/{capture['id']}")
    assert fetched["status"] == "REFUNDED"
    status, body = await client.call("POST", path, {})
    assert (status, issue_of(body)) == (422, "CAPTURE_FULLY_REFUNDED")
    status, refund = await client.call("GET", f"/v2/payments/refunds/{minimal['id']}")
    assert (status, refund["amount"]["value"]) == (200, "4.00")


async def test_refund_more_than_captured_or_in_other_currency_is_422(client: PayPalClient) -> None:
    capture = await client.paid_capture("10.00")
    path = f"/v2/payments/captures/{capture['id']}/refund"
    status, body = await client.call("POST", path, {"amount": {"currency_code": "USD", "value": "10.01"}})
    assert (status, issue_of(body)) == (422, "REFUND_AMOUNT_EXCEEDED")
    status, body = await client.call("POST", path, {"amount": {"currency_code": "EUR", "value": "1.00"}})
    assert (status, issue_of(body)) == (422, "REFUND_CAPTURE_CURRENCY_MISMATCH")


async def test_refund_replayed_with_same_request_id_refunds_once(client: PayPalClient) -> None:
    capture = await client.paid_capture("10.00")
    path = f"/v2/payments/captures/{capture['id']}/refund"
    money = {"amount": {"currency_code": "USD", "value": "1.00"}}
    first = await client.call("POST", path, money, request_id="refund-1")
    again = await client.call("POST", path, money, request_id="refund-1")
    assert (first[0], again[0]) == (201, 200)
    assert first[1] == again[1]
    assert len(client.em.refunds) == 1


async def test_refund_of_pending_capture_is_422(client: PayPalClient, em: PayPalEmulator) -> None:
    em.set_capture_outcome(None, "PENDING", reason="ECHECK")
    capture = await client.paid_capture()
    assert capture["status_details"] == {"reason": "ECHECK"}
    status, body = await client.call("POST", f"/v2/payments/captures/{capture['id']}/refund", {})
    assert (status, issue_of(body)) == (422, "PENDING_CAPTURE")


async def test_dashboard_refund_and_reversal_hooks_produce_refund_resources(client: PayPalClient) -> None:
    capture = await client.paid_capture("10.00")
    refund = client.em.refund(capture["id"], "3.00")
    assert refund["amount"]["value"] == "3.00"
    assert client.em.captures[capture["id"]]["status"] == "PARTIALLY_REFUNDED"
    reversal = client.em.reverse(capture["id"])
    assert reversal["note_to_payer"] == "Payment reversed"
    assert reversal["amount"]["value"] == "7.00"
    assert reversal["seller_payable_breakdown"]["total_refunded_amount"]["value"] == "10.00"
    assert client.em.captures[capture["id"]]["status"] == "REFUNDED"


# --- the buyer's page ----------------------------------------------------------------------------


async def test_checkout_page_approve_redirects_to_return_url_with_token_and_payer_id(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    _, order = await client.create_order()
    async with client.session.get(rels(order)["payer-action"]["href"]) as page:
        assert page.status == 200
        assert "Pay 10.00 USD" in await page.text()
    approve = f"{em.base_url}/checkoutnow/approve?token={order['id']}"
    async with client.session.post(approve, allow_redirects=False) as response:
        assert response.status == 303
        location = response.headers["Location"]
    payer_id = em.orders[order["id"]]["payer"]["payer_id"]
    assert location == f"{RETURN_URL}?token={order['id']}&PayerID={payer_id}"
    assert em.orders[order["id"]]["status"] == "APPROVED"


async def test_checkout_page_cancel_redirects_to_cancel_url(client: PayPalClient, em: PayPalEmulator) -> None:
    _, order = await client.create_order(experience=False)
    cancel = f"{em.base_url}/checkoutnow/cancel?token={order['id']}"
    async with client.session.post(cancel, allow_redirects=False) as response:
        assert response.headers["Location"] == f"{CANCEL_URL}?token={order['id']}"
    assert em.orders[order["id"]]["status"] == "CREATED"


# --- faults and recording ------------------------------------------------------------------------


async def test_fail_answers_with_paypal_error_body_then_recovers(client: PayPalClient, em: PayPalEmulator) -> None:
    em.fail("orders.create", status=503, times=2)
    first = await client.create_order()
    second = await client.create_order()
    third = await client.create_order()
    assert [first[0], second[0], third[0]] == [503, 503, 201]
    assert first[1]["name"] == "SERVICE_UNAVAILABLE"
    assert "debug_id" in first[1]
    em.fail("orders.get", status=500)
    status, body = await client.call("GET", f"/v2/checkout/orders/{third[1]['id']}")
    assert (status, body["name"]) == (500, "INTERNAL_SERVER_ERROR")


async def test_fail_with_custom_body_and_headers(client: PayPalClient, em: PayPalEmulator) -> None:
    em.fail("oauth", status=429, body={"name": "RATE_LIMIT_REACHED"}, headers={"Retry-After": "2"})
    async with client.session.post(f"{em.base_url}/v1/oauth2/token") as response:
        assert (response.status, response.headers["Retry-After"]) == (429, "2")
        assert await response.json() == {"name": "RATE_LIMIT_REACHED"}


async def test_fail_with_disconnect_drops_the_connection(client: PayPalClient, em: PayPalEmulator) -> None:
    await client.token()
    em.fail("orders.capture", disconnect=True)
    with pytest.raises(aiohttp.ClientError):
        await client.capture("ANY")
    assert em.calls_to("orders.capture")[-1].status == 0


async def test_slow_route_delays_answers_until_cleared(client: PayPalClient, em: PayPalEmulator) -> None:
    await client.token()
    em.slow("orders.get", 0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.call("GET", "/v2/checkout/orders/X")
    assert loop.time() - started >= 0.2
    em.clear_faults()
    started = loop.time()
    await client.call("GET", "/v2/checkout/orders/X")
    assert loop.time() - started < 0.2


async def test_fail_rejects_unknown_route_keys(em: PayPalEmulator) -> None:
    with pytest.raises(ValueError, match="unknown route key"):
        em.fail("orders.delete")


async def test_calls_are_recorded_with_lowercased_headers_and_json_and_wait_for_sees_them(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    waiter = asyncio.create_task(em.wait_for("orders.create"))
    await client.create_order(request_id="rid-1", custom_id="topup-1")
    [call] = await waiter
    assert (call.method, call.path, call.status) == ("POST", "/v2/checkout/orders", 201)
    assert call.request_id == "rid-1"
    assert call.headers["authorization"].startswith("Bearer ")
    assert call.json["purchase_units"][0]["custom_id"] == "topup-1"
    assert call.response["id"] in em.orders
    with pytest.raises(AssertionError, match=r"orders\.capture"):
        await em.wait_for("orders.capture", timeout=0.05)


async def test_unknown_paths_are_404_in_paypal_shape(client: PayPalClient, em: PayPalEmulator) -> None:
    async with client.session.get(f"{em.base_url}/v2/nothing/here") as response:
        assert response.status == 404
        assert (await response.json())["name"] == "RESOURCE_NOT_FOUND"
    assert em.calls[-1].route == "unknown"


# --- certificates --------------------------------------------------------------------------------


async def test_cert_url_serves_leaf_then_ca_issued_by_the_emulator_ca(client: PayPalClient, em: PayPalEmulator) -> None:
    assert em.cert_url.startswith(f"{em.base_url}/v1/notifications/certs/CERT-")
    async with client.session.get(em.cert_url) as response:
        assert response.status == 200
        chain = x509.load_pem_x509_certificates(await response.read())
    leaf, ca = chain
    assert ca == x509.load_pem_x509_certificate(em.ca_pem)
    leaf.verify_directly_issued_by(ca)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "messageverificationcerts.paypal.com"
    assert leaf.not_valid_before_utc.timestamp() <= time.time() <= leaf.not_valid_after_utc.timestamp()
    async with client.session.get(f"{em.base_url}/v1/notifications/certs/CERT-unknown") as response:
        assert response.status == 404


async def test_rotated_certificate_gets_a_new_url_and_the_old_one_stays_served(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    old_url = em.cert_url
    new_url = em.rotate_certificate()
    assert new_url != old_url
    for url in (old_url, new_url):
        async with client.session.get(url) as response:
            assert response.status == 200
    em.fail("certs", status=503)
    async with client.session.get(new_url) as response:
        assert response.status == 503


# --- webhook subscriptions -----------------------------------------------------------------------


async def test_webhook_subscriptions_are_listed_and_shown_in_paypals_shape(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    status, listed = await client.call("GET", "/v1/notifications/webhooks")
    assert (status, listed) == (200, {"webhooks": []})
    em.add_webhook("https://bot.example/webhooks/paypal", ["PAYMENT.CAPTURE.COMPLETED", "CHECKOUT.ORDER.APPROVED"])

    status, shown = await client.call("GET", f"/v1/notifications/webhooks/{em.webhook_id}")
    assert status == 200
    assert shown["id"] == em.webhook_id and shown["url"] == "https://bot.example/webhooks/paypal"
    assert [t["name"] for t in shown["event_types"]] == ["PAYMENT.CAPTURE.COMPLETED", "CHECKOUT.ORDER.APPROVED"]
    assert rels(shown)["self"]["href"] == f"{em.base_url}/v1/notifications/webhooks/{em.webhook_id}"
    assert rels(shown)["delete"]["method"] == "DELETE"
    assert (await client.call("GET", "/v1/notifications/webhooks"))[1] == {"webhooks": [shown]}

    status, missing = await client.call("GET", "/v1/notifications/webhooks/WH-NOT-THERE")
    assert status == 404 and issue_of(missing) == "INVALID_RESOURCE_ID"
    async with client.session.get(f"{em.base_url}/v1/notifications/webhooks") as anonymous:
        assert anonymous.status == 401
