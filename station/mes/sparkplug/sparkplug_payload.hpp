#pragma once
// Sparkplug B payloads (Sparkplug 3.0.0, "Payloads"): the Edge Node's births and death, a
// slot's birth and one verdict's data, encoded with the classes protoc generates from
// sparkplug_b.proto.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "station/store/store.hpp"

namespace linestation::mes::sparkplug {

// Sparkplug 3.0.0, "Data Types": the numbers a metric's datatype carries on the wire.
enum class DataType : std::uint32_t {
    Int64 = 4,
    UInt64 = 8,
    Double = 10,
    Boolean = 11,
    String = 12,
};

struct Metric {
    std::string name;
    DataType type = DataType::String;
    // monostate: null (is_null set, no value), as a birth reports a value not known yet.
    std::variant<std::monostate, std::int64_t, std::uint64_t, double, bool, std::string> value;
    std::optional<std::uint64_t> timestamp;
    bool historical = false;
    // A PropertySet of strings, such as {"engUnit", "s"}.
    std::vector<std::pair<std::string, std::string>> properties;
};

struct Payload {
    std::optional<std::uint64_t> timestamp;
    std::optional<std::uint64_t> seq;
    std::vector<Metric> metrics;
};

std::string encode(const Payload& payload);
// Throws std::runtime_error when the bytes are not a Sparkplug B payload.
Payload decode(const std::string& bytes);

// One verdict as a slot (a Sparkplug Device) reports it.
struct SlotVerdict {
    std::string slot;
    std::string result_id;  // the station's own id: a resent verdict is recognisable by it
    std::string serial;
    std::string product;
    std::string verdict;
    std::string reason;
    std::optional<double> cycle_s;  // ended - started
    std::int64_t ended_ms = 0;      // the verdict's time, the metrics' timestamp
};

// Reads an outbox entry's JSON payload; throws std::runtime_error naming the result when it
// is not a result the station wrote.
SlotVerdict read_verdict(const store::OutboxEntry& entry);

// A Sparkplug Device id from a slot name: the characters a topic level cannot hold become '_'.
std::string device_id(const std::string& slot);

// The Node's metrics in its NBIRTH (bdSeq, Node Control/Rebirth) and its NDEATH (bdSeq only).
Payload node_birth(std::uint64_t bd_seq, std::uint64_t now_ms);
Payload node_death(std::uint64_t bd_seq, std::uint64_t now_ms);
// A slot's DBIRTH: every metric its DDATA will carry, with its last verdict or null.
Payload device_birth(const std::optional<SlotVerdict>& last, std::uint64_t seq,
                     std::uint64_t now_ms);
// One verdict's DDATA; `historical`: it waited in the outbox past a session's start.
Payload device_data(const SlotVerdict& verdict, bool historical, std::uint64_t seq,
                    std::uint64_t now_ms);

// The NCMD asks for a new birth sequence ('Node Control/Rebirth' = true).
bool is_rebirth_request(const Payload& ncmd);

}  // namespace linestation::mes::sparkplug
