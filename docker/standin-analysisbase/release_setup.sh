# shellcheck shell=bash
# Stand-in for AnalysisBase's /release_setup.sh: puts the release's Python (with uproot, like
# the real release's ROOT/LCG Python) first on PATH and exports the release variables.
export AnalysisBase_VERSION=25.2.74
export AnalysisBase_PLATFORM=x86_64-el9-gcc13-opt
export AnalysisBase_DIR=/usr/AnalysisBase/25.2.74/InstallArea/x86_64-el9-gcc13-opt
export PATH="$AnalysisBase_DIR/bin:$PATH"
# the stand-in config-block API (AnalysisAlgorithmsConfig, ...), like the release's python
export PYTHONPATH="$AnalysisBase_DIR/python${PYTHONPATH:+:$PYTHONPATH}"
echo "Configured AnalysisBase from: $AnalysisBase_DIR (stand-in)"
