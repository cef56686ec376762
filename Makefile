# Everything a newcomer runs: `make demo` and `make test` (see README.md).
# Both create the virtual environment .venv/ on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test check lint book book-students train lab clean

# uv (from PyPI, into the venv) resolves and installs the same packages as pip, faster;
# --compile-bytecode writes the .pyc files at install time, as pip does.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/python -m uv pip install --python $(BIN)/python --quiet --compile-bytecode --upgrade pip -e ".[book,grade,test]"
	touch $@

## demo: evaluate the shipped models on test images, then every visualization and the faithfulness
##       table; figures in $(OUT)/. `convviz demo` prints each step's own command as it runs it.
demo: $(BIN)/.installed
	$(BIN)/convviz demo --out $(OUT)

CHROMIUM := /usr/bin/chromium
BWRAP := /usr/bin/bwrap
POSTGRES := /usr/bin/pg_ctlcluster

# The browser test drives Debian's Chromium (nothing is downloaded at test time);
# the grader runs student code under Debian's bubblewrap.
$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium

$(BWRAP):
	apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap

# A test grades into a PostgreSQL gradebook on a throwaway server of its own.
$(POSTGRES):
	apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql

# Tests run in pytest-xdist worker processes, a test file per worker at a time, so that a file's
# module fixtures (a graded class, a fork server) are set up once. Much of the suite waits on other
# processes (kernels starting, a hanging submission's time limit, a browser), so there are two
# workers more than cores (the README's Tests section has the measurement).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 2 )))
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

## test: the whole test suite, offline, warnings from our code as errors (builds the book first if
##       stale, before the test workers start, so none waits for it; installs Debian's chromium,
##       bubblewrap and postgresql with apt)
test: $(BIN)/.installed $(CHROMIUM) $(BWRAP) $(POSTGRES)
	$(BIN)/python tests/book_build.py
	$(PYTEST) --durations=30

## check: the fast tier for development: every test not marked slow (no notebooks, classes, book builds)
check: $(BIN)/.installed $(BWRAP)
	$(PYTEST) -m "not slow" -q

## lint: ruff's checks (the rules are in pyproject.toml) and its formatter, over every .py file
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## book: build the Jupyter Book into book/_build/html, every chapter executed (one per core at a
##       time: book/build.py is `jupyter-book build` with Sphinx's --jobs); any warning fails it
book: $(BIN)/.installed
	@start=$$(date +%s); \
	$(BIN)/python book/build.py --all -W -n --keep-going book && \
	echo "book built in $$(( $$(date +%s) - start )) s: open book/_build/html/index.html"

## book-students: the students' edition into book/_build/students/html: each graded function a
##       stub (signature, docstring, the exercise that asks for it), no body; written in seconds from
##       the chapters `make book` executed (run that first: this executes nothing)
book-students: $(BIN)/.installed
	@start=$$(date +%s); \
	$(BIN)/python book/build.py --students -W -n --keep-going book && \
	echo "students' edition built in $$(( $$(date +%s) - start )) s: open book/_build/students/html/index.html"

## train: retrain every shipped model from scratch (see the README's convviz-train row for the times)
train: $(BIN)/.installed
	$(BIN)/convviz-train all

## lab: JupyterLab on the course, offline, open on exercises/ (the Nbgrader menu, formgrader and the
##      notebook's Validate button included); its configuration is jupyter/ (no news, no update check).
##      Jupyter refuses to run as root unless told: as root (a container, a lab VM) it is told.
lab: $(BIN)/.installed
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} $(BIN)/jupyter lab \
		$(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache book/_build
