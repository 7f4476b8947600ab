# Koe: the two commands are `make run` and `make test`; both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PO := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test bench lint format install translations i18n-extract browser vendor clean

run: install translations vendor  ## Start every process of the platform on SQLite with demo data.
	$(FLASK) db upgrade
	$(FLASK) koe seed-demo --if-empty
	$(VENV)/bin/honcho start -f Procfile

test: install translations vendor browser  ## Run the whole suite (SQLite, and PostgreSQL when configured).
	@# With a PostgreSQL server (KOE_TEST_DATABASE_URL), its pass runs at the same time as the
	@# SQLite one, in its own process (own databases, Redis database 1, no pytest cache): the two
	@# share the two cores, which either alone leaves half idle. It leaves out the browser tests
	@# and the benchmark's smoke run, which exercise the same database code as the tests beneath
	@# them, and the tests of the parts that use no database (analytics, moderation, the media
	@# service).
	@if [ -n "$$KOE_TEST_DATABASE_URL" ]; then \
		echo "== PostgreSQL pass started in the background (its report follows the SQLite one) =="; \
		( KOE_TEST_REDIS_URL=$${KOE_TEST_REDIS_URL:+$${KOE_TEST_REDIS_URL%/*}/1} \
		  $(PY) -m pytest -p no:cacheprovider --ignore=tests/e2e --ignore=tests/test_bench.py \
			--ignore=tests/analytics --ignore=tests/moderation --ignore=tests/media \
			--durations=15 $(PYTEST_ARGS) \
			> .pytest-postgresql.log 2>&1; echo $$? > .pytest-postgresql.rc ) & \
	fi; \
	echo "== SQLite (with the browser tests) =="; \
	KOE_TEST_DATABASE_URL= $(PY) -m pytest --durations=15 $(PYTEST_ARGS); sqlite=$$?; \
	if [ -n "$$KOE_TEST_DATABASE_URL" ]; then \
		wait; echo "== PostgreSQL (without tests/e2e, tests/analytics, tests/moderation, tests/media and tests/test_bench.py) =="; \
		cat .pytest-postgresql.log; postgresql=$$(cat .pytest-postgresql.rc); \
		rm -f .pytest-postgresql.log .pytest-postgresql.rc; \
		[ "$$postgresql" = 0 ] || exit "$$postgresql"; \
	fi; \
	exit $$sqlite

bench: install translations  ## Print the benchmark figures with their setup.
	$(PY) bench/run.py
	$(PY) bench/moderation_bench.py
	$(PY) bench/consultation_load.py
	$(PY) bench/analytics_bench.py
	$(PY) bench/forms_bench.py
	$(PY) bench/chat_load.py
	$(PY) bench/media_bench.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

translations: $(MO)

%.mo: %.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -i $< -o $@

i18n-extract: install  ## Refresh the catalogues from the source; then translate the new strings.
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --width 100 --ignore-obsolete --no-fuzzy-matching

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Third-party browser code, copied from npm at build time (static/vendor/ is never committed).
VENDOR := static/vendor/socket.io.min.js static/vendor/hls.min.js
vendor: $(VENDOR)

static/vendor/socket.io.min.js: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js $@

static/vendor/hls.min.js: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/hls.js/dist/hls.min.js $@

# Chromium comes from Debian (Playwright's own browser download does not work here); so does
# coturn, the TURN server a stream's e2e test relays through.
browser:
	@{ command -v chromium && command -v turnserver; } >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium coturn >/dev/null; \
		else echo "chromium or coturn is missing: e2e tests will be skipped (apt-get install chromium coturn)"; fi; }

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache $(MO)
