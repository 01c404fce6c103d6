# make demo  - set up .venv if needed (the package alone), then preview the sample pipelines into out/
# make test  - set up .venv if needed (every extra), then run the whole test suite
# make check-install - a new venv with the package alone: core commands run, extras named
# make docs  - set up .venv (the package and the docs toolchain), make the gallery, build the site into site/ (strict)
# make bench - set up .venv (with benchmark peers), then run the benchmarks
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
STAMP  := $(VENV)/.installed

.PHONY: demo test docs bench check-install clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

CORE   := $(VENV)/.installed-core

# the package alone (what `make demo` needs): torch pinned first, then no extras
$(CORE): $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $(CORE)

# everything the tests use: every extra
$(STAMP): $(CORE)
	$(PIP) -e '.[dev,recipes,bench,ray,lightning,hf,docs]'
	touch $(STAMP)

demo: $(CORE)
	$(VENV)/bin/augnoise validate pipelines/*.yaml
	$(VENV)/bin/augnoise preview pipelines/image_noise.yaml samples/scene.png samples/chart_gray.png -o out/image_noise
	$(VENV)/bin/augnoise preview pipelines/image_heavy.yaml samples/scene.png samples/chart_gray.png -o out/image_heavy
	$(VENV)/bin/augnoise preview pipelines/audio_noise.yaml samples/chirp_tones.wav -n 4 -o out/audio_noise
	$(VENV)/bin/augnoise preview pipelines/tabular_noise.yaml samples/patients.csv -n 2 -o out/tabular_noise

test: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider

DOCS   := $(VENV)/.installed-docs

$(DOCS): $(CORE)
	$(PIP) -e '.[docs]'
	touch $(DOCS)

# the site: the transform gallery (augnoise gallery, into docs/transforms/), then mkdocs in strict
# mode (a broken link, reference or missing page fails the build); open site/index.html
docs: $(DOCS)
	$(VENV)/bin/augnoise gallery docs/transforms
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# a new user's `pip install augnoise` (no extras) in a new venv: core commands run, extras are named
check-install:
	bash .ci/fresh_install.sh

bench: $(STAMP)
	$(PIP) --no-deps torchattacks  # peer for bench adversarial; its torchvision requirement is unused and would pull CUDA torch
	$(VENV)/bin/augnoise bench image
	$(VENV)/bin/augnoise bench dispatch
	$(VENV)/bin/augnoise bench batch
	$(VENV)/bin/augnoise bench audio
	$(VENV)/bin/augnoise bench tabular
	$(VENV)/bin/augnoise bench loader
	$(VENV)/bin/augnoise bench adversarial
	$(VENV)/bin/augnoise bench ray

clean:
	rm -rf out site docs/transforms .pytest_cache .hypothesis
