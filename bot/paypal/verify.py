"""Offline verification of PayPal webhook signatures, over the raw bytes exactly as received.

The certificate URL is checked (scheme, host allowlist, path) *before* anything is fetched, so a
forged request cannot make us download an attacker's key. The fetched chain must lead to a trust
anchor, the signing certificate must be current and named `*.paypal.com`, and the signature covers
`transmission_id|transmission_time|webhook_id|crc32(raw body)`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

CERT_PATH_PREFIX = "/v1/notifications/certs/"
SUPPORTED_ALGORITHM = "SHA256withRSA"
REQUIRED_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)
MAX_CERT_BYTES = 64 * 1024


class InvalidWebhook(Exception):
    """The request is not a webhook PayPal signed for us; the reason is for logs, not for callers."""


def load_trust_anchors(ca_file: Path | None) -> list[x509.Certificate]:
    """PAYPAL_CERT_CA when given, else the system trust store (certifi's bundle if installed)."""
    if ca_file is None:
        try:
            import certifi  # noqa: PLC0415 - optional; a dependency of requests

            ca_file = Path(certifi.where())
        except ImportError:
            import ssl  # noqa: PLC0415

            ca_file = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    return x509.load_pem_x509_certificates(ca_file.read_bytes())


def allowed_cert_url(url: str, origins: Sequence[str]) -> bool:
    """Only `<allowed origin>/v1/notifications/certs/<name>`: no credentials, query or fragment."""
    parts = urlsplit(url)
    if parts.username or parts.password or parts.query or parts.fragment:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    name = parts.path[len(CERT_PATH_PREFIX) :]
    return (
        origin in {o.lower().rstrip("/") for o in origins}
        and parts.path.startswith(CERT_PATH_PREFIX)
        and bool(name)
        and "/" not in name
        and ".." not in name
    )


def expected_message(headers: Mapping[str, str], webhook_id: str, body: bytes) -> bytes:
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{headers['paypal-transmission-id']}|{headers['paypal-transmission-time']}|{webhook_id}|{crc}".encode()


@dataclass
class WebhookVerifier:
    """Verifies signatures offline; certificates are cached by URL until they expire."""

    session: aiohttp.ClientSession
    webhook_id: str
    allowed_origins: Sequence[str]
    trust_anchors: Sequence[x509.Certificate]
    clock: Callable[[], float] = time.time
    _cache: dict[str, tuple[x509.Certificate, float]] = field(default_factory=dict)

    async def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise `InvalidWebhook` unless PayPal signed exactly these bytes for our webhook id."""
        lowered = {k.lower(): v for k, v in headers.items()}
        missing = [h for h in REQUIRED_HEADERS if not lowered.get(h)]
        if missing:
            raise InvalidWebhook(f"missing headers {missing}")
        if not all(lowered[h].isascii() for h in REQUIRED_HEADERS):  # PayPal's are; others cannot be signed
            raise InvalidWebhook("non-ASCII bytes in a signed header")
        if lowered["paypal-auth-algo"] != SUPPORTED_ALGORITHM:
            raise InvalidWebhook(f"unsupported algorithm {lowered['paypal-auth-algo']!r}")
        url = lowered["paypal-cert-url"]
        if not allowed_cert_url(url, self.allowed_origins):
            raise InvalidWebhook("certificate URL not on the allowlist")
        leaf = await self._certificate(url)
        try:
            signature = base64.b64decode(lowered["paypal-transmission-sig"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidWebhook("signature is not base64") from exc
        public_key = leaf.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise InvalidWebhook("certificate key is not RSA")
        try:
            public_key.verify(
                signature, expected_message(lowered, self.webhook_id, body), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature as exc:
            raise InvalidWebhook("signature does not match") from exc

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def _certificate(self, url: str) -> x509.Certificate:
        cached = self._cache.get(url)
        if cached and cached[1] > self.clock():
            return cached[0]
        chain = await self._fetch_chain(url)
        leaf = self._validated_leaf(chain)
        self._cache[url] = (leaf, leaf.not_valid_after_utc.timestamp())
        return leaf

    async def _fetch_chain(self, url: str) -> list[x509.Certificate]:
        try:
            async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=10), allow_redirects=False) as resp:
                if resp.status != 200:
                    raise InvalidWebhook(f"certificate fetch answered {resp.status}")
                pem = await resp.content.read(MAX_CERT_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CertificateUnavailable(f"certificate fetch failed: {type(exc).__name__}") from exc
        if len(pem) > MAX_CERT_BYTES:
            raise InvalidWebhook("certificate response too large")
        try:
            return x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise InvalidWebhook("certificate response is not PEM") from exc

    def _validated_leaf(self, chain: list[x509.Certificate]) -> x509.Certificate:
        leaf, intermediates = chain[0], chain[1:]
        now = self._now()
        names = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if not names or not all(isinstance(n, str) and n.lower().endswith(".paypal.com") for n in names):
            raise InvalidWebhook(f"certificate name {names!r} is not *.paypal.com")
        current = leaf
        for _ in range(len(chain) + 1):
            if not current.not_valid_before_utc <= now <= current.not_valid_after_utc:
                raise InvalidWebhook("certificate in the chain is not currently valid")
            anchor = _issuer_among(current, self.trust_anchors)
            if anchor is not None:
                return leaf
            issuer = _issuer_among(current, intermediates)
            if issuer is None or issuer is current:
                break
            current = issuer
        raise InvalidWebhook("certificate does not chain to a trusted anchor")


class CertificateUnavailable(InvalidWebhook):
    """The certificate could not be fetched right now (PayPal will retry the delivery)."""


def _issuer_among(cert: x509.Certificate, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None
