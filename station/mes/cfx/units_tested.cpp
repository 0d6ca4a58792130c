#include "station/mes/cfx/units_tested.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSONString.h>
#include <Poco/SHA1Engine.h>
#include <Poco/UUID.h>
#include <Poco/UUIDGenerator.h>

#include <ctime>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace linestation::mes {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr object() {
    return Poco::makeShared<Object>(Poco::JSON_PRESERVE_KEY_ORDER);
}
Array::Ptr array() {
    return Poco::makeShared<Array>();
}

std::string text(const Object::Ptr& o, const std::string& key) {
    if (!o->has(key) || o->isNull(key)) return {};
    return o->getValue<std::string>(key);
}

std::optional<std::int64_t> integer(const Object::Ptr& o, const std::string& key) {
    if (!o->has(key) || o->isNull(key)) return std::nullopt;
    return o->getValue<std::int64_t>(key);
}

Var optional_number(const Object::Ptr& o, const std::string& key) {
    if (!o->has(key) || o->isNull(key)) return {};
    return o->getValue<double>(key);
}

Var time_or_null(std::optional<std::int64_t> ms) {
    if (!ms) return {};
    return cfx_time(*ms);
}

// TestResult (Structures/TestResult.cs): Passed, Failed, Error, Aborted, Skipped.
std::string overall_result(const std::string& verdict, const std::string& reason) {
    if (verdict == "PASS") return "Passed";
    if (verdict == "FAIL") return "Failed";
    if (verdict == "INTERRUPTED" || reason == "aborted") return "Aborted";
    return "Error";  // INCONCLUSIVE: the station could not decide
}

std::string record_result(const std::string& outcome) {
    if (outcome == "PASS") return "Passed";
    if (outcome == "FAIL") return "Failed";
    return "Skipped";  // UNSET: not judged
}

struct Step {
    std::string name;
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
};

// The flow's steps from the timeline's "flow" events, each lasting until the next.
std::vector<Step> flow_steps(const Object::Ptr& payload, std::int64_t ended_ms) {
    std::vector<Step> steps;
    auto timeline = payload->getArray("timeline");
    if (!timeline) return steps;
    for (std::size_t i = 0; i < timeline->size(); ++i) {
        auto event = timeline->getObject(static_cast<unsigned>(i));
        if (!event || text(event, "kind") != "flow") continue;
        auto detail = event->getObject("detail");
        if (!detail || !detail->has("step")) continue;
        const auto t = integer(event, "t_ms").value_or(ended_ms);
        if (!steps.empty()) steps.back().end_ms = t;
        steps.push_back({detail->getValue<std::string>("step"), t, ended_ms});
    }
    return steps;
}

Object::Ptr test(const std::string& unique_name, const std::string& name,
                 std::optional<std::int64_t> start, std::optional<std::int64_t> end,
                 const std::string& result) {
    auto t = object();
    t->set("UniqueIdentifier", cfx_uuid(unique_name));
    t->set("TestName", name);
    t->set("TestStartTime", time_or_null(start));
    t->set("TestEndTime", time_or_null(end));
    t->set("TestConditions", array());
    t->set("TestProcedure", Var());
    t->set("Comments", Var());
    t->set("Result", result);
    t->set("Error", Var());
    t->set("SymptomsFound", array());
    t->set("DefectsFound", array());
    t->set("Measurements", array());
    return t;
}

// A failed test shows a symptom, not a defect: the station sees that the unit misbehaved
// (Symptom.cs: "does not identify the actual cause"), the reason code is what it saw.
Object::Ptr symptom(const std::string& result_id, const std::string& reason,
                    const std::string& category) {
    auto s = object();
    s->set("UniqueIdentifier", cfx_uuid(result_id + "/symptom"));
    s->set("SymptomCode", reason);
    s->set("SymptomCategory", category);
    s->set("Description", reason);
    s->set("Comments", Var());
    s->set("ComponentsOfInterest", array());
    s->set("RegionOfInterest", Var());
    s->set("Priority", 1);
    s->set("RelatedMeasurements", array());
    return s;
}

Object::Ptr measurement(const std::string& result_id, const Object::Ptr& record,
                        std::int64_t ended_ms) {
    const auto name = text(record, "name");
    auto value = object();
    value->set("Value", record->getValue<double>("value"));
    value->set("ValueUnits",
               record->has("unit") && !record->isNull("unit") ? Var(text(record, "unit")) : Var());
    value->set("ExpectedValue", Var());
    value->set("ExpectedValueUnits", Var());
    value->set("MinimumAcceptableValue", optional_number(record, "min"));
    value->set("MaximumAcceptableValue", optional_number(record, "max"));
    auto m = object();
    // NumericMeasurement is one kind of the abstract Measurement: the SDK reads "$type".
    m->set("$type", "CFX.Structures.NumericMeasurement, CFX");
    m->set("MeasuredValue", value);
    m->set("UniqueIdentifier", cfx_uuid(result_id + "/measurement/" + name));
    m->set("MeasurementName", name);
    m->set("TimeRecorded", cfx_time(ended_ms));
    m->set("Sequence", 0);
    m->set("Result", record_result(text(record, "outcome")));
    m->set("CRDs", Var());
    return m;
}

std::string stringify(const Object::Ptr& o) {
    std::ostringstream out;
    o->stringify(out);
    return out.str();
}

}  // namespace

std::string cfx_time(std::int64_t epoch_ms) {
    auto seconds = static_cast<std::time_t>(epoch_ms / 1000);
    auto millis = static_cast<int>(epoch_ms % 1000);
    if (millis < 0) {
        millis += 1000;
        --seconds;
    }
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char out[96];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return out;
}

std::string cfx_uuid(const std::string& name) {
    static const Poco::UUID kNamespace("5989ffff-8c0f-4d92-8a71-97c540a96e75");
    Poco::SHA1Engine sha1;
    return Poco::UUIDGenerator::defaultGenerator()
        .createFromName(kNamespace, name, sha1, Poco::UUID::UUID_NAME_BASED_SHA1)
        .toString();
}

CfxMessage units_tested_message(const store::OutboxEntry& result, const std::string& handle,
                                const SlotPositions& slots) {
    Object::Ptr payload;
    try {
        payload = Poco::JSON::Parser().parse(result.payload).extract<Object::Ptr>();
    } catch (const std::exception& e) {
        throw std::runtime_error("outbox result " + result.result_id +
                                 ": payload is not a JSON object (" + e.what() + ")");
    }
    const auto& id = result.result_id;
    const auto verdict = text(payload, "verdict");
    const auto reason = text(payload, "reason");
    const auto ended_ms = integer(payload, "ended_ms").value_or(result.created_ms);
    const auto started_ms = integer(payload, "started_ms");
    const auto overall = overall_result(verdict, reason);
    const auto batch_kind = text(payload, "batch_kind");

    auto tests = array();
    auto steps = flow_steps(payload, ended_ms);
    if (steps.empty())
        steps.push_back(
            {batch_kind.empty() ? "test" : batch_kind, started_ms.value_or(ended_ms), ended_ms});
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const bool last = i + 1 == steps.size();
        auto t = test(id + "/step/" + std::to_string(i), steps[i].name, steps[i].start_ms,
                      steps[i].end_ms, last ? overall : "Passed");
        if (last && overall != "Passed" && !reason.empty()) {
            t->getArray("SymptomsFound")->add(symptom(id, reason, batch_kind));
        }
        tests->add(t);
    }
    // One test per measurement, as the SDK's in-circuit example has it, with its limits.
    if (auto records = payload->getArray("records")) {
        for (std::size_t i = 0; i < records->size(); ++i) {
            auto record = records->getObject(static_cast<unsigned>(i));
            if (!record) continue;
            const auto name = text(record, "name");
            auto t = test(id + "/measured/" + name, name, std::nullopt, ended_ms,
                          record_result(text(record, "outcome")));
            if (record->has("value") && !record->isNull("value")) {
                t->getArray("Measurements")->add(measurement(id, record, ended_ms));
            }
            tests->add(t);
        }
    }

    auto unit = object();
    unit->set("UnitIdentifier", text(payload, "serial"));
    const auto slot = slots.find(text(payload, "slot"));
    unit->set("UnitPositionNumber", slot == slots.end() ? Var() : Var(slot->second));
    unit->set("OverallResult", overall);
    unit->set("Tests", tests);
    auto units = array();
    units->add(unit);

    const auto login = text(payload, "operator");
    auto tester = object();
    tester->set("OperatorIdentifier", login);
    tester->set("ActorType", "Human");
    tester->set("LastName", Var());
    tester->set("FirstName", Var());
    tester->set("LoginName", login);

    auto sampling = object();
    sampling->set("SamplingMethod", "NoSampling");
    sampling->set("LotSize", Var());
    sampling->set("SampleSize", Var());

    auto body = object();
    // The batch is the work transaction: every unit of it carries the same id.
    body->set("TransactionId", cfx_uuid(text(payload, "station_id") + "/batch/" +
                                        std::to_string(integer(payload, "batch_id").value_or(0))));
    body->set("TestMethod", "Automated");
    body->set("Tester", tester);
    body->set("RecipeName", text(payload, "recipe"));
    body->set("RecipeRevision", text(payload, "recipe_sha256"));
    body->set("SamplingInformation", sampling);
    body->set("TestedUnits", units);

    CfxMessage m;
    m.unique_id = cfx_uuid(id);
    m.subject = handle + "." + kUnitsTested;
    m.event_ms = ended_ms;
    auto envelope = object();
    envelope->set("MessageName", kUnitsTested);
    envelope->set("Version", kCfxVersion);
    envelope->set("TimeStamp", cfx_time(ended_ms));
    envelope->set("UniqueID", m.unique_id);
    envelope->set("Source", handle);
    envelope->set("Target", Var());
    envelope->set("RequestID", Var());
    envelope->set("MessageBody", body);
    m.body = stringify(envelope);
    return m;
}

}  // namespace linestation::mes
