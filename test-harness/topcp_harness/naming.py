"""Object names for transform outputs, as the ServiceX sidecar makes them.

The client downloads whatever object names the results endpoint lists, but users compare local
file names with those a real ServiceX produces, so we follow the sidecar's rule exactly: the
input path with ``/`` replaced by ``:``, ``.parquet`` added for parquet only (ROOT output has no
suffix), and names longer than 255 characters shortened to ``_<sha1>`` plus the tail.
"""

from __future__ import annotations

from hashlib import sha1

MAX_OBJECT_NAME = 255


def object_name(input_path: str, result_format: str) -> str:
    """The S3 object name ServiceX gives the output of ``input_path``."""
    name = input_path.replace("/", ":")
    if result_format == "parquet":
        name += ".parquet"
    if len(name) > MAX_OBJECT_NAME:
        digest = sha1(name.encode("utf-8")).hexdigest()
        name = "_" + digest + name[-(MAX_OBJECT_NAME - len(digest) - 1):]
    return name
