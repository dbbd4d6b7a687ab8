"""A TLS-terminating reverse proxy for tests, as a deployment puts in front of browserfn: it
listens on 127.0.0.1 with a self-signed certificate (made here, for 127.0.0.1 or the name given)
and forwards each connection's bytes to a plain port on 127.0.0.1 (the server's HTTP port).
Clients trust it with SSL_CERT_FILE=cert. `Forwarder` is the same without TLS."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from pathlib import Path
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for `host` (an IP address or a DNS name) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        subject: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = x509.DNSName(host)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([subject]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Forwarder:
    """Forwards each connection it accepts (on `listen`) to 127.0.0.1:target_port, and counts them."""

    def __init__(self, listen: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self._listener = socket.create_server(listen)
        self.port: int = self._listener.getsockname()[1]
        self.target_port = 0
        self.connections = 0
        self._closing = False

    def start(self, target_port: int) -> Self:
        self.target_port = target_port
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _opened(self, client: socket.socket) -> socket.socket:
        return client

    def _serve(self, client: socket.socket) -> None:
        try:
            opened = self._opened(client)
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        threading.Thread(target=_pipe, args=(upstream, opened), daemon=True).start()
        _pipe(opened, upstream)

    def stop(self) -> None:
        self._closing = True
        self._listener.close()


class TlsProxy(Forwarder):
    def __init__(self, directory: Path, listen: tuple[str, int] = ("127.0.0.1", 0), host: str = "127.0.0.1") -> None:
        self.cert, key = self_signed(directory, host)
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(self.cert, key)
        super().__init__(listen)
        self.url = f"https://{host}:{self.port}"

    def _opened(self, client: socket.socket) -> socket.socket:
        return self._context.wrap_socket(client, server_side=True)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
