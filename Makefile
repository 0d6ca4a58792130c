# LineStation: `make run` and `make test` are the two commands a newcomer needs.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
WERROR ?= $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test test-long test-sanitize bench soak fuzz format clean install package

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
	cd $(BUILD_DIR) && ctest --output-on-failure --parallel $(JOBS) --timeout 900 --label-exclude long

# The long runs (label `long`: 50 kill -9 runs of a shift on one store), kept out of
# `make test` so that it stays under 20 minutes.
test-long: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 1800 --label-regex long

# The whole suite built with ASan + UBSan (g++) in its own build dir; any report fails.
SANITIZE_BUILD_DIR ?= build-asan
# The test shims (pty, umockdev) are LD_PRELOADed ahead of the ASan runtime, which is fine.
SANITIZE_ASAN_OPTIONS ?= detect_leaks=1:verify_asan_link_order=0:strict_string_checks=1

test-sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLS_SANITIZE=ON \
	  -DLS_WERROR=$(WERROR) $(CMAKE_FLAGS)
	cmake --build $(SANITIZE_BUILD_DIR) --parallel $(JOBS)
	@bash scripts/test-deps
	cd $(SANITIZE_BUILD_DIR) && ASAN_OPTIONS=$(SANITIZE_ASAN_OPTIONS) \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --parallel $(JOBS) --timeout 1800 --label-exclude long

bench: build
	@for b in $(BUILD_DIR)/bin/bench_*; do echo "== $$b"; $$b; done

# Long runs kept out of `make test`: the station killed 50 times mid-batch against the
# twins in their own process (about 15 minutes).
soak: build
	LS_LEDGER_KILLS=50 $(BUILD_DIR)/bin/test_line_twins --gtest_filter='TwinsProcess.Kills*'

# The station as a service: binary, web UI, recipes, fixtures, systemd unit, udev rules and
# a sample config (deploy/CMakeLists.txt). `make install DESTDIR=/tmp/root PREFIX=/usr`
# stages it. The unit and the sample config name their paths, so the prefix is configured.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc

install: configure
	cmake -S . -B $(BUILD_DIR) -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DCMAKE_INSTALL_SYSCONFDIR=$(SYSCONFDIR)
	cmake --build $(BUILD_DIR) --parallel $(JOBS) --target station ls_web_ui
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR)

# The Debian package (CPack): /usr, config in /etc; written to $(BUILD_DIR)/packages/.
package: configure
	cmake -S . -B $(BUILD_DIR) -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc
	cmake --build $(BUILD_DIR) --parallel $(JOBS) --target station ls_web_ui
	cd $(BUILD_DIR) && cpack -G DEB

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
