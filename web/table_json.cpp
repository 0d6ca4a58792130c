#include "web/table_json.hpp"

#include <Poco/JSON/Array.h>

namespace linestation::web {

Poco::JSON::Object::Ptr table_object(const reports::Table& table) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;  // Poco::SharedPtr owns it
    o->set("name", table.name);
    Poco::JSON::Array::Ptr columns = new Poco::JSON::Array;  // Poco::SharedPtr owns it
    for (const auto& c : table.columns) columns->add(c);
    o->set("columns", columns);
    Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;  // Poco::SharedPtr owns it
    for (const auto& row : table.rows) {
        Poco::JSON::Array::Ptr r = new Poco::JSON::Array;  // Poco::SharedPtr owns it
        for (const auto& cell : row) {
            std::visit(
                [&](const auto& v) {
                    using V = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<V, std::monostate>) {
                        r->add(Poco::Dynamic::Var());
                    } else {
                        r->add(v);
                    }
                },
                cell);
        }
        rows->add(r);
    }
    o->set("rows", rows);
    return o;
}

}  // namespace linestation::web
