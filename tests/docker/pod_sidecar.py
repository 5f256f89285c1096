#!/usr/bin/env python3
"""A stand-in for the ServiceX transformer sidecar, for tests/docker/test_pod_conditions.py.

It runs (standard library only) in its own container next to the science container, as the
real sidecar does in a transformer pod, and reproduces what that sidecar does to the science
container, from ssl-hep/ServiceX ``transformer_sidecar`` (2024-10 = f42d1a5, ServiceX v1.5.3;
2025-26 file versions where named; docs/deploy-servicex.md lists the sources):

* it runs as uid 1001 gid 0 (``useradd -g 0 -ms /bin/bash celery`` + ``USER celery``,
  transformer_sidecar/Dockerfile b7b408a 2024-09-11, ServiceX >= v1.5.0) with the default
  umask 022, and creates ``<shared>/scripts``, then per file ``<shared>/<req>`` and
  ``<shared>/<req>/scratch`` with ``os.makedirs`` (mode 0755) (transformer.py ``init`` and
  ``transform_file``, 2024-10 lines 147-152, 351-357; the same in @00e5ebd);
* it copies ``watch.sh`` into ``scripts/`` and waits for the science container to copy
  ``transformer_capabilities.json`` into the shared folder (``read_capabilities_file``);
* it listens on localhost:8081 and talks watch.sh's protocol (``science_container_command.py``,
  2024-10 and @1edc977): wait for ``GeT``, send one JSON line, read ``success.``/``failure.``,
  answer ``confirmed.``; ``stop.`` at the end;
* the output name is ``hash_path(path.replace("/", ":") + ext)`` in ``<req>/scratch``;
* after each file it parses ``<req>/abc.log`` with the stats parser the capabilities name,
  looked up as ``globals()[name]`` (``fill_stats_parser``), for both sidecar generations:
  2024-10 (AODStats, UprootStats, RawUprootStats: no TopCPStats) and 2025+ (+ TopCPStats).
  ``total_bytes`` is the parser's ``file_size`` in 2024-10 and ``os.path.getsize`` of the
  output in 2025+ (@00e5ebd). A failed file logs ``Hard Failure: <error_info>``.

The parsers and ``hash_path`` are upstream's code, transcribed in tests/upstream_sidecar.py
(mounted beside this file). The results of each file go to ``<results>/<n>.json``.

Usage: ``pod_sidecar.py <shared dir> <request id> <results dir> <jobs.json>``, where jobs.json
is a list of ``{"path": <replica path>, "result-format": ...}``.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from pathlib import Path

from upstream_sidecar import SIDECAR_PARSERS, hash_path  # beside this file in /pod

# -- scripts/watch.sh (2024-09-16 056e753; the loop the science container runs) --------------
# Transcribed to what matters for the science image: nc to the sidecar, jq on the request,
# the command with its output tee'd to <req>/abc.log, and the status from PIPESTATUS[0].
WATCH_SH = r"""#!/usr/bin/env bash
lang=$1
cmd=$2
path=$3
coproc nc { nc localhost 8081; }
while [[ $nc_PID ]] ; do
    printf >&${nc[1]} '%s\n' "GeT"
    read -r -u${nc[0]} line
    if [[ -z "$line" ]]; then
      echo "received an empty line"
      break
    elif [ "$line" = "stop." ]; then
        kill "$nc_PID"
        break
    fi
    download_path=$(echo $line | jq -r '.downloadPath')
    output_file=$(echo $line | jq -r '.safeOutputFileName')
    output_format=$(echo $line | jq -r '."result-format"')
    echo "Attempting $download_path -> $output_file with $output_format format"
    $lang "$cmd" "$download_path" "$output_file" "$output_format" 2>&1 | tee $path/abc.log
    if [ "${PIPESTATUS[0]}" == 0 ]; then
      printf >&${nc[1]} '%s\n' "success."
    else
      printf >&${nc[1]} '%s\n' "failure."
    fi
    read -r -u${nc[0]} line
done
"""


def describe(path: Path) -> dict:
    st = os.lstat(path)
    return {"mode": oct(stat.S_IMODE(st.st_mode)), "uid": st.st_uid, "gid": st.st_gid}


def read_line(conn: socket.socket, buf: bytearray, deadline: float) -> str:
    while b"\n" not in buf:
        conn.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = conn.recv(4096)
        if not chunk:
            raise RuntimeError("the science container closed the connection")
        buf.extend(chunk)
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return line.decode("utf8").strip()


def main(shared: str, request_id: str, results: str, jobs_file: str) -> int:
    os.umask(0o022)  # the container default; stated so the test does not depend on it
    shared_dir, results_dir = Path(shared), Path(results)
    jobs = json.loads(Path(jobs_file).read_text())
    serv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    serv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    serv.bind(("localhost", 8081))
    serv.listen()
    # init(): scripts/ with watch.sh (the test starts the science container once it is there)
    os.makedirs(shared_dir, exist_ok=True)
    os.makedirs(shared_dir / "scripts", exist_ok=True)
    (shared_dir / "scripts" / "watch.sh.tmp").write_text(WATCH_SH)
    os.replace(shared_dir / "scripts" / "watch.sh.tmp", shared_dir / "scripts" / "watch.sh")
    capabilities_path = shared_dir / "transformer_capabilities.json"
    deadline = time.monotonic() + 120
    while not capabilities_path.is_file():
        if time.monotonic() > deadline:
            raise RuntimeError("the science container never copied transformer_capabilities.json")
        time.sleep(0.2)
    time.sleep(0.2)  # cp may still be writing it
    capabilities = json.loads(capabilities_path.read_text())
    serv.settimeout(120)
    conn, _ = serv.accept()
    buf = bytearray()
    for n, job in enumerate(jobs):
        request_path = shared_dir / request_id
        os.makedirs(request_path, exist_ok=True)
        scratch_path = request_path / "scratch"
        os.makedirs(scratch_path, exist_ok=True)
        fmt = job.get("result-format", "root-file")
        ext = ".parquet" if fmt == "parquet" else ""
        output = scratch_path / hash_path(job["path"].replace("/", ":") + ext)
        request = {
            "request-id": request_id, "file-id": n + 1, "paths": job["path"],
            "result-destination": "object-store", "result-format": fmt,
            "downloadPath": job["path"], "file-path": job["path"],
            "safeOutputFileName": str(output),
        }
        limit = time.monotonic() + float(job.get("timeout", 300))
        got = read_line(conn, buf, limit)
        if not got.startswith("GeT"):
            raise RuntimeError(f"expected GeT, got {got!r}")
        conn.sendall((json.dumps(request) + "\n").encode())
        response = read_line(conn, buf, limit)
        log_path = request_path / "abc.log"
        record = {
            "job": job, "response": response, "capabilities": capabilities,
            "output_name": output.name, "output_exists": output.is_file(),
            "output_size": output.stat().st_size if output.is_file() else None,
            "request_dir": describe(request_path), "scratch_dir": describe(scratch_path),
            "scratch_listing": sorted(os.listdir(scratch_path)),
            "request_listing": sorted(os.listdir(request_path)),
            "log": log_path.read_text(errors="replace") if log_path.exists() else None,
            "sidecars": {},
        }
        if output.is_file():
            record["output"] = describe(output)
        for generation, parsers in SIDECAR_PARSERS.items():
            parser = parsers.get(capabilities["stats-parser"])
            if parser is None:  # globals()[name] raises KeyError: the file is marked failed
                record["sidecars"][generation] = {"parser": None, "status": "failure"}
                continue
            stats = parser(log_path)
            ok = response == "success."
            size = (output.stat().st_size if ok and generation != "2024-10" else stats.file_size)
            record["sidecars"][generation] = {
                "parser": capabilities["stats-parser"], "status": "success" if ok else "failure",
                "total_events": stats.total_events if ok else 0,
                "total_bytes": size if ok else 0,
                "error_info": stats.error_info,
                "hard_failure": None if ok else f"Hard Failure: {stats.error_info}",
            }
        record["all_parsers"] = {
            name: {"total_events": p(log_path).total_events, "error_info": p(log_path).error_info}
            for name, p in SIDECAR_PARSERS["2025"].items()
        }
        tmp = results_dir / f".{n}.json"
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, results_dir / f"{n}.json")
        conn.sendall(b"confirmed.\n")
    got = read_line(conn, buf, time.monotonic() + 60)  # watch.sh asks for the next file
    conn.sendall(b"stop.\n")
    conn.close()
    serv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
