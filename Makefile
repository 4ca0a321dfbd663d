# The two commands of the README: `make demo` and `make test`.
# Each bootstraps .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint format bench bench-ocr ocr-packages clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/keras-seq ocr demo --out runs/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -n 2 --durations=15

test-slow: $(STAMP)
	$(PY) -m pytest -n 2 -m slow

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/bench_tflite.py

# OCR quality against Tesseract (2 hours of training on 2 CPU cores).
# Needs Debian packages: run `make ocr-packages` as root first.
bench-ocr: $(STAMP)
	$(PY) benchmarks/bench_ocr_quality.py --minutes 120 --write

ocr-packages: $(STAMP)
	apt-get update
	apt-get install -y --no-install-recommends tesseract-ocr \
		tesseract-ocr-ces tesseract-ocr-deu tesseract-ocr-pol \
		tesseract-ocr-spa tesseract-ocr-fra tesseract-ocr-ita \
		fonts-liberation fonts-freefont-ttf \
		$$($(PY) benchmarks/bench_ocr_quality.py --packages)

clean:
	rm -rf $(VENV) runs build *.egg-info
