"""Writes a stand-in ``voms-proxy-init`` for tests (no VOMS server exists here).

The stub checks its argv like the real client would parse it, reads the passphrase from stdin,
decrypts the user key with it, logs what it received (JSON lines in $STUB_LOG) and writes a
proxy signed by the user key to --out. $STUB_FAIL makes it fail the way v2 does when the VO is
unknown; $STUB_BAD_VERSION makes ``--version`` fail; $STUB_HANG_FROM_CALL=N makes the N-th and
later calls hang (the service's --voms-timeout ends them).
"""

from __future__ import annotations

import sys
from pathlib import Path

STUB = r"""
import datetime as dt, json, os, sys
args = sys.argv[1:]
if args == ["--version"]:
    if os.environ.get("STUB_BAD_VERSION"):
        print("segmentation fault", file=sys.stderr); sys.exit(139)
    print("voms-proxy-init"); print("Version: 2.1.1-stub"); sys.exit(0)
known_flags = {"--pwstdin"}
known_values = {"--cert", "--key", "--out", "--valid", "--bits", "--voms"}
opts, flags, i = {}, set(), 0
while i < len(args):
    a = args[i]
    if a in known_flags:
        flags.add(a); i += 1
    elif a in known_values and i + 1 < len(args):
        opts[a] = args[i + 1]; i += 2
    else:
        print(f"voms-proxy-init: unrecognized option '{a}'", file=sys.stderr); sys.exit(1)
stdin = sys.stdin.read() if "--pwstdin" in flags else ""
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps({"argv": args, "stdin": stdin}) + "\n")
if os.environ.get("STUB_HANG_FROM_CALL"):  # a VOMS server that stops answering
    with open(os.environ["STUB_LOG"]) as log:
        if sum(1 for _ in log) >= int(os.environ["STUB_HANG_FROM_CALL"]):
            import time; time.sleep(600)
for need in ("--cert", "--key", "--out", "--valid"):
    if need not in opts:
        print(f"stub: missing {need}", file=sys.stderr); sys.exit(1)
if os.environ.get("STUB_FAIL"):
    print("Your identity: /DC=org/DC=example/CN=Jane Doe")
    print(os.environ["STUB_FAIL"], file=sys.stderr); sys.exit(1)
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from topcp_x509_proxy.credentials import UserCredentials
from topcp_x509_proxy.rfc3820 import make_proxy
password = stdin.rstrip("\n").encode() or None
try:
    key = serialization.load_pem_private_key(open(opts["--key"], "rb").read(), password)
except (TypeError, ValueError):
    print("bad decrypt\npkcs12 cipherfinal errormaybe wrong password", file=sys.stderr); sys.exit(3)
chain = x509.load_pem_x509_certificates(open(opts["--cert"], "rb").read())
h, m = opts["--valid"].split(":")
seconds = int(os.environ.get("STUB_LIFETIME_SECONDS") or (int(h) * 3600 + int(m) * 60))
data = make_proxy(UserCredentials(chain=chain, key=key, key_was_encrypted=True), dt.timedelta(seconds=seconds),
                  key_bits=int(opts.get("--bits", "2048")))
fd = os.open(opts["--out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, data); os.close(fd)
print("Creating proxy .................... Done")
"""


def install_stub(bin_dir: Path) -> Path:
    """Create ``bin_dir/voms-proxy-init`` run by this interpreter; return its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "voms-proxy-init"
    path.write_text(f"#!{sys.executable}\n{STUB}")
    path.chmod(0o755)
    return path
