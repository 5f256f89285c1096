#!/bin/sh
# Make sure the tools ServiceX's watch.sh needs (nc, jq) and bash are present, using whichever
# package manager the base image has (dnf/yum on AnalysisBase's AlmaLinux, apt on Debian).
# Images that already have them (our Debian base) need no network for this step.
# Also make sure an unversioned `python` exists: watch.sh runs `$language $command` with
# language "python" before any ATLAS setup (ServiceX 2024's `bash -c`), and AlmaLinux 9 ships
# only `python3`. After the release setup, the release's own python comes first on PATH.
set -eu
link_python() {
    if ! command -v python >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
        ln -s "$(command -v python3)" /usr/local/bin/python
        echo "install-tools: linked /usr/local/bin/python -> $(command -v python3)"
    fi
}
missing=""
command -v bash >/dev/null 2>&1 || missing="$missing bash"
command -v nc >/dev/null 2>&1 || missing="$missing nc"
command -v jq >/dev/null 2>&1 || missing="$missing jq"
if [ -z "$missing" ]; then
    echo "install-tools: bash, nc and jq already present"
    link_python
    exit 0
fi
echo "install-tools: installing$missing"
if command -v dnf >/dev/null 2>&1 || command -v yum >/dev/null 2>&1; then
    pm="$(command -v dnf || command -v yum)"
    pkgs=""
    for tool in $missing; do
        case "$tool" in nc) pkgs="$pkgs nmap-ncat" ;; *) pkgs="$pkgs $tool" ;; esac
    done
    # shellcheck disable=SC2086
    "$pm" install -y $pkgs && "$pm" clean all
elif command -v apt-get >/dev/null 2>&1; then
    pkgs=""
    for tool in $missing; do
        case "$tool" in nc) pkgs="$pkgs netcat-openbsd" ;; *) pkgs="$pkgs $tool" ;; esac
    done
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $pkgs
    rm -rf /var/lib/apt/lists/*
else
    echo "install-tools: no dnf, yum or apt-get to install$missing with" >&2
    exit 1
fi
for tool in bash nc jq; do
    command -v "$tool" >/dev/null 2>&1 || { echo "install-tools: $tool still missing" >&2; exit 1; }
done
link_python
