#pragma once
// The store's schema as numbered migrations. Migration N moves a file from
// user_version N-1 to N; a file newer than the last migration is refused.

#include <span>
#include <string_view>

namespace linestation::store {

struct Migration {
    int version;
    std::string_view description;
    std::string_view sql;
};

std::span<const Migration> migrations();
int latest_schema_version();

}  // namespace linestation::store
