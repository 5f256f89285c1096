"""The renewal loop: produce, validate, publish atomically, report, sleep until due.

Why: renewal must happen before expiry *and* on a fixed interval (as upstream's 6 h), a failed
renewal must keep the last good proxy while it is valid, and an expired proxy must disappear
rather than be served. A stop event lets SIGTERM end the loop at once and cleanly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import time
from types import FrameType

from .durations import format_duration
from .errors import ExitCode, OutputError, ProxyError
from .health import HealthServer
from .producers import Producer
from .proxyfile import ProxyInfo, inspect_proxy
from .publish import atomic_write
from .settings import Settings
from .status import ServiceState, write_status_file

log = logging.getLogger(__name__)


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


class Service:
    """One sidecar instance; ``run()`` returns the process exit code."""

    def __init__(self, settings: Settings, producer: Producer) -> None:
        self.s = settings
        self.producer = producer
        self.state = ServiceState(mode=settings.mode, out=settings.out)
        self.stop = threading.Event()
        self.next_due = 0.0
        self._status_warned = False
        #: Publishing and withdrawing exclude each other: the expiry guard (a timer thread)
        #: must never remove a proxy that an attempt has just published.
        self._publish_lock = threading.Lock()
        #: The proxy withdrawn on expiry while renewals keep failing (health says "expired").
        self._expired: ProxyInfo | None = None

    # -- one renewal -------------------------------------------------------------------
    def attempt(self) -> ProxyInfo:
        """Make/copy one proxy and publish it, or raise (keeping what is published)."""
        now = time.time()
        try:
            data = self.producer.produce()
            info = inspect_proxy(data, what=self.producer.describe(), now=_utc(now))
            with self._publish_lock:
                atomic_write(self.s.out, data, mode=0o600)
                self.state.record_success(info, _utc(now))
                self._expired = None
        except Exception as exc:
            error = (
                exc
                if isinstance(exc, ProxyError)
                else ProxyError(
                    f"unexpected error ({type(exc).__name__}: {exc}); please report this bug"
                )
            )
            if not isinstance(exc, ProxyError):
                log.debug("unexpected error during renewal", exc_info=True)
            self.state.record_error(error, _utc(now))
            self.next_due = now + self.s.retry_interval
            self.state.set_next(_utc(self.next_due))
            self.write_status()
            raise error from (None if error is exc else exc)
        left = info.seconds_left(_utc(now))
        log.info(
            "published %s proxy %s -> %s, valid until %s UTC (%s left)",
            self.s.mode,
            info.subject,
            self.s.out,
            info.not_after.strftime("%Y-%m-%d %H:%M:%S"),
            format_duration(left),
        )
        if left < self.s.renew_threshold:
            hint = (
                "renew the source proxy on the host"
                if self.s.mode == "passthrough"
                else "the user certificate expires soon or --lifetime is short"
            )
            log.warning(
                "proxy lifetime low: only %s left (threshold %s); %s",
                format_duration(left),
                format_duration(self.s.renew_threshold),
                hint,
            )
        due = min(now + self.s.interval, info.not_after.timestamp() - self.s.renew_threshold)
        if due <= now:  # renewing now cannot give more time; do not spin
            due = now + self.s.retry_interval
        self.next_due = due
        self.state.set_next(None if self.s.once else _utc(due))
        self.write_status()
        return info

    def write_status(self) -> None:
        if self.s.status_file is None:
            return
        try:
            write_status_file(self.s.status_file, self.state.snapshot())
        except OutputError as exc:
            if not self._status_warned:
                log.warning("status file not written: %s", exc)
                self._status_warned = True

    def _withdraw_expired(self, now: float) -> bool:
        """The proxy expired: remove it rather than serve it; say whether that happened."""
        with self._publish_lock:
            info = self.state.info
            if info is None or info.not_after.timestamp() > now:
                return False
            # Status first, then the file: a reader who finds the proxy gone must already find
            # the reason in the status file (the other order left a window with a stale status).
            self._expired = info
            self._record_withdrawal(info, now)
            with contextlib.suppress(FileNotFoundError):
                self.s.out.unlink()
        log.error("%s", self.state.last_error)
        return True

    def _expiry_guard(self) -> threading.Timer | None:
        """A timer that withdraws the published proxy at its expiry even while an attempt
        blocks (voms-proxy-init may take up to --voms-timeout); cancel it afterwards."""
        info = self.state.info
        if info is None:
            return None
        delay = max(0.0, info.not_after.timestamp() - time.time())
        timer = threading.Timer(delay, lambda: self._withdraw_expired(time.time()))
        timer.daemon = True
        timer.start()
        return timer

    def _record_withdrawal(self, info: ProxyInfo, now: float) -> None:
        """Status and health say the proxy expired, with the latest renewal error."""
        reason = (
            f"the proxy expired at {info.not_after:%Y-%m-%d %H:%M:%S} UTC and could not be renewed"
            f" (last error: {self.state.last_error or 'none'}); removed {self.s.out}"
        )
        self.state.withdraw(reason, int(ExitCode.EXPIRED), _utc(now))
        self.write_status()

    # -- the loop ------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stop.set()

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        server: HealthServer | None = None
        try:
            if not self.s.once and self.s.health_port:
                server = HealthServer(self.state, self.s.health_host, self.s.health_port)
                server.start()
                self.state.health_url = server.url
                log.info("health endpoint on %s/healthz and %s/status", server.url, server.url)
            try:
                self.attempt()
            except ProxyError as exc:
                log.error("%s", exc.message)
                return int(exc.exit_code)
            if self.s.once:
                return 0
            self._loop()
            return 0
        except ProxyError as exc:
            log.error("%s", exc.message)
            return int(exc.exit_code)
        finally:
            self.state.stopping = True
            if server is not None:
                server.close()
            if not self.s.once:
                self.write_status()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _loop(self) -> None:
        passthrough = self.s.mode == "passthrough"
        while not self.stop.is_set():
            now = time.time()
            wake = self.next_due
            info = self.state.info
            if info is not None:
                wake = min(wake, info.not_after.timestamp())
            wake = min(wake, now + self.s.poll_interval)  # also notice a deleted --out
            if self.stop.wait(max(0.0, wake - now)):
                break
            now = time.time()
            # First: an expired proxy leaves the shared path before a renewal is tried.
            withdrawn = self._withdraw_expired(now)
            changed = passthrough and self.producer.source_changed()
            removed = self.state.info is not None and not self.s.out.exists()
            if now >= self.next_due or changed or removed or withdrawn:
                if changed:
                    log.info("%s changed; republishing", self.producer.describe())
                elif removed:
                    log.warning("%s was removed by someone else; publishing again", self.s.out)
                guard = self._expiry_guard()
                try:
                    self.attempt()
                except ProxyError as exc:
                    log.error(
                        "renewal failed (retrying in %s): %s",
                        format_duration(self.s.retry_interval),
                        exc.message,
                    )
                    expired = self._expired
                    if expired is not None:  # health keeps saying why nothing is published
                        with self._publish_lock:
                            self._record_withdrawal(expired, time.time())
                finally:
                    if guard is not None:
                        guard.cancel()
