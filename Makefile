# wxflow developer entry points. `make run` serves the app on the embedded defaults;
# `make test` lints and runs the test suite. Both build .venv first when needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OPENCV_HEADLESS := opencv-python-headless==4.11.0.86
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: venv run test lint clean distclean

venv: $(STAMP)

# mediapipe pulls opencv-contrib-python, which shares the cv2 folder with the headless build:
# uninstalling one breaks the other until the headless wheel is force-reinstalled. Exactly one
# opencv distribution (headless) must remain.
$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip wheel setuptools
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip uninstall -y opencv-python opencv-contrib-python
	$(BIN)/python -m pip install --force-reinstall --no-deps $(OPENCV_HEADLESS)
	$(BIN)/python -c "import cv2, mediapipe, insightface, onnxruntime, av; print('cv2', cv2.__version__)"
	@dists="$$($(BIN)/python -m pip list --format=freeze | grep -i '^opencv' || true)"; \
	if [ "$$dists" != "$(OPENCV_HEADLESS)" ]; then \
		echo "expected only $(OPENCV_HEADLESS), found:"; echo "$$dists"; exit 1; \
	fi
	touch $@

run: venv
	mkdir -p var
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app serve --host $(HOST) --port $(PORT)

# Python suite (SQLite and PostgreSQL, real Redis, real models), then the mini-program's jest suite.
test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	cd miniprogram && npm ci --no-audit --no-fund && npx jest --ci

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf var .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) miniprogram/node_modules
