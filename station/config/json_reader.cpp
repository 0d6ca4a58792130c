#include "station/config/json_reader.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace linestation::config {

namespace {
bool is_identifier(const std::string& key) {
    if (key.empty()) return false;
    for (char c : key) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    }
    return true;
}

std::string member_path(const std::string& base, const std::string& key) {
    if (is_identifier(key)) return base + "." + key;
    std::string quoted;
    for (char c : key) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return base + "[\"" + quoted + "\"]";
}

bool is_number(const Poco::Dynamic::Var& v) {
    return !v.isEmpty() && v.isNumeric() && !v.isBoolean();
}
}  // namespace

ConfigError::ConfigError(std::string file, std::string path, std::string problem)
    : std::runtime_error(file + ": " + path + ": " + problem),
      file_(std::move(file)),
      path_(std::move(path)),
      problem_(std::move(problem)) {}

JsonNode::JsonNode(std::string file, std::string path, Poco::Dynamic::Var value)
    : file_(std::move(file)), path_(std::move(path)), value_(std::move(value)) {}

namespace {

// `text` with its // and /* */ comments (outside strings) turned into spaces. Poco 1.11's
// own comment support drops `//` comments wrongly ("unexpected byte '/'"), so it is not used.
std::string without_comments(const std::string& text, const std::string& file_label) {
    std::string out = text;
    bool in_string = false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const char c = out[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '/' && i + 1 < out.size() && out[i + 1] == '/') {
            for (; i < out.size() && out[i] != '\n'; ++i) out[i] = ' ';
        } else if (c == '/' && i + 1 < out.size() && out[i + 1] == '*') {
            const auto end = out.find("*/", i + 2);
            if (end == std::string::npos) {
                throw ConfigError(file_label, "$", "not valid JSON: a /* comment is not closed");
            }
            for (; i < end + 2; ++i) {
                if (out[i] != '\n') out[i] = ' ';
            }
            --i;
        }
    }
    return out;
}

}  // namespace

JsonNode JsonNode::parse(const std::string& text, const std::string& file_label,
                         Comments comments) {
    Poco::JSON::Parser parser;
    try {
        return JsonNode(
            file_label, "$",
            parser.parse(comments == Comments::Allowed ? without_comments(text, file_label)
                                                       : text));
    } catch (const Poco::Exception& e) {
        throw ConfigError(file_label, "$", "not valid JSON: " + e.message());
    }
}

JsonNode JsonNode::load(const std::filesystem::path& file, Comments comments) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ConfigError(file.string(), "$", "cannot open the file");
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), file.string(), comments);
}

bool JsonNode::is_object() const {
    return value_.type() == typeid(Poco::JSON::Object::Ptr);
}
bool JsonNode::is_array() const {
    return value_.type() == typeid(Poco::JSON::Array::Ptr);
}
bool JsonNode::is_null() const {
    return value_.isEmpty();
}

bool JsonNode::has(const std::string& key) const {
    return is_object() && value_.extract<Poco::JSON::Object::Ptr>()->has(key);
}

std::optional<JsonNode> JsonNode::find(const std::string& key) const {
    if (!is_object()) fail("an object");
    auto obj = value_.extract<Poco::JSON::Object::Ptr>();
    if (!obj->has(key)) return std::nullopt;
    return JsonNode(file_, member_path(path_, key), obj->get(key));
}

JsonNode JsonNode::at(const std::string& key) const {
    auto node = find(key);
    if (!node) {
        throw ConfigError(file_, member_path(path_, key), "missing; this field is required");
    }
    return *node;
}

std::vector<std::string> JsonNode::keys() const {
    if (!is_object()) fail("an object");
    std::vector<std::string> out;
    auto obj = value_.extract<Poco::JSON::Object::Ptr>();
    for (const auto& [key, _] : *obj) out.push_back(key);
    return out;
}

std::vector<JsonNode> JsonNode::items() const {
    if (!is_array()) fail("an array");
    auto arr = value_.extract<Poco::JSON::Array::Ptr>();
    std::vector<JsonNode> out;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        out.emplace_back(file_, path_ + "[" + std::to_string(i) + "]", arr->get(i));
    }
    return out;
}

void JsonNode::allow_only(std::initializer_list<const char*> allowed) const {
    for (const auto& key : keys()) {
        // JSON has no comments: a key starting with "//" is one (the shipped samples use it).
        if (key.rfind("//", 0) == 0) continue;
        bool known = false;
        for (const char* a : allowed) known = known || key == a;
        if (!known) {
            std::string list;
            for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            throw ConfigError(file_, member_path(path_, key),
                              "unknown field; expected one of: " + list);
        }
    }
}

std::string JsonNode::describe() const {
    if (value_.isEmpty()) return "null";
    if (is_object()) return "an object";
    if (is_array()) return "an array";
    if (value_.isBoolean()) return value_.extract<bool>() ? "true" : "false";
    if (value_.isString()) return "\"" + value_.convert<std::string>() + "\"";
    return value_.convert<std::string>();
}

void JsonNode::fail(const std::string& expected) const {
    throw ConfigError(file_, path_, "expected " + expected + ", got " + describe());
}

void JsonNode::fail_problem(const std::string& problem) const {
    throw ConfigError(file_, path_, problem);
}

std::string JsonNode::as_string() const {
    if (!value_.isString()) fail("a string");
    return value_.convert<std::string>();
}

std::string JsonNode::as_nonempty_string() const {
    if (!value_.isString() || value_.convert<std::string>().empty()) fail("a non-empty string");
    return value_.convert<std::string>();
}

std::string JsonNode::as_one_of(std::initializer_list<const char*> choices) const {
    std::string list;
    for (const char* c : choices) list += (list.empty() ? "" : ", ") + std::string("\"") + c + "\"";
    if (!value_.isString()) fail("one of " + list);
    auto text = value_.convert<std::string>();
    for (const char* c : choices) {
        if (text == c) return text;
    }
    fail("one of " + list);
}

double JsonNode::as_number() const {
    if (!is_number(value_)) fail("a number");
    double v = value_.convert<double>();
    if (!std::isfinite(v)) fail("a finite number");
    return v;
}

double JsonNode::as_positive_number() const {
    if (!is_number(value_)) fail("a positive number");
    double v = value_.convert<double>();
    if (!(v > 0) || !std::isfinite(v)) fail("a positive number");
    return v;
}

double JsonNode::as_nonnegative_number() const {
    if (!is_number(value_)) fail("a number >= 0");
    double v = value_.convert<double>();
    if (!(v >= 0) || !std::isfinite(v)) fail("a number >= 0");
    return v;
}

long long JsonNode::as_int(long long min, long long max) const {
    std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!is_number(value_)) fail(expected);
    double v = value_.convert<double>();
    if (v != std::floor(v) || v < static_cast<double>(min) || v > static_cast<double>(max)) {
        fail(expected);
    }
    return static_cast<long long>(v);
}

bool JsonNode::as_bool() const {
    if (!value_.isBoolean()) fail("true or false");
    return value_.extract<bool>();
}

std::pair<double, double> JsonNode::as_range(double min_value) const {
    std::string expected = "a range [low, high] of numbers >= " + std::to_string(min_value);
    if (!is_array()) fail(expected);
    auto parts = items();
    if (parts.size() != 2) fail(expected);
    double lo = parts[0].as_number();
    double hi = parts[1].as_number();
    if (lo < min_value || hi < lo) fail(expected);
    return {lo, hi};
}

std::string JsonNode::string_or(const std::string& key, const std::string& fallback) const {
    auto node = find(key);
    return node ? node->as_string() : fallback;
}

double JsonNode::number_or(const std::string& key, double fallback) const {
    auto node = find(key);
    return node ? node->as_number() : fallback;
}

double JsonNode::positive_or(const std::string& key, double fallback) const {
    auto node = find(key);
    return node ? node->as_positive_number() : fallback;
}

long long JsonNode::int_or(const std::string& key, long long fallback, long long min,
                           long long max) const {
    auto node = find(key);
    return node ? node->as_int(min, max) : fallback;
}

bool JsonNode::bool_or(const std::string& key, bool fallback) const {
    auto node = find(key);
    return node ? node->as_bool() : fallback;
}

}  // namespace linestation::config
