"""Who may use the harness and what they may make it read.

* **Tokens.** ServiceX's API is ``@auth_required`` (JWT): the client exchanges the refresh
  token from servicex.yaml at ``POST /token/refresh`` for an access token and sends it as
  ``Authorization: Bearer`` (servicex 3.3.1 ``servicex_adapter.py`` ``_get_token``;
  ssl-hep/ServiceX ``resources/users/token_refresh.py`` and ``decorators.py``, 2024-10). The
  harness does the same with one token of its own: the refresh token is the configured
  token, access tokens are HS256 JWTs signed with a key derived from it (the client reads
  their ``exp`` with ``google.auth.jwt.decode(verify=False)`` and refreshes a minute early).
  Without a configured token the harness is open on loopback, and ``/token/refresh`` still
  answers, so a ``servicex.yaml`` with a ``token:`` or an expired ``BEARER_TOKEN_FILE`` works.
* **Host header.** Without a token only ``127.0.0.1``/``localhost``/``[::1]`` are accepted, so
  a web page that rebinds its own DNS name to 127.0.0.1 cannot talk to the harness.
* **Inputs.** Local paths must resolve (symbolic links and ``..`` followed) inside the
  configured data folders; anything outside is refused with the same message whether or not
  it exists. Remote URLs (``root://``, ``https://``...) are off unless allowed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

ACCESS_TOKEN_LIFETIME_S = 12 * 3600
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
TOKEN_FILE = "api-token"
#: URL schemes a transform may fetch with --allow-remote-inputs: what ServiceX's DID finders
#: hand to transformers (XRootD and HTTP/WebDAV replicas), nothing that reads local files.
REMOTE_SCHEMES = frozenset({"root", "roots", "xroot", "xroots", "http", "https", "dav", "davs"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def load_or_create_token(state_dir: Path) -> str:
    """The harness's token kept in ``<state>/api-token`` (mode 600), made on first use."""
    path = state_dir / TOKEN_FILE
    if path.is_file():
        token = path.read_text().strip()
        if token:
            return token
    state_dir.mkdir(parents=True, exist_ok=True)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def resolve_token(*, auth: bool, token_file: Path | None, state_dir: Path) -> str | None:
    """The token a harness requires: from ``token_file``, ``$TOPCP_HARNESS_TOKEN``, or (with
    ``auth``) the one kept in the state folder; None for an open (loopback) harness."""
    if token_file is not None:
        try:
            token = Path(token_file).expanduser().read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        if not token:
            raise ValueError(f"the token file {token_file} is empty")
        return token
    env = os.environ.get("TOPCP_HARNESS_TOKEN", "").strip()
    if env:
        return env
    return load_or_create_token(state_dir) if auth else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenAuthority:
    """Mints and checks access tokens for one harness.

    With ``refresh_token`` None the harness is open: tokens are still minted (with a random
    key) so that clients configured with a token work, but none is required.
    """

    def __init__(self, refresh_token: str | None) -> None:
        self.refresh_token = refresh_token
        seed = (refresh_token or secrets.token_hex(32)).encode()
        self._key = hmac.new(seed, b"topcp-harness access token", hashlib.sha256).digest()

    @property
    def required(self) -> bool:
        return self.refresh_token is not None

    def mint(self, subject: str = "harness-user") -> str:
        now = int(time.time())
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps({"sub": subject, "iat": now,
                                   "exp": now + ACCESS_TOKEN_LIFETIME_S,
                                   "type": "access"}).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def _valid_jwt(self, token: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3:
            return False
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(parts[2]), expected):
                return False
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, TypeError):
            return False
        return isinstance(claims, dict) and float(claims.get("exp", 0)) > time.time()

    def is_refresh_token(self, token: str | None) -> bool:
        if self.refresh_token is None:
            return True  # open harness: any refresh token (or none) is accepted
        return token is not None and hmac.compare_digest(token.encode(),
                                                         self.refresh_token.encode())

    def allows(self, token: str | None) -> bool:
        """Whether an API call with this bearer token may proceed."""
        if not self.required:
            return True
        if token is None:
            return False
        return self._valid_jwt(token) or self.is_refresh_token(token)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def host_allowed(host_header: str | None, bind_host: str, token_required: bool) -> bool:
    """The DNS-rebinding check: only the names this harness is reached by on loopback.

    With a token required, the token protects the API and any name is accepted (a remote
    client reaches the harness by the machine's own name).
    """
    if token_required:
        return True
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS or host == bind_host.lower()


class InputRefused(ValueError):
    """A submitted input the harness will not read; the message is for the user."""


class InputPolicy:
    """Which submitted inputs a transform may read."""

    def __init__(self, data_dirs: tuple[Path, ...], allow_remote: bool) -> None:
        self.data_dirs = data_dirs
        self.allow_remote = allow_remote

    def describe(self) -> str:
        return ", ".join(str(d) for d in self.data_dirs) or "(none)"

    def check(self, name: str) -> str:
        """What the transform gets for the file-list entry ``name`` (a real path or a URL)."""
        if "\0" in name or "\n" in name or "\r" in name:
            raise InputRefused(f"{name!r}: control characters in a file name")
        if "://" in name and not name.startswith("file://"):
            scheme = name.split("://", 1)[0]
            if not self.allow_remote:
                raise InputRefused(
                    f"{name}: remote inputs ({scheme}://) are off on this harness; start it "
                    "with --allow-remote-inputs to let transforms fetch URLs")
            if scheme not in REMOTE_SCHEMES:
                # fsspec (the emulator's uproot) reads local files through "local://",
                # "simplecache::file://" and the like: only network protocols pass here
                raise InputRefused(
                    f"{name}: {scheme}:// is not a remote protocol this harness passes on; "
                    f"use {', '.join(s + '://' for s in sorted(REMOTE_SCHEMES))}, or a local "
                    "path in the data folders")
            return name
        path = Path(name[len("file://"):] if name.startswith("file://") else name)
        if not path.is_absolute():
            raise InputRefused(f"{name}: relative path; the harness does not share your "
                               "working directory, give an absolute path")
        real = Path(os.path.realpath(path))
        if not any(real == d or real.is_relative_to(d) for d in self.data_dirs):
            raise InputRefused(
                f"{name}: outside the harness's data folders ({self.describe()}); start it "
                "with --data-dir <folder> to allow another one")
        if not real.is_file():
            raise InputRefused(f"{name}: no such file on the harness's machine")
        return str(real)
