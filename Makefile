# LineStation: `make run` and `make test` are the two commands a newcomer needs.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
WERROR ?= $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test bench soak fuzz format clean

all: build

deps:
	@bash scripts/install-deps

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DLS_WERROR=$(WERROR) $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/CMakeCache.txt

build: configure
	cmake --build $(BUILD_DIR) --parallel $(JOBS)

run: build
	$(BUILD_DIR)/bin/station serve $(if $(CONFIG),--config $(CONFIG),)

test: build
	@bash scripts/test-deps
	cd $(BUILD_DIR) && ctest --output-on-failure --parallel $(JOBS) --timeout 900

bench: build
	@for b in $(BUILD_DIR)/bin/bench_*; do echo "== $$b"; $$b; done

# Long runs kept out of `make test`: the station killed 50 times mid-batch against the
# twins in their own process (about 15 minutes).
soak: build
	LS_LEDGER_KILLS=50 $(BUILD_DIR)/bin/test_line_twins --gtest_filter='TwinsProcess.Kills*'

# libFuzzer targets for every parser of outside input (tests/fuzz), in their own clang
# build; each runs FUZZ_SECONDS on its seed corpus. Fails on a crash.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60

fuzz: deps
	cmake -S . -B $(FUZZ_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DLS_FUZZ=ON -DLS_BUILD_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD_DIR) --parallel $(JOBS) --target fuzz_targets
	@bash scripts/run-fuzz $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

format:
	find station drivers fixtures web tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
