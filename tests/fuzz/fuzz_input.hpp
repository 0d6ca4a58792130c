#pragma once
// What every fuzz target shares: the libFuzzer entry point, and a way to stop on a broken
// invariant that shows up as a crash in libFuzzer and as a failed replay under CTest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace linestation::fuzz {

[[noreturn]] inline void broken(const char* target, const char* invariant) {
    std::fprintf(stderr, "fuzz %s: invariant broken: %s\n", target, invariant);
    std::abort();
}

}  // namespace linestation::fuzz
