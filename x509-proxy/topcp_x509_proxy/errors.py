"""Errors with stable exit codes.

Why: the sidecar runs unattended in a container; an operator (or a restart policy, or a
script using ``--once``) must tell a typo in a path from a wrong passphrase or a VOMS outage
by the exit code alone, and the message must say what to do next.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in docs/x509-proxy.md (keep both in step)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    MISSING_FILE = 3
    INSECURE_KEY = 4
    WRONG_PASSPHRASE = 5
    EXPIRED = 6
    KEY_MISMATCH = 7
    BAD_INPUT = 8
    VOMS_NOT_FOUND = 9
    VOMS_FAILED = 10
    OUTPUT_ERROR = 11
    HEALTH_PORT = 12


class ProxyError(Exception):
    """A failure the user can act on; ``str()`` is the full, human-readable message."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(ProxyError):
    exit_code = ExitCode.USAGE


class MissingFileError(ProxyError):
    exit_code = ExitCode.MISSING_FILE


class InsecureKeyError(ProxyError):
    exit_code = ExitCode.INSECURE_KEY


class WrongPassphraseError(ProxyError):
    exit_code = ExitCode.WRONG_PASSPHRASE


class ExpiredError(ProxyError):
    exit_code = ExitCode.EXPIRED


class KeyMismatchError(ProxyError):
    exit_code = ExitCode.KEY_MISMATCH


class BadInputError(ProxyError):
    exit_code = ExitCode.BAD_INPUT


class VomsNotFoundError(ProxyError):
    exit_code = ExitCode.VOMS_NOT_FOUND


class VomsFailedError(ProxyError):
    exit_code = ExitCode.VOMS_FAILED


class OutputError(ProxyError):
    exit_code = ExitCode.OUTPUT_ERROR


class HealthPortError(ProxyError):
    exit_code = ExitCode.HEALTH_PORT
