// Feeds every file of the corpus folders on the command line to the fuzz target once, so
// the normal (g++) build replays the committed corpora as a CTest test. A parser that
// crashes, throws what it must not, or breaks an invariant fails the test.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "tests/fuzz/fuzz_input.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " CORPUS_DIR...\n";
        return 2;
    }
    int replayed = 0;
    for (int a = 1; a < argc; ++a) {
        const std::filesystem::path dir = argv[a];
        if (!std::filesystem::is_directory(dir)) {
            std::cerr << dir << ": not a corpus folder\n";
            return 2;
        }
        for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
            if (!entry.is_regular_file()) continue;
            std::ifstream in(entry.path(), std::ios::binary);
            std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                   bytes.size());
            ++replayed;
        }
    }
    if (replayed == 0) {
        std::cerr << "no corpus files: a replay that reads nothing proves nothing\n";
        return 1;
    }
    std::cout << replayed << " corpus files replayed\n";
    return 0;
}
