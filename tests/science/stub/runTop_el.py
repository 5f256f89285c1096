#!/usr/bin/env python3
"""A stand-in for TopCPToolkit's ``runTop_el.py`` (AnalysisBase flavour) for the science tests.

It accepts the real CLI and is steered by environment variables, so the tests can make it do
each thing the real one does or fails to do:

``STUB_MODE``: ``success`` (default; writes ``<name>.root`` with uproot, one tree per level named
by the YAML's ``Output.treeName``, plus a ``metadata`` histogram), ``template`` (copies
``STUB_TEMPLATE`` to ``<name>.root``, no uproot import: for the benchmark), ``crash``,
``config_error``, ``hang``, ``ignore_term`` (hangs and ignores SIGTERM), ``nothing`` (exit 0, no
file), ``garbage``, ``truncated``, ``no_trees``, ``no_eventloop`` (success without the EventLoop
line).
``STUB_EVENTS``: events in the input (default 100); ``-e`` caps them as EventLoop does.
``STUB_RECORD``: write a JSON record of argv, cwd, TMPDIR, pid, pgid, the input list, the config
folder and the x509 proxy the stub saw. ``STUB_SLEEP``: seconds to hold a fixed-name temp file
under ``$TMPDIR`` (as runTop_el.py does) and check nobody else overwrote it.
``STUB_CONFIG_MESSAGE``: the text of the configuration error. ``STUB_HADD_STDERR``: text for
``hadd_stderr.txt``. ``STUB_OUTPUT_MODE``: octal mode to leave ``<name>.root`` with.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(prog="runTop_el.py")
    p.add_argument("-i", "--input-list", required=True)
    p.add_argument("-o", "--output-name", required=True)
    p.add_argument("-e", "--max-events", type=int, default=-1)
    p.add_argument("-t", "--text-config", default=None)
    p.add_argument("-a", "--analysis", default="TopCPToolkit.TtbarCPalgoConfigBlocksAnalysis")
    p.add_argument("--parton", action="store_true")
    p.add_argument("--particle", action="store_true")
    p.add_argument("--no-reco", action="store_true")
    p.add_argument("--no-systematics", action="store_true")
    p.add_argument("--no-filter", action="store_true")
    p.add_argument("--direct-driver", action="store_true")
    p.add_argument("--split-output", action="store_true")
    return p.parse_args(argv)


def levels_run(args):
    levels = [] if args.no_reco else ["reco"]
    if args.particle:
        levels.append("particle")
    if args.parton:
        levels.append("parton")
    return levels


def tree_name(config_dir, level):
    import yaml

    with open(os.path.join(config_dir, level + ".yaml")) as f:
        data = yaml.safe_load(f) or {}
    output = data.get("Output")
    if output is None:
        return None
    if isinstance(output, list):
        output = output[0]
    return output.get("treeName", "analysis")


def write_root(path, trees, entries):
    import numpy as np
    import uproot

    with uproot.recreate(path) as f:
        for name in trees:  # TopCP writes TTrees by default (uproot's dict default is RNTuple)
            tree = f.mktree(name, {"eventNumber": np.int64, "weight_mc_NOSYS": np.float32})
            tree.extend(
                {
                    "eventNumber": np.arange(entries, dtype=np.int64),
                    "weight_mc_NOSYS": np.ones(entries, dtype=np.float32),
                }
            )
        f["metadata"] = (np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0, 3.0]))


def record(args, x509):
    path = os.environ.get("STUB_RECORD")
    if not path:
        return
    with open(args.input_list) as f:
        input_lines = f.read().split("\n")
    cfg = args.text_config
    rec = {
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "tmpdir": os.environ.get("TMPDIR"),
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "input_lines": input_lines,
        "config_dir": cfg,
        # as PathResolver resolves a relative -t: against the current directory first
        "config_dir_abs": os.path.abspath(cfg) if cfg else None,
        "config_files": sorted(os.listdir(cfg)) if cfg and os.path.isdir(cfg) else None,
        "x509": x509,
        "setup_mark": os.environ.get("STUB_SETUP_MARK"),
        "bash_env": os.environ.get("BASH_ENV"),
    }
    if cfg and os.path.isdir(cfg):
        rec["config_texts"] = {n: open(os.path.join(cfg, n)).read() for n in os.listdir(cfg)}
    with open(path, "w") as f:
        json.dump(rec, f)


def x509_info():
    proxy = os.environ.get("X509_USER_PROXY")
    if not proxy or not os.path.exists(proxy):
        return {"path": proxy, "mode": None, "content": None}
    st = os.stat(proxy)
    with open(proxy) as f:
        return {"path": proxy, "mode": st.st_mode & 0o777, "content": f.read()}


def hold_temp_file(seconds):
    """runTop_el.py's fixed temp names: a shared TMPDIR makes parallel jobs clobber each other."""
    tmp = os.environ.get("TMPDIR", "/tmp")
    path = os.path.join(tmp, "output_reco.root")
    mine = str(os.getpid())
    with open(path, "w") as f:
        f.write(mine)
    time.sleep(seconds)
    with open(path) as f:
        if f.read() != mine:
            print("stub: somebody else overwrote " + path, flush=True)
            sys.exit(3)


def main():
    args = parse_args(sys.argv[1:])
    mode = os.environ.get("STUB_MODE", "success")
    record(args, x509_info())
    with open(args.input_list) as f:
        inputs = [line.strip() for line in f if line.strip()]
    events = int(os.environ.get("STUB_EVENTS", "100"))
    if args.max_events >= 0:
        events = min(events, args.max_events)
    out = args.output_name + ".root"
    print("stub runTop_el.py: levels " + ",".join(levels_run(args)), flush=True)
    if os.environ.get("STUB_SLEEP"):
        hold_temp_file(float(os.environ["STUB_SLEEP"]))

    if mode == "crash":
        print("Traceback (most recent call last):", flush=True)
        print('  File "runTop_el.py", line 180, in <module>', flush=True)
        print(
            "FileNotFoundError: The file " + os.environ.get("TMPDIR", "") + "/output/data-ANALYSIS/"
            "output.root was not successfully created, aborting.",
            flush=True,
        )
        sys.exit(1)
    if mode == "config_error":
        message = os.environ.get("STUB_CONFIG_MESSAGE", "Unkown block 'Jetz'")
        print("ConfigText           ERROR   " + message, flush=True)
        print("ValueError: " + message, flush=True)
        sys.exit(1)
    if mode in ("hang", "ignore_term"):
        if mode == "ignore_term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        path = os.environ.get("STUB_RECORD")
        if path:
            with open(path) as f:
                rec = json.load(f)
            rec["grandchild"] = child.pid
            with open(path + ".tmp", "w") as f:
                json.dump(rec, f)
            os.replace(path + ".tmp", path)
        print("stub runTop_el.py: hanging", flush=True)
        while True:
            time.sleep(1)
    if mode == "nothing":
        return 0
    if mode == "garbage":
        with open(out, "wb") as f:
            f.write(b"this is not a ROOT file\n" * 100)
        return 0

    for _level in levels_run(args):  # each level is its own EventLoop job over the input
        if mode != "no_eventloop":
            for source in inputs:
                print(
                    f"Package.EventLoop        INFO    Processing events 0-{events} in file {source}",
                    flush=True,
                )
    if os.environ.get("STUB_HADD_STDERR"):
        with open("hadd_stderr.txt", "w") as f:
            f.write(os.environ["STUB_HADD_STDERR"] + "\n")
    if mode == "template":
        with open(os.environ["STUB_TEMPLATE"], "rb") as src, open(out, "wb") as dst:
            dst.write(src.read())
        return 0
    trees = []
    if mode != "no_trees":
        for level in levels_run(args):
            name = tree_name(args.text_config, level)
            if name:
                trees.append(name)
    write_root(out, trees, events)
    if os.environ.get("STUB_OUTPUT_MODE"):  # e.g. 600, as a mkstemp-based writer leaves it
        os.chmod(out, int(os.environ["STUB_OUTPUT_MODE"], 8))
    if mode == "truncated":
        size = os.path.getsize(out)
        with open(out, "r+b") as f:
            f.truncate(size // 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
