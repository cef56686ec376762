# Everything a newcomer runs: `make demo` and `make test` (see README.md).
# Both create the virtual environment .venv/ on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test train clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

## demo: evaluate the shipped models on test images, then the three visualizations; figures in $(OUT)/
demo: $(BIN)/.installed
	$(BIN)/convviz evaluate --out $(OUT)
	$(BIN)/convviz activations --model small_convnet --image chelsea --out $(OUT)
	$(BIN)/convviz filters --out $(OUT)
	$(BIN)/convviz filters --regularized --out $(OUT)
	$(BIN)/convviz gradcam --image shapes:test:1 --score logit --out $(OUT)
	$(BIN)/convviz segment --image shapes:test:2 --out $(OUT)
	$(BIN)/convviz faithfulness

## test: the whole test suite, offline, warnings from our code as errors
test: $(BIN)/.installed
	$(BIN)/python -m pytest

## train: retrain every shipped model from scratch (about 15 minutes on 2 cores)
train: $(BIN)/.installed
	$(BIN)/convviz-train all

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
