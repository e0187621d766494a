# GSTP on one machine. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test cluster-test install lint outline-data clean bench reliability backup restore

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## Migrate, load the demo data on first run, then serve with a Celery worker and beat.
run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	PORT=$(PORT) $(BIN)/honcho start -f Procfile.dev

## The whole test suite (PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set).
test: install
	$(BIN)/pytest

## GSTP on hosts made of network namespaces (root): web hosts behind HAProxy, workers, beat, the database host;
## hosts lost under load. Part of `make test` too, where the machine allows (tests/cluster/).
cluster-test: install
	$(BIN)/pytest -p no:cacheprovider tests/cluster

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## Rebuild the shipped plan structure from the 2024 report.
outline-data: install
	$(BIN)/python manage.py build_outline_data ../shared/seed/000_6983f7ee280d886a.txt --output projects/data/smart-nation-2024.json

clean:
	rm -rf var $(VENV)

## Back up the database and the stored files into a new folder under var/backups/ (or BACKUP_DIR); prints it.
backup: install
	$(BIN)/python manage.py backup $(if $(BACKUP_DIR),--output-dir "$(BACKUP_DIR)")

## Put a backup back, database and files: `make restore BACKUP=var/backups/gstp-backup-...` (asks first).
restore: install
	@test -n "$(BACKUP)" || { echo "Name the backup to restore: make restore BACKUP=var/backups/gstp-backup-..." >&2; exit 2; }
	$(BIN)/python manage.py restore "$(BACKUP)"

## Benchmarks (PostgreSQL): `bash .ci/run make bench` starts a throw-away server for them.
bench: install
	cd bench && ../$(BIN)/python scan.py && ../$(BIN)/python api.py && ../$(BIN)/python load.py && ../$(BIN)/python capacity.py && ../$(BIN)/python profile_reads.py && ../$(BIN)/python cluster.py

## Fuzzing, authorization, faults and load, with one table (PostgreSQL and Redis):
## `bash .ci/run make reliability`. The fuzzing here runs as every kind of caller, 100 cases per operation;
## `make test` fuzzes as a lead only (tests/security/test_fuzz.py).
reliability: install
	$(BIN)/python bench/reliability.py
