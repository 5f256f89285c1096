"""Run servicex-local's own pipeline on our images: its SXLocalAdaptor, its DockerScienceImage.

Executed by the interpreter of servicex-local's OWN virtualenv (it pins an old Flask and must
never enter the project's), by test_servicex_local_interop.py:

    <sxlocal-venv>/bin/python sxlocal_driver.py --codegen-url URL --image IMAGE \
        --reco reco.yaml --input FILE --cache DIR

Prints one JSON line with the delivered paths. The bundle comes from OUR code generator over
the real HTTP protocol (decoded by position, as servicex-local and ServiceX do); servicex-local's
DockerCodegen cannot be used on an engine without a default bridge (it publishes a port).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import requests
from requests_toolbelt.multipart import decoder
from servicex import dataset, query
from servicex_local.adaptor import SXLocalAdaptor
from servicex_local.codegen import SXCodeGen
from servicex_local.deliver import deliver
from servicex_local.science_images import DockerScienceImage


class HttpCodegen(SXCodeGen):
    """A running code generator (our `topcp` service), asked like ServiceX's app asks it."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url.rstrip("/")

    def gen_code(self, query: str, directory: Path, transformer_capabilities_file=None) -> Path:
        reply = requests.post(f"{self.url}/servicex/generated-code", json={"code": query},
                              timeout=60)
        if reply.status_code != 200:
            raise RuntimeError(f"code generator said {reply.status_code}: {reply.text}")
        parts = decoder.MultipartDecoder.from_response(reply).parts
        with zipfile.ZipFile(BytesIO(parts[3].content)) as zf:
            zf.extractall(directory)
        # servicex-local makes this folder with mkdtemp (mode 700); the science image runs as
        # a non-root user, which must be able to read the bundle mounted at /generated.
        directory.chmod(0o755)
        return directory


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--codegen-url", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--reco", required=True)
    p.add_argument("--input", required=True, action="append")
    p.add_argument("--cache", required=True)
    a = p.parse_args()
    # Folders servicex-local creates for the container's output must be writable by the
    # image's non-root user (uid 1000) when this runs as another user (root in CI).
    os.umask(0)
    adaptor = SXLocalAdaptor(HttpCodegen(a.codegen_url), DockerScienceImage(a.image),
                             Path(a.cache), url="http://servicex-local")
    spec = {"Sample": [{"Name": "interop", "Dataset": dataset.FileList(a.input),
                        "Query": query.TopCP(reco=a.reco)}]}
    result = deliver(spec, adaptor=adaptor, display_progress=False)
    print(json.dumps({"files": [str(f) for f in result["interop"]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
