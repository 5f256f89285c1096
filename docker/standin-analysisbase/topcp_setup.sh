# shellcheck shell=bash
# Stand-in for TopCPToolkit's build/<platform>/setup.sh: like the real one it only works after
# the release is set up, and it is what puts runTop_el.py on PATH.
if [ -z "${AnalysisBase_DIR:-}" ]; then
    echo "TopCPToolkit setup: source /release_setup.sh first" >&2
    return 1 2>/dev/null || exit 1
fi
export TopCPToolkit_DIR=/TopCPToolkit/build/x86_64-el9-gcc13-opt
export PATH="$TopCPToolkit_DIR/bin:$PATH"
# the stand-in TopCPToolkit python package (what AddConfigBlocks imports)
export PYTHONPATH="$TopCPToolkit_DIR/python${PYTHONPATH:+:$PYTHONPATH}"
