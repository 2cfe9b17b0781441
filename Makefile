# Two entry points (see README): `make book` and `make test`. Both create and use a local virtualenv.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
PRESET ?= quick

.PHONY: book test venv notebooks unit nbval browser-deps check-book clean kernel lab

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/lock.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements/lock.txt -e ".[dev]"
	touch $(STAMP)

# Execute every notebook top to bottom in place (papermill), then build the HTML book.
notebooks: $(STAMP)
	@for nb in $(NOTEBOOKS); do \
	  echo "papermill $$nb (preset=$(PRESET))"; \
	  $(BIN)/papermill --cwd notebooks -p preset $(PRESET) --request-save-on-cell-execute $$nb $$nb || exit 1; \
	done

book: notebooks
	$(BIN)/jupyter-book build . --warningiserror --keep-going --path-output .
	@echo "book: _build/html/index.html"

# The browser check needs headless Chromium: Debian's package, installed when missing (root or sudo).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser check"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The browser check on the book that `make book` built from freshly executed notebooks (_build/html);
# `make unit` checks a book built from the committed notebooks.
check-book: $(STAMP) browser-deps
	$(BIN)/python tests/browser_check.py _build/html

unit: $(STAMP) browser-deps
	$(BIN)/python -m pytest tests -q

nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval notebooks --nbval-sanitize-with nbval_sanitize.cfg -p no:cacheprovider -q

test: unit nbval

# JupyterLab on the notebooks, run from this environment (so the notebooks' "python3" kernel is this
# environment's Python), which is also registered as the kernel "mglwkd-lite" for use from any other
# Jupyter. KERNEL_PREFIX: where the kernel spec goes (default: the user's Jupyter folder).
KERNEL_PREFIX ?=
kernel: $(STAMP)
	$(BIN)/python -m ipykernel install $(if $(KERNEL_PREFIX),--prefix $(KERNEL_PREFIX),--user) \
	  --name mglwkd-lite --display-name "Python (mglwkd-lite)"

lab: kernel
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf _build .cache
