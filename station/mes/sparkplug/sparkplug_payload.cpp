#include "station/mes/sparkplug/sparkplug_payload.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <stdexcept>

#include "sparkplug_b.pb.h"

namespace linestation::mes::sparkplug {

namespace {

namespace pb = org::eclipse::tahu::protobuf;

// Metric names of the Node and of each slot (Device). 'bdSeq' and 'Node Control/Rebirth' are
// the names Sparkplug 3.0.0 requires in NBIRTH and NDEATH.
constexpr const char* kBdSeq = "bdSeq";
constexpr const char* kRebirth = "Node Control/Rebirth";

void fill(pb::Payload_Metric& out, const Metric& m) {
    out.set_name(m.name);
    out.set_datatype(static_cast<std::uint32_t>(m.type));
    if (m.timestamp) out.set_timestamp(*m.timestamp);
    if (m.historical) out.set_is_historical(true);
    if (!m.properties.empty()) {
        auto* props = out.mutable_properties();
        for (const auto& [key, text] : m.properties) {
            props->add_keys(key);
            auto* v = props->add_values();
            v->set_type(static_cast<std::uint32_t>(DataType::String));
            v->set_string_value(text);
        }
    }
    std::visit(
        [&out](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                out.set_is_null(true);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                // Sparkplug carries Int64 in long_value as its two's complement.
                out.set_long_value(static_cast<std::uint64_t>(v));
            } else if constexpr (std::is_same_v<T, std::uint64_t>) {
                out.set_long_value(v);
            } else if constexpr (std::is_same_v<T, double>) {
                out.set_double_value(v);
            } else if constexpr (std::is_same_v<T, bool>) {
                out.set_boolean_value(v);
            } else {
                out.set_string_value(v);
            }
        },
        m.value);
}

Metric read(const pb::Payload_Metric& in) {
    Metric m;
    m.name = in.name();
    m.type = static_cast<DataType>(in.datatype());
    if (in.has_timestamp()) m.timestamp = in.timestamp();
    m.historical = in.is_historical();
    switch (in.value_case()) {
        case pb::Payload_Metric::kLongValue:
            if (m.type == DataType::Int64) {
                m.value = static_cast<std::int64_t>(in.long_value());
            } else {
                m.value = in.long_value();
            }
            break;
        case pb::Payload_Metric::kIntValue:
            m.value = static_cast<std::uint64_t>(in.int_value());
            break;
        case pb::Payload_Metric::kDoubleValue:
            m.value = in.double_value();
            break;
        case pb::Payload_Metric::kFloatValue:
            m.value = static_cast<double>(in.float_value());
            break;
        case pb::Payload_Metric::kBooleanValue:
            m.value = in.boolean_value();
            break;
        case pb::Payload_Metric::kStringValue:
            m.value = in.string_value();
            break;
        default:
            break;  // null, or a kind the station never receives
    }
    return m;
}

Metric string_metric(const char* name, std::optional<std::string> value,
                     std::optional<std::uint64_t> at, bool historical) {
    Metric m{name, DataType::String, {}, at, historical, {}};
    if (value) m.value = std::move(*value);
    return m;
}

std::vector<Metric> slot_metrics(const std::optional<SlotVerdict>& v, bool historical) {
    const std::optional<std::uint64_t> at =
        v ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(v->ended_ms)) : std::nullopt;
    auto text = [&v](const std::string SlotVerdict::*field) -> std::optional<std::string> {
        if (!v) return std::nullopt;
        return (*v).*field;
    };
    std::vector<Metric> out;
    out.push_back(string_metric("Verdict", text(&SlotVerdict::verdict), at, historical));
    out.push_back(string_metric("Reason", text(&SlotVerdict::reason), at, historical));
    Metric cycle{"Cycle Time", DataType::Double, {}, at, historical, {{"engUnit", "s"}}};
    if (v && v->cycle_s) cycle.value = *v->cycle_s;
    out.push_back(std::move(cycle));
    out.push_back(string_metric("Serial", text(&SlotVerdict::serial), at, historical));
    out.push_back(string_metric("Product", text(&SlotVerdict::product), at, historical));
    out.push_back(string_metric("Result ID", text(&SlotVerdict::result_id), at, historical));
    return out;
}

std::string text_or_empty(const Poco::JSON::Object& o, const std::string& key) {
    if (!o.has(key) || o.isNull(key)) return "";
    return o.getValue<std::string>(key);
}

}  // namespace

std::string encode(const Payload& payload) {
    pb::Payload out;
    if (payload.timestamp) out.set_timestamp(*payload.timestamp);
    if (payload.seq) out.set_seq(*payload.seq);
    for (const auto& m : payload.metrics) fill(*out.add_metrics(), m);
    return out.SerializeAsString();
}

Payload decode(const std::string& bytes) {
    pb::Payload in;
    if (!in.ParseFromString(bytes)) {
        throw std::runtime_error("not a Sparkplug B payload (" + std::to_string(bytes.size()) +
                                 " bytes)");
    }
    Payload p;
    if (in.has_timestamp()) p.timestamp = in.timestamp();
    if (in.has_seq()) p.seq = in.seq();
    for (const auto& m : in.metrics()) p.metrics.push_back(read(m));
    return p;
}

SlotVerdict read_verdict(const store::OutboxEntry& entry) {
    try {
        Poco::JSON::Parser parser;
        const auto root = parser.parse(entry.payload).extract<Poco::JSON::Object::Ptr>();
        SlotVerdict v;
        v.result_id = entry.result_id;
        v.slot = text_or_empty(*root, "slot");
        v.serial = text_or_empty(*root, "serial");
        v.product = text_or_empty(*root, "product_id");
        v.verdict = text_or_empty(*root, "verdict");
        v.reason = text_or_empty(*root, "reason");
        v.ended_ms = root->has("ended_ms") && !root->isNull("ended_ms")
                         ? root->getValue<std::int64_t>("ended_ms")
                         : entry.created_ms;
        if (root->has("started_ms") && !root->isNull("started_ms")) {
            v.cycle_s =
                static_cast<double>(v.ended_ms - root->getValue<std::int64_t>("started_ms")) /
                1000.0;
        }
        if (v.slot.empty()) throw std::runtime_error("no slot");
        return v;
    } catch (const std::exception& e) {
        throw std::runtime_error("outbox result " + entry.result_id +
                                 " is not a station result: " + e.what());
    }
}

std::string device_id(const std::string& slot) {
    std::string id = slot;
    for (auto& c : id) {
        if (c == '/' || c == '+' || c == '#') c = '_';
    }
    return id;
}

Payload node_birth(std::uint64_t bd_seq, std::uint64_t now_ms) {
    Payload p{now_ms, 0, {}};
    p.metrics.push_back(
        {kBdSeq, DataType::Int64, static_cast<std::int64_t>(bd_seq), now_ms, false, {}});
    p.metrics.push_back({kRebirth, DataType::Boolean, false, now_ms, false, {}});
    return p;
}

Payload node_death(std::uint64_t bd_seq, std::uint64_t now_ms) {
    // No seq: Sparkplug 3.0.0 forbids one in NDEATH.
    Payload p{now_ms, std::nullopt, {}};
    p.metrics.push_back(
        {kBdSeq, DataType::Int64, static_cast<std::int64_t>(bd_seq), now_ms, false, {}});
    return p;
}

Payload device_birth(const std::optional<SlotVerdict>& last, std::uint64_t seq,
                     std::uint64_t now_ms) {
    return {now_ms, seq, slot_metrics(last, false)};
}

Payload device_data(const SlotVerdict& verdict, bool historical, std::uint64_t seq,
                    std::uint64_t now_ms) {
    return {now_ms, seq, slot_metrics(verdict, historical)};
}

bool is_rebirth_request(const Payload& ncmd) {
    for (const auto& m : ncmd.metrics) {
        if (m.name == kRebirth && std::holds_alternative<bool>(m.value) &&
            std::get<bool>(m.value)) {
            return true;
        }
    }
    return false;
}

}  // namespace linestation::mes::sparkplug
