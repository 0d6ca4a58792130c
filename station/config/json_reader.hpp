#pragma once
// Reads JSON configuration while remembering where each value came from, so that
// every error names the file, the JSON path, the value and what was expected:
//   recipes/ipc-camera.json: $.flows.unbind.timeouts.ready_s: expected a positive number, got "ten"

#include <Poco/Dynamic/Var.h>

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace linestation::config {

class ConfigError : public std::runtime_error {
  public:
    ConfigError(std::string file, std::string path, std::string problem);
    const std::string& file() const { return file_; }
    const std::string& path() const { return path_; }
    const std::string& problem() const { return problem_; }

  private:
    std::string file_, path_, problem_;
};

class JsonNode {
  public:
    JsonNode(std::string file, std::string path, Poco::Dynamic::Var value);

    // Comments::Allowed takes // and /* */ comments (the station config, which an installer
    // edits by hand); recipes and fixtures are written by programs too and stay plain JSON.
    enum class Comments { Refused, Allowed };
    static JsonNode parse(const std::string& text, const std::string& file_label,
                          Comments comments = Comments::Refused);
    static JsonNode load(const std::filesystem::path& file, Comments comments = Comments::Refused);

    const std::string& file() const { return file_; }
    const std::string& path() const { return path_; }
    const Poco::Dynamic::Var& raw() const { return value_; }

    bool is_object() const;
    bool is_array() const;
    bool is_null() const;
    bool has(const std::string& key) const;

    // Member access on an object; at() fails when missing.
    JsonNode at(const std::string& key) const;
    std::optional<JsonNode> find(const std::string& key) const;
    std::vector<std::string> keys() const;
    std::vector<JsonNode> items() const;
    // Fails on a member not in `allowed` (catches typos such as "timeout" for "timeouts").
    void allow_only(std::initializer_list<const char*> allowed) const;

    std::string as_string() const;
    std::string as_nonempty_string() const;
    std::string as_one_of(std::initializer_list<const char*> choices) const;
    double as_number() const;
    double as_positive_number() const;
    double as_nonnegative_number() const;
    long long as_int(long long min, long long max) const;
    bool as_bool() const;
    // [lo, hi] with lo <= hi, both >= min_value.
    std::pair<double, double> as_range(double min_value = 0.0) const;

    // Shorthands for optional members with defaults.
    std::string string_or(const std::string& key, const std::string& fallback) const;
    double number_or(const std::string& key, double fallback) const;
    double positive_or(const std::string& key, double fallback) const;
    long long int_or(const std::string& key, long long fallback, long long min,
                     long long max) const;
    bool bool_or(const std::string& key, bool fallback) const;

    [[noreturn]] void fail(const std::string& expected) const;
    [[noreturn]] void fail_problem(const std::string& problem) const;
    // How the value reads in an error message: "ten" (quoted), 12, an object, null.
    std::string describe() const;

  private:
    std::string file_;
    std::string path_;
    Poco::Dynamic::Var value_;
};

}  // namespace linestation::config
