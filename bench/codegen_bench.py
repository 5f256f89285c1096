#!/usr/bin/env python3
"""Latency and throughput of the topcp code generator against upstream's non-validating one.

Both run under gunicorn with 2 sync workers on 127.0.0.1 and receive the same servicex 3.3.1
TopCPQuery (``examples/ttbar-ljets/reco.yaml``):

* ``topcp``    : this project (query checks, full config validation, deterministic bundle);
* ``baseline`` : a servicex-code-gen-lib 1.3 app whose translator writes the YAMLs without
  validating them, as upstream's TopCP code generator does. That library pins Flask < 3, so it
  lives in its own virtualenv (``bench/.venvs/codegenlib``, created on first use with pip).

Targets (issue 2): validation adds < 10 ms at p50, throughput >= 0.8 x baseline. Both servers
are measured in the same run, interleaved, so machine noise hits both alike.

    .venv/bin/python bench/codegen_bench.py [--requests 400] [--rounds 7] [--strict]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
BASELINE_VENV = REPO / "bench" / ".venvs" / "codegenlib"
EXAMPLE = REPO / "examples" / "ttbar-ljets" / "reco.yaml"
ROUTE = "/servicex/generated-code"

# The baseline translator: upstream's behaviour (check the query keys, write every YAML
# verbatim plus the transform script into a folder that the library zips), no validation.
BASELINE_WSGI = textwrap.dedent(
    '''
    import hashlib, json, os, shutil
    from servicex_codegen import create_app
    from servicex_codegen.code_generator import (
        CodeGenerator, GenerateCodeException, GeneratedFileResult)

    KEYS = {"reco", "parton", "particle", "max_events", "no_systematics", "no_filter", "image"}
    HERE = os.path.dirname(os.path.abspath(__file__))

    class WriteYamlsTranslator(CodeGenerator):
        def generate_code(self, query, cache_path):
            data = json.loads(query)
            unknown = set(data) - KEYS
            if unknown:
                raise GenerateCodeException(f"{sorted(unknown)} is not implemented")
            if not isinstance(data.get("max_events", -1), int) or data["max_events"] < -1:
                raise GenerateCodeException("max_events must be an int >= -1")
            h = hashlib.md5(query.encode()).hexdigest()
            out = os.path.join(cache_path, h)
            os.makedirs(out)
            for level in ("reco", "parton", "particle"):
                if data.get(level) is not None:
                    with open(os.path.join(out, level + ".yaml"), "w") as f:
                        f.write(data[level])
            for name in ("transform_single_file.py", "transformer_capabilities.json"):
                shutil.copy(os.path.join(HERE, name), out)
            return GeneratedFileResult(h, out, data.get("image"))

    app = create_app(provided_translator=WriteYamlsTranslator())
    '''
)


def ensure_baseline_venv() -> Path:
    python = BASELINE_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {BASELINE_VENV} (servicex-code-gen-lib 1.3 + gunicorn)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "servicex-code-gen-lib==1.3", "gunicorn"],
            check=True,
        )
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn we started; stopped by its PID only."""

    def __init__(self, name: str, cmd: list[str], cwd: Path, env: dict[str, str], port: int):
        self.name, self.url = name, f"http://127.0.0.1:{port}"
        self.log = open(cwd / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, probe: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log.name}")
            try:
                if probe():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout} s")

    def cpu_seconds(self) -> float:
        """user+system CPU of the gunicorn master and its workers (from /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.proc.pid or ppid == self.proc.pid:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def post(url: str, body: dict[str, str]) -> float:
    start = time.perf_counter()
    resp = requests.post(url + ROUTE, json=body, timeout=30)
    elapsed = time.perf_counter() - start
    if resp.status_code != 200 or not resp.headers["Content-Type"].startswith("multipart/"):
        raise RuntimeError(f"{url}: HTTP {resp.status_code}: {resp.text[:300]}")
    return elapsed


def latencies(servers: list[Server], bodies: list[dict[str, str]], n: int, block: int = 25):
    """Sequential requests, alternating between servers in blocks (same bodies for both)."""
    out: dict[str, list[float]] = {s.name: [] for s in servers}
    done = 0
    while done < n:
        k = min(block, n - done)
        for s in servers:
            out[s.name].extend(post(s.url, bodies[(done + i) % len(bodies)]) for i in range(k))
        done += k
    return out


def throughput(
    server: Server, bodies: list[dict[str, str]], n: int, concurrency: int
) -> tuple[float, float]:
    """(requests/s, server CPU ms per request) for n requests from concurrent clients."""
    per_thread = max(1, n // concurrency)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for i in range(per_thread):
                post(server.url, bodies[(offset + i) % len(bodies)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k * per_thread,)) for k in range(concurrency)]
    cpu0 = server.cpu_seconds()
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    elapsed = time.perf_counter() - start
    cpu = server.cpu_seconds() - cpu0
    if errors:
        raise RuntimeError(f"{server.name}: {errors[0]}")
    done = per_thread * concurrency
    return done / elapsed, cpu / done * 1e3


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=400, help="sequential requests per server")
    ap.add_argument("--throughput-requests", type=int, default=400,
                    help="requests per server and round for the throughput phase")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7,
                    help="paired throughput rounds (the median is reported)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    if not (1 <= args.requests <= 5000 and 1 <= args.throughput_requests <= 20000
            and 1 <= args.rounds <= 50 and 1 <= args.concurrency <= 32):
        ap.error("request counts, rounds and concurrency must stay bounded")

    from servicex.query import TopCP

    baseline_python = ensure_baseline_venv()
    work = Path(tempfile.mkdtemp(prefix="codegen-bench-"))
    servers: list[Server] = []
    try:
        # Distinct queries (the example reco.yaml with max_events 1..N), as the real client
        # writes them: no request can be answered from a cache, in either server.
        shutil.copy(EXAMPLE, work / "reco.yaml")
        cwd = os.getcwd()
        os.chdir(work)
        try:
            bodies = [
                {"code": TopCP(reco="reco.yaml", max_events=i).generate_selection_string()}
                for i in range(1, 1001)
            ]
        finally:
            os.chdir(cwd)

        base_dir = work / "baseline"
        base_dir.mkdir()
        (base_dir / "wsgi.py").write_text(BASELINE_WSGI)
        shutil.copy(REPO / "codegen" / "topcp_codegen" / "transformer_capabilities.json", base_dir)
        shutil.copy(REPO / "science" / "topcp_science" / "transform_single_file.py", base_dir)

        image = "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
        env = {k: v for k, v in os.environ.items() if k != "CODEGEN_CONFIG_FILE"}
        env["TRANSFORMER_SCIENCE_IMAGE"] = image
        ours_port, base_port = free_port(), free_port()
        servers.append(Server(
            "topcp",
            [sys.executable, "-m", "gunicorn", "-c", str(REPO / "codegen" / "gunicorn.conf.py")],
            work,
            {**env, "TOPCP_CODEGEN_BIND": f"127.0.0.1:{ours_port}", "TOPCP_CODEGEN_WORKERS": "2",
             "TOPCP_CODEGEN_ACCESSLOG": "", "TOPCP_CODEGEN_LOGLEVEL": "warning"},
            ours_port,
        ))
        servers.append(Server(
            "baseline",
            [str(baseline_python), "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{base_port}",
             "--log-level", "warning", "wsgi:app"],
            base_dir,
            env,
            base_port,
        ))
        for s in servers:
            s.wait_ready(lambda s=s: post(s.url, bodies[0]) > 0)

        for s in servers:  # warm-up: imports, caches, first-request costs in both workers
            for i in range(40):
                post(s.url, bodies[-1 - i])
        lat = latencies(servers, bodies, args.requests)
        rounds: dict[str, list[tuple[float, float]]] = {s.name: [] for s in servers}
        for r in range(args.rounds):  # alternate the order so drifting load hits both alike
            for s in servers if r % 2 == 0 else servers[::-1]:
                rounds[s.name].append(
                    throughput(s, bodies, args.throughput_requests, args.concurrency)
                )
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    rps = {n: statistics.median(r for r, _ in v) for n, v in rounds.items()}
    cpu = {n: statistics.median(c for _, c in v) for n, v in rounds.items()}
    ratios = [t[0] / b[0] for t, b in zip(rounds["topcp"], rounds["baseline"], strict=True)]
    print(f"\ncodegen bench: {EXAMPLE.relative_to(REPO)} ({EXAMPLE.stat().st_size} bytes), "
          f"gunicorn with 2 sync workers each, 127.0.0.1, {os.cpu_count()} CPUs")
    print(f"latency: {args.requests} sequential requests per server; throughput: "
          f"{args.concurrency} clients x {args.throughput_requests} requests, median of "
          f"{args.rounds} paired rounds; server CPU from /proc")
    print(f"{'server':<10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'req/s':>8} "
          f"{'CPU ms/req':>11}")
    for name, values in lat.items():
        print(f"{name:<10} {pct(values, 0.5) * 1e3:8.2f} {pct(values, 0.99) * 1e3:8.2f} "
              f"{statistics.fmean(values) * 1e3:8.2f} {rps[name]:8.1f} {cpu[name]:11.2f}")
    added = (pct(lat["topcp"], 0.5) - pct(lat["baseline"], 0.5)) * 1e3
    ratio = statistics.median(ratios)
    ok_latency, ok_rps = added < 10.0, ratio >= 0.8
    print(f"validation adds {added:.2f} ms at p50 (target < 10 ms): "
          f"{'PASS' if ok_latency else 'FAIL'}")
    print(f"throughput ratio topcp/baseline = {ratio:.2f} (median of rounds "
          f"{', '.join(f'{x:.2f}' for x in ratios)}; target >= 0.80): "
          f"{'PASS' if ok_rps else 'FAIL'}")
    return 1 if args.strict and not (ok_latency and ok_rps) else 0


if __name__ == "__main__":
    sys.exit(main())
