# Two commands do everything on a fresh machine with Python >= 3.11 and gcc:
#   make demo   build into .venv, train on the bundled corpus, answer a query
#   make test   build into .venv, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KERNEL_SOURCES := $(wildcard staticvec/_kernels/*.pyx staticvec/_kernels/*.pxd staticvec/_kernels/*.h)
DEMO := demo

.PHONY: all build demo test bench clean

all: build

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Rebuilt when the build files or a kernel source change; Python sources are live (editable).
$(VENV)/.built: $(BIN)/python pyproject.toml setup.py $(KERNEL_SOURCES)
	$(BIN)/python -m pip install -q "setuptools>=68" wheel "Cython>=3.0"
	$(BIN)/python -m pip install -q --no-build-isolation -e ".[test]"
	$(BIN)/python setup.py -q build_ext --inplace
	touch $@

build: $(VENV)/.built

test: build
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile

# Skip-gram on the bundled 1M-token corpus (one thread, fixed seed: the same answers every
# time), then a nearest-neighbour and an analogy query (she - he + his = her).
demo: build
	@mkdir -p $(DEMO)
	$(BIN)/staticvec --version
	$(BIN)/staticvec train-skipgram data/corpus/mini.txt.xz -o $(DEMO)/vectors.bin --threads 1 --seed 1
	$(BIN)/staticvec nearest france -m $(DEMO)/vectors.bin -k 5
	$(BIN)/staticvec analogy she he his -m $(DEMO)/vectors.bin -k 3

bench: build
	$(BIN)/python -m pip install -q -e ".[bench]"

clean:
	rm -rf build $(DEMO) staticvec/_kernels/*.c staticvec/_kernels/*.so \
	       staticvec/_kernels/*/*.so $(VENV)/.built
