# em-abm: `make run` runs the default scenario, `make test` runs the tests.
# Both create .venv with Python >= 3.12 on first use and install the package with its dev extras.

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= baseline_2026
YEARS ?= 3
SEED ?= 1
SCALE ?= 1.0
OUT ?= results/$(SCENARIO)

.PHONY: paper run test test-slow test-long lint format bench calibrate calibrate-quick calibration-report experiment experiments experiments-quick clean venv

# First interpreter found with version >= 3.12 (pyenv honours .python-version).
FIND_PYTHON = for c in python3.12 python3.13 python3.14 python3 python; do \
	  p=$$(command -v $$c 2>/dev/null) || continue; \
	  $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$p; exit 0; }; \
	done; exit 1

$(PY):
	@py=$$($(FIND_PYTHON)) || { echo "error: em-abm needs Python >= 3.12; none was found on PATH (install one, e.g. 'pyenv install 3.12')" >&2; exit 1; }; \
	echo "creating $(VENV) with $$py"; $$py -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/em-abm run $(SCENARIO) --years $(YEARS) --seed $(SEED) --scale $(SCALE) --out $(OUT) --force

# In parallel on every core (pytest-xdist); each test file stays on one worker.
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile

# The property tests with 2,000 freshly drawn parameter sets (tests/conftest.py profiles).
test-long: $(STAMP)
	HYPOTHESIS_PROFILE=long $(PY) -m pytest -q tests/test_properties.py

test-slow: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Experiments (experiments/): `make experiment NAME=pilots [QUICK=1]`; `make experiments`
# runs all three at full size (results/NAME/, committed) and `make experiments-quick` in CI.
NAME ?= prioritisation_under_constraint
EXPERIMENTS := prioritisation_under_constraint pilots sensitivity_baseline
experiment: $(STAMP)
	$(VENV)/bin/em-abm experiment $(NAME) $(if $(QUICK),--quick)

experiments: $(STAMP)
	for e in $(EXPERIMENTS); do $(VENV)/bin/em-abm experiment $$e || exit 1; done

experiments-quick: $(STAMP)
	for e in $(EXPERIMENTS); do $(VENV)/bin/em-abm experiment $$e --quick --no-progress || exit 1; done

# The paper (paper/): ODD.md, any experiment without current results, figures, numbers.json
# and paper.pdf. QUICK=1 builds from the quick experiments into paper/quick/ (minutes).
paper: $(STAMP)
	$(VENV)/bin/em-abm paper $(if $(QUICK),--quick --no-progress)

# History matching to calibration/targets.toml in two stages (about 70 minutes on 2 cores:
# 58 for the first and its posterior, 11 for the second):
# the 2026 steady state (calibrate.toml), then the 2024-2025 path given it
# (calibrate_transition.toml). Resumes after an interruption. Writes calibration/fitted/,
# calibration/report.md and calibration/report_transition.md.
TRANSITION_CONFIG := calibration/calibrate_transition.toml
calibrate: $(STAMP)
	$(VENV)/bin/em-abm calibrate
	$(VENV)/bin/em-abm calibrate --report
	$(VENV)/bin/em-abm calibrate --config $(TRANSITION_CONFIG)
	$(VENV)/bin/em-abm calibrate --config $(TRANSITION_CONFIG) --report

# The same pipeline at a smoke-test size (about a minute); outputs in calibration/runs/quick/.
calibrate-quick: $(STAMP)
	$(VENV)/bin/em-abm calibrate --quick --restart --no-progress
	$(VENV)/bin/em-abm calibrate --quick --report

# calibration/report*.md and their figures again, from the committed fitted sets.
calibration-report: $(STAMP)
	$(VENV)/bin/em-abm calibrate --report
	$(VENV)/bin/em-abm calibrate --config $(TRANSITION_CONFIG) --report
	$(VENV)/bin/python -m em_abm.validation

bench: $(STAMP)
	$(PY) benchmarks/bench_fullscale.py
	$(PY) benchmarks/bench_scaling.py
	$(PY) benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
