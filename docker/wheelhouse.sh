#!/usr/bin/env bash
# Build the wheelhouse every Dockerfile installs from.
#
#   docker/wheelhouse.sh            # -> ./wheels (gitignored)
#   WHEELHOUSE=/some/dir PYTHON=python3.11 docker/wheelhouse.sh
#
# Why: on build machines without a registry mirror (CI here), `pip install` cannot reach
# PyPI from inside `docker build`, so the images install with
# `pip install --no-index --find-links /wheels`. The wheels are built by a Python whose
# version matches the images' (3.11: python:3.11-slim-bookworm and Debian bookworm's
# python3), so binary wheels (numpy, awkward-cpp, cryptography) fit.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${WHEELHOUSE:-$repo/wheels}"
py="${PYTHON:-}"
if [ -z "$py" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then py="$repo/.venv/bin/python"; else py="python3"; fi
fi

want="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$want" != "${WHEEL_PYTHON_VERSION:-3.11}" ]; then
    echo "wheelhouse: $py is Python $want but the images run ${WHEEL_PYTHON_VERSION:-3.11};" \
         "set PYTHON to a matching interpreter (or WHEEL_PYTHON_VERSION if you changed BASE_IMAGE)" >&2
    exit 2
fi

mkdir -p "$out"
# The project itself (all components in one pure-Python wheel). Build it in a scratch copy so
# the source tree gets no build/ or egg-info droppings and a stale wheel is always replaced.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
rm -f "$out"/servicex_topcp-*.whl
tar -C "$repo" --exclude=.venv --exclude=.git --exclude=wheels --exclude='*.egg-info' \
    --exclude=build --exclude=__pycache__ --exclude=tests --exclude=bench -cf - . | tar -C "$scratch" -xf -
"$py" -m pip wheel -q --no-deps -w "$out" "$scratch"

# Every runtime dependency from pyproject.toml (each image picks its subset), plus pip's own
# wheel so the images' venvs get a current installer without network.
"$py" - "$repo/pyproject.toml" >"$scratch/requirements.txt" <<'PYEOF'
import sys
import tomllib

with open(sys.argv[1], "rb") as fh:
    project = tomllib.load(fh)["project"]
print("\n".join(project["dependencies"]))
PYEOF
# Pin to the versions of the environment the tests ran in (a fresh resolve of boto3 + aioboto3
# backtracks for minutes); CONSTRAINTS= (empty) resolves from scratch instead.
constraints="${CONSTRAINTS-$scratch/constraints.txt}"
if [ -n "$constraints" ] && [ "$constraints" = "$scratch/constraints.txt" ]; then
    "$py" -m pip freeze --exclude-editable | grep -v '^-e ' >"$constraints"
fi
"$py" -m pip wheel -q -w "$out" ${constraints:+-c "$constraints"} \
    -r "$scratch/requirements.txt" pip setuptools wheel
echo "wheelhouse: $(ls "$out" | wc -l) wheels in $out" >&2
echo "$out"
