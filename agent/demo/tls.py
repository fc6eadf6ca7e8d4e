"""A throwaway certificate for the demo's vendor, made at start-up with `cryptography` (a
mitmproxy dependency, so on every install). mitmproxy reaches the vendor with `--ssl-insecure`:
only the demo's own proxy ever connects, so the certificate's names do not matter."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import tempfile
from pathlib import Path


def self_signed_pem() -> tuple[bytes, bytes]:
    """(certificate, private key) in PEM for CN=localhost, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def server_context() -> ssl.SSLContext:
    certificate, key = self_signed_pem()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(["http/1.1"])  # the server speaks HTTP/1.1 only; mitmproxy offers h2
    with tempfile.TemporaryDirectory(prefix="aiaudit-demo-tls-") as tmp:  # load_cert_chain reads files
        cert_path, key_path = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_path.write_bytes(certificate)
        with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(key)
        context.load_cert_chain(cert_path, key_path)
    return context
