"""ServiceX in a box: the part of the ServiceX REST API that the unmodified servicex client uses.

``topcp_harness.server.serve`` (and ``python -m topcp_harness``) runs the API, the ``topcp``
code generator (embedded, still reached over HTTP), a pool of transform workers, an S3 store
(a SeaweedFS server it starts, or any S3 endpoint) and a SQLite state database, so that
``servicex.deliver()`` works against ``http://127.0.0.1:<port>`` exactly as against a cluster.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
