#include "web/recipe_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "station/config/json_reader.hpp"

namespace linestation::web {

namespace fs = std::filesystem;

std::vector<RecipeFile> list_recipe_files(const fs::path& folder) {
    std::vector<RecipeFile> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
        RecipeFile row;
        row.file = entry.path();
        try {
            auto recipe = config::load_recipe(entry.path());
            row.product_id = recipe.product_id;
            row.name = recipe.name;
            row.binding = config::to_string(recipe.binding);
        } catch (const config::ConfigError& e) {
            row.error = e.what();
        }
        out.push_back(std::move(row));
    }
    if (ec) throw std::runtime_error("cannot list " + folder.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(),
              [](const RecipeFile& a, const RecipeFile& b) { return a.file < b.file; });
    return out;
}

bool valid_product_id(const std::string& id) {
    static const std::regex pattern("[a-z0-9][a-z0-9._-]{0,63}");
    return std::regex_match(id, pattern);
}

std::optional<fs::path> recipe_file_for(const fs::path& folder, const std::string& id) {
    for (const auto& row : list_recipe_files(folder)) {
        if (row.product_id == id) return row.file;
    }
    return std::nullopt;
}

config::Recipe parse_recipe_text(const std::string& text, const std::string& label) {
    return config::parse_recipe(config::JsonNode::parse(text, label));
}

config::FixtureConfig parse_fixture_text(const std::string& text, const std::string& label) {
    return config::parse_fixture(config::JsonNode::parse(text, label));
}

namespace {

// Closes the descriptor on every path out.
class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

[[noreturn]] void fail(const std::string& what, const fs::path& file) {
    throw std::runtime_error(what + " " + file.string() + ": " + std::strerror(errno));
}

}  // namespace

void write_file_atomically(const fs::path& file, const std::string& text) {
    auto temp = file;
    temp += ".saving-" + std::to_string(::getpid());
    {
        FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (fd.get() < 0) fail("cannot create", temp);
        std::size_t done = 0;
        while (done < text.size()) {
            auto n = ::write(fd.get(), text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                fs::remove(temp);
                fail("cannot write", temp);
            }
            done += static_cast<std::size_t>(n);
        }
        // The rename must not reach the disk before the content does.
        if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
            fs::remove(temp);
            fail("cannot flush", temp);
        }
    }
    std::error_code ec;
    fs::rename(temp, file, ec);
    if (ec) {
        fs::remove(temp);
        throw std::runtime_error("cannot rename " + temp.string() + ": " + ec.message());
    }
}

std::string read_text_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + file.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace linestation::web
