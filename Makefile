# Every target reuses the virtual environment that `make setup` creates in .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned to the CPU wheel here; the package itself only asks for a range. On
# Linux, PyPI's torch is the CUDA build (gigabytes of nvidia-* packages). So setup first
# takes a torch wheel pip finds without any index (a local one, through pip's find-links),
# and only when there is none asks PyTorch's CPU index (pip takes 2.13.0+cpu over 2.13.0);
# the second step then finds torch installed. For CUDA: make setup TORCH_PIN=torch TORCH_INDEX=
TORCH_PIN ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PIP_TORCH := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
DEMO_MODEL_STEPS ?= 13000
DEMO_MODEL_FROZEN_STEPS ?= 1700

.PHONY: setup test test-wheel lint bench cuda-check demo demo-model eval examples serve clean

$(BIN)/animate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install --no-index --no-deps "$(TORCH_PIN)" 2>/dev/null \
		|| $(BIN)/pip install $(PIP_TORCH) "$(TORCH_PIN)"
	$(BIN)/pip install -e ".[dev,web]" "$(TORCH_PIN)"
	touch $(BIN)/animate

setup: $(BIN)/animate

test: setup
	$(BIN)/python -m pytest -q

# Build the wheel, install it into a fresh venv outside the repository, run the Quickstart.
test-wheel: setup
	$(BIN)/python -m pytest -q -m slow tests/packaging

lint: setup
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

# Speed, memory, exactness and robustness tables (not tests; run alone on the machine).
# The upscaler rows time the ncnn runtime beside ours: it needs libvulkan1 and libomp5
# (apt-get install -y libvulkan1 libomp5), else its column says why it is missing.
bench: setup
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_serve.py
	$(BIN)/python scripts/bench_upscale.py --models realesr-animevideov3-x2,realesr-animevideov3-x3,realesr-animevideov3-x4
	$(BIN)/python scripts/bench_upscale.py --size 64 --models realesrgan-x4plus,realesrgan-x4plus-anime
	$(BIN)/python scripts/bench_watermark.py
	$(BIN)/python scripts/bench_marks_cost.py

# The CUDA path, where a GPU is: its tests (skipped without one), then one prepared run of
# the GPU checks (pixels against the CPU, model and whole-job speed, NVENC/NVDEC; a few
# minutes; with $OUT set it also writes its table and JSON there). Set up with a CUDA build
# of torch there, e.g. `make cuda-check TORCH_PIN=torch` in a fresh clone.
cuda-check: setup
	$(BIN)/python -m pytest -q -rs tests/engine/fomm/test_cuda.py tests/engine/tpsmm/test_cuda.py tests/cli/test_cuda.py tests/engine/test_transfer.py tests/engine/test_graphs.py
	$(BIN)/python scripts/cuda_checks.py

demo: setup
	$(BIN)/animate examples/source.png examples/driving.mp4 -o out.mp4 --overwrite

# The web page on http://127.0.0.1:7860/ (Ctrl-C stops it).
serve: setup
	$(BIN)/animate serve

# Regenerate examples/ (procedural, held-out split; nothing downloaded).
examples: setup
	$(BIN)/python scripts/make_examples.py

# Retrain the bundled model from scratch (resumable; see checkpoints/README.md).
demo-model: setup
	$(BIN)/python scripts/train_demo_model.py --steps $(DEMO_MODEL_STEPS) --frozen-steps $(DEMO_MODEL_FROZEN_STEPS)

eval: setup
	$(BIN)/animate eval

clean:
	rm -rf $(VENV) .pytest_cache
