"""The PayPal emulator's webhook side: events where PayPal puts the data, signatures that verify
offline against the served certificate exactly as §1.4 prescribes, verify-webhook-signature, and
PayPal-style delivery retries and storms."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import uuid
import zlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from bot.emulators.paypal import PayPalEmulator
from tests.emulators.test_paypal_emulator import PayPalClient, rels

WEBHOOK_ID = "WH-EMU-0001"
TRANSMISSION_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


# --- a minimal offline verifier, as the bot must implement it ------------------------------------


class OfflineVerifier:
    """Verify a PayPal webhook from its raw bytes: the steps of §1.4(b), nothing more.

    Returns "ok" or the first failed check, so tests can tell *why* a delivery is refused.
    """

    def __init__(self, session: aiohttp.ClientSession, *, webhook_id: str, ca_pem: bytes, cert_origin: str) -> None:
        self.session = session
        self.webhook_id = webhook_id
        self.ca = x509.load_pem_x509_certificate(ca_pem)
        self.cert_origin = cert_origin

    async def check(self, headers: Mapping[str, str], body: bytes) -> str:
        h = {k.lower(): v for k, v in headers.items()}
        cert_url = h.get("paypal-cert-url", "")
        if not cert_url.startswith(f"{self.cert_origin}/v1/notifications/certs/"):
            return "cert-url"
        if h.get("paypal-auth-algo") != "SHA256withRSA":
            return "algo"
        async with self.session.get(cert_url) as response:
            chain = x509.load_pem_x509_certificates(await response.read())
        leaf = chain[0]
        try:
            leaf.verify_directly_issued_by(self.ca)
        except (ValueError, TypeError, InvalidSignature):
            return "chain"
        if not str(leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value).endswith(".paypal.com"):
            return "name"
        if not leaf.not_valid_before_utc <= datetime.now(UTC) <= leaf.not_valid_after_utc:
            return "expired"
        message = f"{h['paypal-transmission-id']}|{h['paypal-transmission-time']}|{self.webhook_id}|{zlib.crc32(body)}"
        public_key = leaf.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        try:
            public_key.verify(
                base64.b64decode(h["paypal-transmission-sig"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return "signature"
        return "ok"


# --- the bot's webhook endpoint stand-in ---------------------------------------------------------


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Records raw bytes and headers; answers scripted statuses, then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[int] = deque()
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self.received.append(Received(dict(request.headers), await request.read()))
            if self.delay:
                await asyncio.sleep(self.delay)
            return web.Response(status=self.script.popleft() if self.script else 200)
        finally:
            self.in_flight -= 1


@pytest.fixture
async def em() -> AsyncIterator[PayPalEmulator]:
    async with PayPalEmulator(webhook_id=WEBHOOK_ID) as emulator:
        yield emulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(session: aiohttp.ClientSession, em: PayPalEmulator) -> PayPalClient:
    return PayPalClient(session, em)


@pytest.fixture
def verifier(session: aiohttp.ClientSession, em: PayPalEmulator) -> OfflineVerifier:
    return OfflineVerifier(session, webhook_id=WEBHOOK_ID, ca_pem=em.ca_pem, cert_origin=em.base_url)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sink = Receiver()
    app = web.Application()
    app.router.add_post("/webhooks/paypal", sink.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    sink.url = f"http://{host}:{port}/webhooks/paypal"
    yield sink
    await runner.cleanup()


async def paid(client: PayPalClient, value: str = "10.00", **unit: Any) -> tuple[str, dict[str, Any]]:
    """An order id and its capture, created through the API with custom and invoice ids."""
    unit = {"custom_id": "topup-1", "invoice_id": f"INV-{uuid.uuid4().hex[:8]}", **unit}
    _, order = await client.create_order(value, **unit)
    client.em.approve(order["id"])
    _, captured = await client.capture(order["id"])
    return order["id"], captured["purchase_units"][0]["payments"]["captures"][0]


def splice(headers: Mapping[str, str], body: bytes, webhook_id: str = WEBHOOK_ID) -> bytes:
    """A verify-webhook-signature request with the received bytes spliced in as ``webhook_event``."""
    h = {k.lower(): v for k, v in headers.items()}
    fields = {
        "auth_algo": h["paypal-auth-algo"],
        "cert_url": h["paypal-cert-url"],
        "transmission_id": h["paypal-transmission-id"],
        "transmission_sig": h["paypal-transmission-sig"],
        "transmission_time": h["paypal-transmission-time"],
        "webhook_id": webhook_id,
    }
    return json.dumps(fields)[:-1].encode() + b', "webhook_event": ' + body + b"}"


async def verify_remotely(client: PayPalClient, raw: bytes) -> tuple[int, Any]:
    """POST ``raw`` to verify-webhook-signature, byte for byte."""
    if client.access_token is None:
        await client.token()
    headers = {"Authorization": f"Bearer {client.access_token}", "Content-Type": "application/json"}
    url = f"{client.em.base_url}/v1/notifications/verify-webhook-signature"
    async with client.session.post(url, data=raw, headers=headers) as response:
        return response.status, await response.json()


# --- building events -----------------------------------------------------------------------------


async def test_event_envelope_has_paypal_fields_and_links(em: PayPalEmulator) -> None:
    event = em.build_event("PAYMENT.CAPTURE.COMPLETED", {"id": "X"}, summary="s")
    assert list(event) == [
        "id",
        "event_version",
        "create_time",
        "resource_type",
        "resource_version",
        "event_type",
        "summary",
        "resource",
        "links",
    ]
    assert re.match(r"^WH-[A-Z0-9]{17}-[A-Z0-9]{17}$", event["id"])
    assert (event["event_version"], event["resource_version"], event["resource_type"]) == ("1.0", "2.0", "capture")
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", event["create_time"])
    links = rels(event)
    assert links["self"]["href"] == f"{em.base_url}/v1/notifications/webhooks-events/{event['id']}"
    assert links["resend"]["href"].endswith(f"/{event['id']}/resend")
    custom = em.build_event("X.Y.Z", {}, event_id="WH-1", resource_type="thing")
    assert (custom["id"], custom["resource_type"], custom["summary"]) == ("WH-1", "thing", "X.Y.Z")


async def test_order_approved_event_carries_the_order_with_custom_and_invoice_ids(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    _, order = await client.create_order("20.00", custom_id="topup-2", invoice_id="INV-2")
    em.approve(order["id"])
    event = em.event_order_approved(order["id"])
    resource = event["resource"]
    assert (event["event_type"], event["resource_type"]) == ("CHECKOUT.ORDER.APPROVED", "checkout-order")
    assert (resource["id"], resource["status"]) == (order["id"], "APPROVED")
    unit = resource["purchase_units"][0]
    assert (unit["custom_id"], unit["invoice_id"]) == ("topup-2", "INV-2")
    assert unit["amount"] == {"currency_code": "USD", "value": "20.00", "breakdown": {}}
    assert resource["payer"]["email_address"] == "buyer@example.com"
    assert rels(resource)["capture"]["href"].endswith(f"/v2/checkout/orders/{order['id']}/capture")


async def test_capture_completed_event_puts_order_id_in_supplementary_data(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    order_id, capture = await paid(client, "57.00", custom_id="topup-57")
    event = em.event_capture_completed(capture["id"])
    resource = event["resource"]
    assert (event["event_type"], event["resource_type"]) == ("PAYMENT.CAPTURE.COMPLETED", "capture")
    assert event["summary"] == "Payment completed for $ 57.0 USD"
    assert (resource["id"], resource["status"]) == (capture["id"], "COMPLETED")
    assert resource["supplementary_data"]["related_ids"]["order_id"] == order_id
    assert rels(resource)["up"]["href"] == f"{em.base_url}/v2/checkout/orders/{order_id}"
    assert resource["custom_id"] == "topup-57"
    assert resource["invoice_id"] == capture["invoice_id"]
    assert resource["amount"] == {"currency_code": "USD", "value": "57.00"}
    assert resource["seller_receivable_breakdown"]["gross_amount"]["value"] == "57.00"
    assert resource["final_capture"] is True


async def test_pending_then_denied_and_declined_capture_events_show_those_states(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    em.set_capture_outcome(None, "PENDING", reason="ECHECK")
    _, pending = await paid(client)
    event = em.event_capture_pending(pending["id"])
    assert (event["event_type"], event["resource"]["status"]) == ("PAYMENT.CAPTURE.PENDING", "PENDING")
    assert event["resource"]["status_details"] == {"reason": "ECHECK"}
    em.deny_pending_capture(pending["id"])
    denied = em.event_capture_denied(pending["id"])
    assert (denied["event_type"], denied["resource"]["status"]) == ("PAYMENT.CAPTURE.DENIED", "DECLINED")
    em.set_capture_outcome(None, "DECLINED")
    _, declined = await paid(client)
    event = em.event_capture_declined(declined["id"])
    assert (event["event_type"], event["resource"]["status"]) == ("PAYMENT.CAPTURE.DECLINED", "DECLINED")
    assert "seller_receivable_breakdown" not in event["resource"]


async def test_refunded_and_reversed_events_name_the_capture_only_in_the_up_link(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    _, capture = await paid(client, "10.00", custom_id="topup-10")
    refund = em.refund(capture["id"], "2.50")
    event = em.event_capture_refunded(refund)
    resource = event["resource"]
    assert (event["event_type"], event["resource_type"]) == ("PAYMENT.CAPTURE.REFUNDED", "refund")
    assert event["summary"] == "A $ 2.5 USD capture payment was refunded"
    assert resource["id"] == refund["id"]
    assert rels(resource)["up"]["href"].rsplit("/", 1)[1] == capture["id"]
    assert "supplementary_data" not in resource
    assert resource["custom_id"] == "topup-10"
    assert resource["amount"]["value"] == "2.50"
    assert resource["seller_payable_breakdown"]["total_refunded_amount"]["value"] == "2.50"
    reversal = em.event_capture_reversed(em.reverse(capture["id"]))
    assert (reversal["event_type"], reversal["resource_type"]) == ("PAYMENT.CAPTURE.REVERSED", "refund")
    assert reversal["resource"]["note_to_payer"] == "Payment reversed"
    assert reversal["resource"]["seller_payable_breakdown"]["total_refunded_amount"]["value"] == "10.00"
    assert rels(reversal["resource"])["up"]["href"].rsplit("/", 1)[1] == capture["id"]


async def test_approval_reversed_event_names_the_order_in_order_id(client: PayPalClient, em: PayPalEmulator) -> None:
    _, order = await client.create_order(custom_id="topup-3", invoice_id="INV-3")
    em.approve(order["id"])
    em.reverse_approval(order["id"])
    event = em.event_approval_reversed(order["id"])
    assert event["event_type"] == "CHECKOUT.PAYMENT-APPROVAL.REVERSED"
    assert event["resource"]["order_id"] == order["id"]
    assert event["resource"]["purchase_units"][0]["custom_id"] == "topup-3"
    assert em.orders[order["id"]]["status"] == "VOIDED"
    status, body = await client.capture(order["id"])
    assert (status, body["details"][0]["issue"]) == (422, "ORDER_NOT_APPROVED")


async def test_dispute_created_event_names_the_capture_as_seller_transaction(
    client: PayPalClient, em: PayPalEmulator
) -> None:
    _, capture = await paid(client, "30.00", custom_id="topup-30")
    dispute = em.open_dispute(capture["id"])
    event = em.event_dispute_created(dispute)
    resource = event["resource"]
    assert (event["event_type"], event["resource_type"]) == ("CUSTOMER.DISPUTE.CREATED", "dispute")
    assert resource["dispute_id"] == dispute["dispute_id"]
    assert resource["disputed_transactions"][0]["seller_transaction_id"] == capture["id"]
    assert resource["disputed_transactions"][0]["custom"] == "topup-30"
    assert resource["reason"] == "MERCHANDISE_OR_SERVICE_NOT_RECEIVED"
    assert resource["dispute_amount"] == {"currency_code": "USD", "value": "30.00"}
    assert resource["dispute_life_cycle_stage"] == "INQUIRY"
    assert em.disputes[dispute["dispute_id"]]["status"] == "WAITING_FOR_SELLER_RESPONSE"


async def test_serialized_body_survives_no_python_reserialisation(client: PayPalClient, em: PayPalEmulator) -> None:
    _, order = await client.create_order()
    em.approve(order["id"])
    event = em.event_order_approved(order["id"])
    body = em.serialize(event)
    assert json.loads(body) == event
    assert b'"event_version": "1.0"' in body
    assert b'"breakdown": {}' in body
    assert b"\\/v2\\/checkout\\/orders" in body
    for separators in [(", ", ": "), (",", ":"), (",", ": ")]:
        assert json.dumps(json.loads(body), separators=separators).encode() != body


# --- signing and offline verification ------------------------------------------------------------


async def test_sign_produces_paypal_headers_over_crc32_of_the_raw_body(em: PayPalEmulator) -> None:
    body = b'{"id": "WH-1","event_version": "1.0"}'
    headers = em.sign(body)
    assert headers["Content-Type"] == "application/json"
    assert str(uuid.UUID(headers["PAYPAL-TRANSMISSION-ID"])) == headers["PAYPAL-TRANSMISSION-ID"]
    assert TRANSMISSION_TIME.match(headers["PAYPAL-TRANSMISSION-TIME"])
    assert (headers["PAYPAL-AUTH-ALGO"], headers["PAYPAL-CERT-URL"]) == ("SHA256withRSA", em.cert_url)
    leaf = x509.load_pem_x509_certificates(em.cert_chain_pem)[0]
    public_key = leaf.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    crc = zlib.crc32(body)
    message = f"{headers['PAYPAL-TRANSMISSION-ID']}|{headers['PAYPAL-TRANSMISSION-TIME']}|{WEBHOOK_ID}|{crc}"
    public_key.verify(
        base64.b64decode(headers["PAYPAL-TRANSMISSION-SIG"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    fixed = em.sign(body, transmission_id="t-1", transmission_time="2016-02-18T20:01:35Z")
    assert (fixed["PAYPAL-TRANSMISSION-ID"], fixed["PAYPAL-TRANSMISSION-TIME"]) == ("t-1", "2016-02-18T20:01:35Z")


async def test_delivered_body_verifies_offline_and_any_change_to_bytes_or_webhook_id_fails(
    client: PayPalClient, em: PayPalEmulator, receiver: Receiver, verifier: OfflineVerifier, session: Any
) -> None:
    _, capture = await paid(client)
    assert await em.deliver(receiver.url, em.event_capture_completed(capture["id"])) == [200]
    [got] = receiver.received
    # (a) the raw body as delivered verifies
    assert await verifier.check(got.headers, got.body) == "ok"
    # (b) one changed byte fails
    flipped = got.body.replace(b'"status": "COMPLETED"', b'"status": "COMPLETEd"', 1)
    assert flipped != got.body
    assert await verifier.check(got.headers, flipped) == "signature"
    # (c) a parse-and-re-encode, as a careless receiver would hash, fails
    assert await verifier.check(got.headers, json.dumps(json.loads(got.body)).encode()) == "signature"
    # (d) another webhook id (e.g. the sandbox's id on the live endpoint) fails
    other = OfflineVerifier(session, webhook_id="WH-OTHER", ca_pem=em.ca_pem, cert_origin=em.base_url)
    assert await other.check(got.headers, got.body) == "signature"


async def test_signing_chain_passes_full_path_validation_against_the_emulator_ca(em: PayPalEmulator) -> None:
    leaf, *intermediates = x509.load_pem_x509_certificates(em.cert_chain_pem)
    ca = x509.load_pem_x509_certificate(em.ca_pem)
    verifier = (
        PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("messageverificationcerts.paypal.com"))
    )
    path = verifier.verify(leaf, intermediates)
    assert path[-1] == ca


async def test_offline_verifier_refuses_expired_certificates_and_foreign_names(receiver: Receiver) -> None:
    expired = PayPalEmulator(cert_not_after=datetime.now(UTC) - timedelta(hours=1))
    foreign = PayPalEmulator(cert_common_name="messageverificationcerts.evil.example")
    async with aiohttp.ClientSession() as session:
        for emulator, reason in ((expired, "expired"), (foreign, "name")):
            async with emulator:
                await emulator.deliver(receiver.url, emulator.build_event("X.Y", {}))
                got = receiver.received[-1]
                check = OfflineVerifier(
                    session, webhook_id=WEBHOOK_ID, ca_pem=emulator.ca_pem, cert_origin=emulator.base_url
                )
                assert await check.check(got.headers, got.body) == reason


async def test_offline_verifier_refuses_cert_urls_outside_the_allowlist_and_other_cas(
    em: PayPalEmulator, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await em.deliver(receiver.url, em.build_event("X.Y", {}), headers={"PAYPAL-CERT-URL": "https://evil.example/c"})
    got = receiver.received[-1]
    verifier = OfflineVerifier(session, webhook_id=WEBHOOK_ID, ca_pem=em.ca_pem, cert_origin=em.base_url)
    assert await verifier.check(got.headers, got.body) == "cert-url"
    async with PayPalEmulator() as stranger:
        await em.deliver(receiver.url, em.build_event("X.Y", {}))
        got = receiver.received[-1]
        untrusting = OfflineVerifier(session, webhook_id=WEBHOOK_ID, ca_pem=stranger.ca_pem, cert_origin=em.base_url)
        assert await untrusting.check(got.headers, got.body) == "chain"


async def test_mock_events_are_signed_with_the_literal_webhook_id(
    em: PayPalEmulator, receiver: Receiver, session: aiohttp.ClientSession, verifier: OfflineVerifier
) -> None:
    await em.deliver(receiver.url, em.build_event("X.Y", {}), mock=True)
    got = receiver.received[-1]
    assert await verifier.check(got.headers, got.body) == "signature"
    simulator = OfflineVerifier(session, webhook_id="WEBHOOK_ID", ca_pem=em.ca_pem, cert_origin=em.base_url)
    assert await simulator.check(got.headers, got.body) == "ok"


# --- verify-webhook-signature --------------------------------------------------------------------


async def test_verify_webhook_signature_succeeds_only_for_the_spliced_raw_event(
    client: PayPalClient, em: PayPalEmulator, receiver: Receiver
) -> None:
    _, capture = await paid(client)
    await em.deliver(receiver.url, em.event_capture_completed(capture["id"]))
    got = receiver.received[-1]
    assert await verify_remotely(client, splice(got.headers, got.body)) == (200, {"verification_status": "SUCCESS"})
    # the same event parsed and re-encoded by the client, as PayPal SDK bugs did
    reencoded = splice(got.headers, json.dumps(json.loads(got.body)).encode())
    assert (await verify_remotely(client, reencoded))[1] == {"verification_status": "FAILURE"}
    as_object = json.loads(splice(got.headers, got.body))
    status, body = await client.call("POST", "/v1/notifications/verify-webhook-signature", as_object)
    assert (status, body) == (200, {"verification_status": "FAILURE"})
    wrong_id = splice(got.headers, got.body, webhook_id="WHOTHER")
    assert (await verify_remotely(client, wrong_id))[1] == {"verification_status": "FAILURE"}
    forged = splice({**got.headers, "paypal-transmission-sig": "AAAA"}, got.body)
    assert (await verify_remotely(client, forged))[1] == {"verification_status": "FAILURE"}


async def test_verify_webhook_signature_fails_mock_and_unknown_transmissions(
    client: PayPalClient, em: PayPalEmulator, receiver: Receiver
) -> None:
    await em.deliver(receiver.url, em.build_event("X.Y", {}), mock=True)
    got = receiver.received[-1]
    assert (await verify_remotely(client, splice(got.headers, got.body)))[1] == {"verification_status": "FAILURE"}
    body = em.serialize(em.build_event("X.Y", {}))
    invented = {**em.sign(body, mock=True), "PAYPAL-TRANSMISSION-ID": str(uuid.uuid4())}
    assert (await verify_remotely(client, splice(invented, body)))[1] == {"verification_status": "FAILURE"}


async def test_verify_webhook_signature_requires_every_field_and_a_token(client: PayPalClient) -> None:
    status, body = await verify_remotely(client, json.dumps({"auth_algo": "SHA256withRSA"}).encode())
    assert (status, body["name"]) == (400, "VALIDATION_ERROR")
    assert {d["field"] for d in body["details"]} >= {"webhook_id", "webhook_event", "transmission_sig"}
    async with client.session.post(
        f"{client.em.base_url}/v1/notifications/verify-webhook-signature", json={}
    ) as response:
        assert response.status == 401


# --- delivery ------------------------------------------------------------------------------------


async def test_deliver_retries_non_2xx_with_new_transmissions_of_the_same_body(
    client: PayPalClient, em: PayPalEmulator, receiver: Receiver, verifier: OfflineVerifier
) -> None:
    _, capture = await paid(client)
    event = em.event_capture_completed(capture["id"])
    receiver.script.extend([500, 503])
    assert await em.deliver(receiver.url, event, retries=3, backoff=0.01) == [500, 503, 200]
    bodies = {r.body for r in receiver.received}
    transmission_ids = {r.headers["PAYPAL-TRANSMISSION-ID"] for r in receiver.received}
    assert bodies == {em.serialize(event)}
    assert len(transmission_ids) == 3
    assert [d.event_id for d in em.deliveries] == [event["id"]] * 3
    assert [d.status for d in em.deliveries] == [500, 503, 200]
    for got in receiver.received:
        assert await verifier.check(got.headers, got.body) == "ok"


async def test_deliver_gives_up_after_the_retry_budget_and_reports_unreachable_as_zero(
    em: PayPalEmulator, receiver: Receiver
) -> None:
    receiver.script.extend([500, 500, 500])
    assert await em.deliver(receiver.url, em.build_event("X.Y", {}), retries=1, backoff=0.0) == [500, 500]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    statuses = await em.deliver(f"http://127.0.0.1:{closed_port}/webhooks/paypal", b"{}", retries=1, backoff=0.0)
    assert statuses == [0, 0]
    assert em.deliveries[-1].error is not None


async def test_deliver_many_sends_each_event_duplicates_times_within_the_concurrency_limit(
    em: PayPalEmulator, receiver: Receiver
) -> None:
    events = [em.build_event("PAYMENT.CAPTURE.COMPLETED", {"id": f"C{i}"}) for i in range(4)]
    receiver.delay = 0.02
    results = await em.deliver_many(receiver.url, events, concurrency=3, duplicates=3, shuffle=True, seed=7)
    assert results == [[200]] * 12
    assert receiver.max_in_flight <= 3
    event_ids = [json.loads(r.body)["id"] for r in receiver.received]
    assert sorted(event_ids) == sorted([e["id"] for e in events] * 3)
    assert event_ids != [e["id"] for e in events for _ in range(3)]  # shuffled
    assert len({r.headers["PAYPAL-TRANSMISSION-ID"] for r in receiver.received}) == 12


async def test_deliver_sends_raw_bytes_verbatim(em: PayPalEmulator, receiver: Receiver) -> None:
    body = b'{"id":"WH-RAW",  "event_version":"1.0", "resource":{}}'
    await em.deliver(receiver.url, body)
    got = receiver.received[-1]
    assert got.body == body
    assert em.deliveries[-1].event_id == "WH-RAW"
    assert em.transmissions[got.headers["PAYPAL-TRANSMISSION-ID"]].body == body


# --- the forged replay PayPal's signature scheme allows ------------------------------------------


async def test_a_forged_replay_keeps_the_genuine_crc32_so_the_genuine_headers_verify_it(
    client: PayPalClient, em: PayPalEmulator, receiver: Receiver, verifier: OfflineVerifier
) -> None:
    _, capture = await paid(client, "25.00")
    genuine_event = em.event_capture_completed(capture["id"])
    assert await em.deliver(receiver.url, genuine_event) == [200]
    [delivery] = em.deliveries
    forged_event = json.loads(delivery.body)
    forged_event["resource"]["amount"]["value"] = "10000.00"
    forged_event["resource"]["supplementary_data"]["related_ids"]["order_id"] = "SOMEONEELSESORDER"

    body, headers = em.forged_replay(delivery, forged_event)

    assert body != delivery.body and zlib.crc32(body) == zlib.crc32(delivery.body)
    assert headers == delivery.headers
    parsed = json.loads(body)  # still PayPal-shaped JSON: only the summary's last characters were chosen
    assert parsed["resource"]["amount"]["value"] == "10000.00"
    assert parsed["summary"].startswith(genuine_event["summary"] + " ")
    assert await verifier.check(headers, body) == "ok"
    # The same works from a transmission PayPal signed but never delivered.
    signed = em.transmissions[em.sign(delivery.body)["PAYPAL-TRANSMISSION-ID"]]
    body2, headers2 = em.forged_replay(signed, forged_event)
    assert await verifier.check(headers2, body2) == "ok"


async def test_an_order_awaiting_the_buyer_has_no_capture_or_refund_at_paypal(client: PayPalClient) -> None:
    _, order = await client.create_order("10000.00", custom_id="org-1", invoice_id="INV-UNPAID")
    status, fetched = await client.call("GET", f"/v2/checkout/orders/{order['id']}")
    assert (status, fetched["status"]) == (200, "PAYER_ACTION_REQUIRED")
    for path in (f"/v2/payments/captures/{order['id']}", f"/v2/payments/refunds/{order['id']}"):
        status, missing = await client.call("GET", path)
        assert (status, missing["name"], missing["details"][0]["issue"]) == (
            404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"
        )  # fmt: skip
