# The two commands of the README are `make run` and `make test`; everything else is detail.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED_SAMPLE := ../shared/testdata/PHYSLITE_example.root

.PHONY: setup run test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Main job: the embedded default (in-process codegen, emulated science) on a real PHYSLITE file.
# --no-filter keeps every event (with its pass_<region> flags) so the 100-event sample gives a
# plottable ntuple; --systematics adds the emulated variations for the plot's up/down bands.
run: setup
	@input="$(INPUT)"; \
	if [ -z "$$input" ]; then \
	  if [ -f $(SHARED_SAMPLE) ]; then input=$(SHARED_SAMPLE); else input=$$($(VENV)/bin/topcp-sx sample); fi; \
	fi; \
	$(VENV)/bin/topcp-sx run --reco examples/ttbar-ljets/reco.yaml "$$input" -o output --systematics --no-filter

# Everything but the tests marked "docker": those need a Docker engine AND the images
# .ci/docker-e2e builds, and that script runs them all (pytest reports them as deselected here).
test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -m "not docker"

clean:
	rm -rf output samples .pytest_cache .ruff_cache
