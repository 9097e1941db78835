"""The emulator's own PKI: a throwaway CA and a PayPal-like webhook signing certificate.

The bot verifies webhooks offline against a certificate it downloads from ``PAYPAL-CERT-URL`` and
a trust anchor it is configured with; giving it this CA (``ca_pem``) lets the real verification code
run unchanged. Keys are generated per emulator and live only in memory.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bot.emulators.paypal import ids

PAYPAL_CERT_CN = "messageverificationcerts.paypal.com"
AUTH_ALGO = "SHA256withRSA"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PayPal Emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Authority:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class SigningCert:
    """One signing key and its certificate, served at ``/v1/notifications/certs/{cert_id}``."""

    cert_id: str
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain_pem: bytes

    def sign(self, message: bytes) -> str:
        """RSA PKCS#1 v1.5 over SHA-256, base64, as in ``PAYPAL-TRANSMISSION-SIG``."""
        signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")


def new_authority(now: datetime) -> Authority:
    key = _key()
    name = _name("PayPal Emulator Root CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate)


def new_signing_cert(
    authority: Authority,
    now: datetime,
    *,
    common_name: str = PAYPAL_CERT_CN,
    not_after: datetime | None = None,
) -> SigningCert:
    """A leaf issued by ``authority``, valid from a day ago until ``not_after`` (default: a year)."""
    key = _key()
    expires = not_after or now + timedelta(days=365)
    starts = min(now - timedelta(days=1), expires - timedelta(days=1))
    issuer_ski = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(starts)
        .not_valid_after(expires)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False)
        .sign(authority.key, hashes.SHA256())
    )
    chain = certificate.public_bytes(serialization.Encoding.PEM) + authority.pem
    return SigningCert(ids.cert_id(), key, certificate, chain)


def utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
