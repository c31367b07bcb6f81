# The two commands of the README:
#   make demo   installs what is missing, builds, and runs the main job on a
#               demo volume
#   make check  installs what is missing, builds (plain and ASan+UBSan) and
#               runs every test; ends with "N passed, N failed"
BUILD      ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build build-asan demo check check-unit check-e2e bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

demo: build
	scripts/demo.sh $(BUILD)

check: build build-asan
	scripts/check.sh $(BUILD) $(ASAN_BUILD)

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
