"""The ServiceX transformer sidecar's own code for naming outputs and reading ``abc.log``.

Transcribed from ssl-hep/ServiceX ``transformer_sidecar`` (BSD-3-Clause, Copyright (c)
2022-2025 IRIS-HEP): the regular expressions and conditions are upstream's, character for
character, because tests must read our science log the way the real sidecar does, never the
way we think it does. Standard library only: tests/docker/pod_sidecar.py runs it inside a
container. Sources (commit, date, ServiceX release):

* ``transformer.py`` f42d1a5 (2024-10, v1.5.3): ``MAX_PATH_LEN``, ``hash_path``,
  ``fill_stats_parser`` (``globals()[name]``) and the parser imports (AODStats, UprootStats,
  RawUprootStats); 2025+ versions add TopCPStats and take ``total_bytes`` from
  ``os.path.getsize`` instead of the parser (@00e5ebd).
* ``transformer_stats/__init__.py`` 0c59740 (2024-06-02), ``raw_uproot_stats.py`` fe78da9
  (2024-09-20, v1.5.1+), ``topcp_stats.py`` @76e6385 (2025).
"""

from __future__ import annotations

import re
from hashlib import sha1
from pathlib import Path

# -- transformer.py (2024-10 f42d1a5, lines 75 and 444-462) ---------------------------------
MAX_PATH_LEN = 255


def hash_path(file_name: str) -> str:
    """Upstream: names over 255 characters become ``_<sha1>`` + the tail, exactly 255."""
    if len(file_name) > MAX_PATH_LEN:
        hashed_value = sha1(file_name.encode("utf-8")).hexdigest()
        return "".join(["_", hashed_value, file_name[-1 * (MAX_PATH_LEN - len(hashed_value) - 1):]])
    return file_name


# -- transformer_stats/__init__.py (2024-10; 0c59740 2024-06-02) ----------------------------
class TransformerStats:
    def __init__(self, log_path: Path):
        if log_path.exists():
            with open(log_path, encoding="utf8", errors="ignore") as log:
                self.log_body = log.read()
        else:
            print("File does not exist:", log_path)
            self.log_body = ""
        self.total_events = 0
        self.file_size = 0
        self.error_info = "Unable to determine error cause. Please consult log files"


# -- transformer_stats/raw_uproot_stats.py (fe78da9 2024-09-20, ServiceX >= v1.5.1; the same
#    Transform-stats regex in v1.5.0, whose error regexes were r".*Error.*" / r".*Exception.*")
class RawUprootStats(TransformerStats):
    def __init__(self, log_path: Path):
        super().__init__(log_path)
        matches = re.findall(
            r"Transform stats: Total Events: (\d+), resulting file size (\d+)", self.log_body)
        if len(matches) == 1:
            self.total_events, self.file_size = tuple(map(int, matches[0]))
        matches = re.findall(r"^\S*Error.*", self.log_body, re.MULTILINE)
        if matches:
            self.error_info = f"{matches[0]}"
        matches = re.findall(r"^\S*Exception.*", self.log_body, re.MULTILINE)
        if matches:
            self.error_info = f"{matches[0]}"


# -- transformer_stats/topcp_stats.py (@76e6385, 2025; not in any 2024 sidecar) ---------------
class TopCPStats(TransformerStats):
    def __init__(self, log_path: Path):
        super().__init__(log_path)
        matches = re.findall(
            r"Package.EventLoop        INFO    Processing events 0-(\d+) in file", self.log_body)
        if len(matches) == 1:
            self.total_events = int(matches[0])
        matches = re.findall(r"^.*ERROR.*", self.log_body, re.MULTILINE)
        if matches:
            self.error_info = matches[0]
        else:
            matches = re.findall(r"^.*Error: .*", self.log_body, re.MULTILINE)
            if matches:
                self.error_info = matches[0]


# What ``globals()[capabilities["stats-parser"]]`` finds in each sidecar generation (the
# imports at the top of transformer.py; AODStats and UprootStats are there too, for xAOD and
# func_adl-uproot logs, and left out here).
SIDECAR_PARSERS = {
    "2024-10": {"RawUprootStats": RawUprootStats},
    "2025": {"RawUprootStats": RawUprootStats, "TopCPStats": TopCPStats},
}
