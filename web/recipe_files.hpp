#pragma once
// The station's recipe and fixture files as the admin pages edit them: listed one file at
// a time (a broken file does not hide the others), validated with the same parser the
// station loads them with, and written atomically so a crash never leaves half a recipe.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "station/config/fixture.hpp"
#include "station/config/recipe.hpp"

namespace linestation::web {

struct RecipeFile {
    std::filesystem::path file;
    std::string product_id;  // empty when the file does not load
    std::string name;
    std::string binding;
    std::string error;  // the ConfigError message when the file does not load
};

// Every *.json in `folder`, sorted by file name.
std::vector<RecipeFile> list_recipe_files(const std::filesystem::path& folder);

// Product ids double as file names: [a-z0-9][a-z0-9._-]{0,63}, so no path can be formed.
bool valid_product_id(const std::string& id);

// The file that holds `id` in `folder`, if one loads with that product id.
std::optional<std::filesystem::path> recipe_file_for(const std::filesystem::path& folder,
                                                     const std::string& id);

// Parses `text` as a recipe, reporting errors against `label` (e.g. "recipes/x.json");
// throws config::ConfigError.
config::Recipe parse_recipe_text(const std::string& text, const std::string& label);
config::FixtureConfig parse_fixture_text(const std::string& text, const std::string& label);

// Writes a temporary file beside `file`, flushes it and renames it over `file`.
void write_file_atomically(const std::filesystem::path& file, const std::string& text);

std::string read_text_file(const std::filesystem::path& file);

}  // namespace linestation::web
