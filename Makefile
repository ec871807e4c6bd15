# escalportal: `make run` serves the portal with its timers on SQLite; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test install migrate seed lint lock clean bench

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "escalportal needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	$(PY) scripts/run_dev.py

# Two pytest-xdist workers by default (TEST_WORKERS=0: one process); the tests that start
# processes of their own run one at a time on one of them (tests/plugins/services.py).
TEST_WORKERS ?= 2

test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/timers.py

# Re-pin every dependency after editing pyproject.toml.
lock: $(PY)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | sed '1i # Exact versions of every package, direct and transitive (make lock).' > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) var .pytest_cache
