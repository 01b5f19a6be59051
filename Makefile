# Two commands on a fresh machine: `make demo` (the main job on generated data) and `make test` (the test suite).
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup setup-slicer test-slicer setup-figures figures-slicer test-figures setup-totalseg setup-embeddings demo demo-embeddings demo-contrast test test-slow test-all test-totalseg test-embeddings bench bench-totalseg bench-embeddings bench-phantom bench-agreement bench-review bench-protocols bench-mass figures cmake-lists shipped-model clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	# pyradiomics 3.0.1 has no wheel for Python 3.11: it builds against the numpy already installed
	$(BIN)/pip install --quiet numpy
	$(BIN)/pip install --quiet --no-build-isolation pyradiomics==3.0.1
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: setup
	$(BIN)/python tools/demo.py --out demo-output

test: setup
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow --ignore=Testing/region/test_totalseg_end_to_end.py

test-all: test test-slow test-totalseg test-embeddings

# The Slicer module on Slicer's real libraries: slicer-core (Slicer's compiled core without Qt) in its OWN venv, because
# shap (in the test extra) brings the PyPI package 'slicer' that overwrites slicer-core's slicer/__init__.py. The
# project is installed without the test extra; ../shared/slicer-python gives Slicer's pure-Python modules.
SLICER_VENV ?= .venv-slicer
SLICER_BIN := $(SLICER_VENV)/bin
SLICER_STAMP := $(SLICER_VENV)/.installed
SLICER_CORE ?= slicer-core==5.13.31053.0
SLICER_PYTHON_DIR ?= $(abspath ../shared/slicer-python)
setup-slicer: $(SLICER_STAMP)

$(SLICER_STAMP): pyproject.toml
	$(PYTHON) -m venv $(SLICER_VENV)
	$(SLICER_BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(SLICER_BIN)/pip install --quiet numpy
	$(SLICER_BIN)/pip install --quiet --no-build-isolation pyradiomics==3.0.1
	$(SLICER_BIN)/pip install --quiet -e . "pytest>=7" "$(SLICER_CORE)"
	touch $(SLICER_STAMP)

# Testing/slicer_real/ on real MRML (scene, nodes, storage, module logics, parameterNodeWrapper): a missing slicer-core
# fails here instead of skipping (CORONARY_CALCIUM_REQUIRE_SLICER)
test-slicer: setup-slicer
	CORONARY_CALCIUM_REQUIRE_SLICER=1 CORONARY_CALCIUM_SLICER_PYTHON=$(SLICER_PYTHON_DIR) $(SLICER_BIN)/python -m pytest -q -p no:cacheprovider Testing/slicer_real

# Real Slicer views (README pictures, and a test of them): trame-slicer renders Slicer's slice and 3D views offscreen
# (EGL). trame-slicer 2.0 imports only with its [standalone] extra, which pins slicer-core 5.11.x and vtk 9.6.0: its OWN
# venv. The project is installed without its dependencies (the Logic's scoring path needs only numpy, scipy, SimpleITK
# and pydicom; no classifier, so no pyradiomics or shap).
FIGURES_VENV ?= .venv-figures
FIGURES_BIN := $(FIGURES_VENV)/bin
FIGURES_STAMP := $(FIGURES_VENV)/.installed
TRAME_SLICER ?= trame-slicer[standalone]==2.0.0
setup-figures: $(FIGURES_STAMP)

$(FIGURES_STAMP): pyproject.toml
	$(PYTHON) -m venv $(FIGURES_VENV)
	$(FIGURES_BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(FIGURES_BIN)/pip install --quiet "$(TRAME_SLICER)" numpy scipy SimpleITK pydicom Pillow "pytest>=7"
	$(FIGURES_BIN)/pip install --quiet --no-deps -e .
	touch $(FIGURES_STAMP)

# Resources/Screenshots/slicer_axial.png and slicer_3d.png: the module's Logic on a phantom in a real scene, its output
# nodes rendered by Slicer's displayable managers
figures-slicer: setup-figures
	CORONARY_CALCIUM_SLICER_PYTHON=$(SLICER_PYTHON_DIR) $(FIGURES_BIN)/python tools/render_slicer_views.py

# Testing/slicer_figures/: the rendered axial view shows each checked lesion's centroid in its artery colour; a missing
# trame-slicer fails here instead of skipping (CORONARY_CALCIUM_REQUIRE_FIGURES)
test-figures: setup-figures
	CORONARY_CALCIUM_REQUIRE_FIGURES=1 CORONARY_CALCIUM_SLICER_PYTHON=$(SLICER_PYTHON_DIR) $(FIGURES_BIN)/python -m pytest -q -p no:cacheprovider Testing/slicer_figures

# TotalSegmentator extra: CPU torch from this machine's disk first, so pip does not pull a multi-GB CUDA build
TS_STAMP := $(VENV)/.totalseg
setup-totalseg: $(TS_STAMP)

$(TS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,totalsegmentator]"
	touch $(TS_STAMP)

# the real totalsegmentator() code path with tiny random-weight nnU-Net models (slow: about 3-4 min)
test-totalseg: setup-totalseg
	CORONARY_CALCIUM_REQUIRE_TOTALSEG=1 $(BIN)/python -m pytest -q -m slow Testing/region/test_totalseg_end_to_end.py

# CT-FM / RadImageNet extra: CPU torch first, then MONAI and safetensors
EMB_STAMP := $(VENV)/.embeddings
setup-embeddings: $(EMB_STAMP)

$(EMB_STAMP): $(STAMP)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,embeddings]"
	touch $(EMB_STAMP)

# random-weight CT-FM / RadImageNet end to end, weights errors, leakage, comparison, fine-tuning probe (~2.5 min)
test-embeddings: setup-embeddings
	CORONARY_CALCIUM_REQUIRE_EMBEDDINGS=1 $(BIN)/python -m pytest -q -m "slow or not slow" Testing/features/embeddings Testing/classifier/test_embeddings_protocol.py Testing/classifier/test_embeddings_finetune.py

bench-embeddings: setup-embeddings
	$(BIN)/python benchmarks/bench_embeddings.py

# synthetic phantoms + RANDOM weights: shows the comparison pipeline runs, says nothing about performance (~15 min)
demo-embeddings: setup-embeddings
	$(BIN)/coronary-calcium phantom demo-embeddings/cohort --cohort 24 --small --workers 2
	$(BIN)/python -c "from CoronaryCalciumLib.features.embeddings.random_weights import write_random_ctfm as c, write_random_radimagenet as r; c('demo-embeddings/weights/ctfm'); r('demo-embeddings/weights/radimagenet.pt')"
	$(BIN)/coronary-calcium train demo-embeddings/cohort/manifest.csv --out demo-embeddings/run --features radiomics ctfm radimagenet radiomics+ctfm --grid quick --outer-folds 3 --inner-folds 3 --synthetic --no-trust --ctfm-weights demo-embeddings/weights/ctfm --radimagenet-weights demo-embeddings/weights/radimagenet.pt
	$(BIN)/coronary-calcium compare-features demo-embeddings/run/binary --note "Synthetic phantoms and RANDOM-weight embeddings: says nothing about real-data performance"

# the study's contrast experiment on a generated mixed cohort (synthetic: says nothing about real scans); a few
# minutes on 2 cores. The report: demo-contrast/run/binary/report.md
demo-contrast: setup
	$(BIN)/coronary-calcium phantom demo-contrast/cohort --cohort 36 --small --contrast-fraction 0.4 --workers 2 --quiet
	$(BIN)/coronary-calcium train demo-contrast/cohort/manifest.csv --out demo-contrast/run --train-on both --models random_forest --grid quick --outer-folds 3 --inner-folds 3 --bootstrap 200 --jobs 2 --no-cache --synthetic --no-trust --description "SYNTHETIC demo: generated phantoms, 40% contrast-enhanced (make demo-contrast)"

bench-totalseg: setup-totalseg
	$(BIN)/python benchmarks/bench_totalseg_tiny.py
	$(BIN)/python benchmarks/bench_totalseg_regions.py

bench: setup
	$(BIN)/python benchmarks/bench_scoring.py
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_batch.py
	$(BIN)/python benchmarks/bench_speed.py

# retrain the shipped classifiers on a fresh synthetic cohort (about 10 min on 2 cores)
shipped-model: setup
	$(BIN)/python tools/train_shipped_model.py

# Agatston-style vs integrated-intensity mass against physical truth: real QRM scan, replica, noise, cardiac phantoms
bench-mass: setup
	$(BIN)/python benchmarks/bench_integrated_mass.py

bench-phantom: setup
	$(BIN)/python benchmarks/bench_phantom.py

# scoring pipeline vs phantom truth with three region sources (30 phantoms; 19 min on the 2 cores with the cohort kept, 27 under load with it generated)
bench-agreement: setup
	$(BIN)/python benchmarks/bench_agreement.py

# what review costs: edits from the heart-shell result to the exact-mask one, agreement before and after, ms per edit
# (12 small phantoms, 3-5 min on 2 busy cores; not in `make bench`, which holds the quick timing benchmarks)
bench-review: setup
	$(BIN)/python benchmarks/bench_review.py

# heart region per scan protocol (gated 3 mm, chest 3 mm, thin sharp chest, low-dose chest): calcium-free
# specificity, lesion PPV, Agatston vs truth (32 phantoms, about 10-15 min on 2 busy cores)
bench-protocols: setup
	$(BIN)/python benchmarks/bench_protocols.py

# pictures in the README: phantom next to a real CT, the Slicer panel (offscreen Qt), the icon, a reviewed report's
# Review section (headless Chromium) (real Slicer views: make figures-slicer)
figures: setup
	$(BIN)/python tools/make_phantom_figure.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python tools/render_panel.py
	$(BIN)/python tools/make_icon.py
	$(BIN)/python tools/render_reviewed_report.py

# list every module, core and resource file in CoronaryCalcium/CMakeLists.txt (a test checks it)
cmake-lists: setup
	$(BIN)/python tools/update_module_cmake.py

clean:
	rm -rf $(VENV) $(SLICER_VENV) $(FIGURES_VENV) demo-output demo-embeddings .pytest_cache
