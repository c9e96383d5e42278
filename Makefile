# Set-up, build and test. Every target installs what it needs first, so a fresh clone
# needs only `make demo` or `make test`.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM ?= /usr/bin/chromium
PORT ?= 8000

.PHONY: setup build test demo serve bench soak clean

setup: $(VENV)/.installed node_modules/.installed web/pyodide/pyodide.mjs $(CHROMIUM)

$(CHROMIUM):
	@if [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Chromium is missing at $(CHROMIUM): install Debian's chromium package (as root: apt-get install chromium)" >&2; exit 1; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dev']))" > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Pyodide is served from the same origin as the page, never from a CDN.
web/pyodide/pyodide.mjs: node_modules/.installed
	rm -rf web/pyodide
	mkdir -p web/pyodide
	cp node_modules/pyodide/pyodide.mjs node_modules/pyodide/pyodide.asm.mjs \
	   node_modules/pyodide/pyodide.asm.wasm node_modules/pyodide/python_stdlib.zip \
	   node_modules/pyodide/pyodide-lock.json node_modules/pyodide/package.json web/pyodide/
	touch $@

# Transcrypt prints its errors on stdout among its progress lines: show them only on failure.
TRANSCRYPT = cd src && ../$(VENV)/bin/transcrypt -b -n
# The new build is written beside the old one and swapped in, so a server that is
# serving build/ meanwhile never finds it half written.
build: $(VENV)/.installed
	rm -rf build.next
	$(TRANSCRYPT) -od ../build.next manager.py > ../$(VENV)/transcrypt.log 2>&1 || { cat $(VENV)/transcrypt.log; exit 1; }
	cp src/protocol.py src/responder.py build.next/
	$(TRANSCRYPT) -od ../build.next/replay replay.py > ../$(VENV)/transcrypt.log 2>&1 || { cat $(VENV)/transcrypt.log; exit 1; }
	echo '{"type": "module"}' > build.next/replay/package.json
	rm -rf build.old && { [ ! -d build ] || mv build build.old; } && mv build.next build && rm -rf build.old
	@echo "built build/manager.js"

test: setup build
	$(PY) -m pytest -q tests

demo: setup build
	$(PY) -m tests.demo

serve: setup build
	$(PY) -m tests.support.server --port $(PORT)

bench: setup build
	$(PY) -m bench.run

soak: setup build
	SOAK_SECONDS=$${SOAK_SECONDS:-600} $(PY) -m pytest -q tests/patterns/workers/test_soak.py

clean:
	rm -rf build build.next build.old web/pyodide
