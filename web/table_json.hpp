#pragma once
// A report Table as the dashboard's JSON: {"name", "columns": [..], "rows": [[..]]}, null
// for an empty cell. The station's API and the fleet's answer in this one shape.

#include <Poco/JSON/Object.h>

#include "station/reports/supervisor.hpp"

namespace linestation::web {

Poco::JSON::Object::Ptr table_object(const reports::Table& table);

}  // namespace linestation::web
