"""Bearer-token auth: a private distribution registry configured with `auth: token`, and a token
server in this test that checks Basic credentials and issues RS256 JWTs for the scope asked
(what a registry behind an identity provider does). polc must get a token with pull and push
scope from the docker credentials, and a wrong password must be a clean 401 diagnostic."""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ..conftest import missing_service, run_polc
from .conftest import basic_auth, tree, unique_bundle, write_docker_config

USER, PASSWORD, SERVICE, ISSUER = "bearer-user", "bearer-secret", "polc-test-registry", "polc-test-issuer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signing_material(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "polc test token issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (directory / "root.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert.public_bytes(serialization.Encoding.DER)


class TokenServer:
    def __init__(self, key, cert_der):
        self.key, self.cert_der, self.requests = key, cert_der, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                auth = self.headers.get("Authorization", "")
                server.requests.append({"scope": query.get("scope", [""])[0], "auth": auth.split(" ")[0]})
                if auth != f"Basic {basic_auth(USER, PASSWORD)}":
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": server.token(query.get("scope", []))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def token(self, scopes: list[str]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    binary = shutil.which("docker-registry")
    if binary is None:
        missing_service("docker-registry is not installed", ".ci/services.sh installs it")
    directory = tmp_path_factory.mktemp("token-registry")
    key, cert_der = signing_material(directory)
    tokens = TokenServer(key, cert_der)
    port = free_port()
    (directory / "config.yml").write_text(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {directory / 'data'}
http:
  addr: 127.0.0.1:{port}
auth:
  token:
    realm: {tokens.url}
    service: {SERVICE}
    issuer: {ISSUER}
    rootcertbundle: {directory / 'root.crt'}
""")
    log = open(directory / "registry.log", "wb")
    process = subprocess.Popen([binary, "serve", str(directory / "config.yml")], stdout=log, stderr=log)
    try:
        _wait_until_up(port, process)
        yield {"host": f"127.0.0.1:{port}", "tokens": tokens}
    finally:
        process.terminate()
        process.wait(timeout=30)
        tokens.httpd.shutdown()
        log.close()


def _wait_until_up(port: int, process) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError("the token-auth registry exited at start")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the token-auth registry did not start")


def test_push_and_pull_with_bearer_tokens(token_registry, tmp_path):
    host, tokens = token_registry["host"], token_registry["tokens"]
    env = {"DOCKER_CONFIG": str(write_docker_config(tmp_path / "docker", {host: {"auth": basic_auth(USER, PASSWORD)}}))}
    bundle = unique_bundle(tmp_path / "out")
    ref = f"oci://{host}/team/router:v1"
    result = run_polc("push", str(bundle), ref, "--plain-http", env=env)
    assert result.returncode == 0, result.stderr
    assert "repository:team/router:pull,push" in {r["scope"] for r in tokens.requests}
    del tokens.requests[:]
    result = run_polc("pull", ref, "--plain-http", "--out", str(tmp_path / "pulled"), env=env)
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "pulled" / bundle.name) == tree(bundle)
    assert {r["scope"] for r in tokens.requests} == {"repository:team/router:pull"}
    assert {r["auth"] for r in tokens.requests} == {"Basic"}


def test_a_wrong_password_at_the_token_server_is_a_clean_401(token_registry, tmp_path):
    host = token_registry["host"]
    env = {"DOCKER_CONFIG": str(write_docker_config(tmp_path / "docker", {host: {"auth": basic_auth(USER, "no")}}))}
    result = run_polc("pull", f"oci://{host}/team/router:v1", "--plain-http", "--out", str(tmp_path / "x"), env=env)
    assert result.returncode == 3, result.stderr
    assert "error[POLC902]" in result.stderr and "401" in result.stderr and "Traceback" not in result.stderr
