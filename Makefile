# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint deps lock clean

run: $(STAMP)
	$(VENV)/bin/python manage.py up

test: $(STAMP)
	PIER_TEST_DEPS=1 scripts/install-system-deps.sh
	scripts/ensure-docker.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

deps:
	scripts/install-system-deps.sh

$(STAMP): pyproject.toml requirements.lock
	scripts/install-system-deps.sh
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(STAMP)

# Re-pin every dependency after changing pyproject.toml.
lock: $(STAMP)
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^#' > requirements.lock

clean:
	rm -rf $(VENV)
