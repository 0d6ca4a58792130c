// The UnitsTested message and its envelope against the CFX SDK's own documented examples
// (IPCConnectedFactoryExchange/CFX: the "Example 1 (In-Circuit Test of 2 Circuit PCB Panel)"
// of CFX/Production/TestAndInspection/UnitsTested.cs, and the envelope example of
// CFX/CFXEnvelope.cs, copied into tests/mes/golden/): the same fields at every level, the
// same forms, and the station's values where the example has them.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "station/mes/cfx/units_tested.hpp"
#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"

using namespace linestation;
using linestation::testing::TempDir;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

Object::Ptr parse(const std::string& text) {
    return Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
}

Object::Ptr golden(const std::string& name) {
    std::ifstream in(std::string(LS_SOURCE_DIR) + "/tests/mes/golden/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str());
}

std::set<std::string> keys(const Object::Ptr& o) {
    std::set<std::string> out;
    for (const auto& [k, v] : *o) out.insert(k);
    return out;
}

// One unit as the line commits it: a FAIL with its reason, one measurement with limits.
store::OutboxEntry commit(store::Store& s, const std::string& serial, const std::string& slot,
                          const std::string& verdict, const std::string& reason,
                          std::int64_t batch_id) {
    store::UnitRecord u;
    u.station_id = "st-7";
    if (batch_id > 0) u.batch_id = batch_id;
    u.slot = slot;
    u.serial = serial;
    u.product_id = "tuya-ipc-camera";
    u.started_ms = 1'800'000'000'000;
    const auto id = s.begin_unit(u, {{0, 0, 1'800'000'000'000, "flow", R"({"step":"resetting"})"},
                                     {0, 0, 1'800'000'005'000, "flow", R"({"step":"watching"})"}});
    s.finish_unit(id, verdict, reason, R"({"RESISTANCE_MEASUREMENT_R21":28300.0})",
                  1'800'000'032'300,
                  {{"RESISTANCE_MEASUREMENT_R21", 28300.0, "Ohm", 28.0, 28.4, "PASS"}});
    auto pending = s.outbox_pending("golden", 1000);
    return pending.back();
}

}  // namespace

TEST(CfxMessage, EnvelopeAndUnitsTestedHaveTheFieldsOfTheSdksExamples) {
    TempDir dir;
    store::Store s(dir / "s.db");
    const auto entry = commit(s, "PANEL34543535", "A1", "FAIL", "RESFAIL2", 0);
    const auto m = mes::units_tested_message(entry, "LineStation.RMA.st-7", {{"A1", 1}});
    const auto envelope = parse(m.body);

    const auto doc_envelope = golden("cfx_envelope_example.json");
    EXPECT_EQ(keys(envelope), keys(doc_envelope));
    EXPECT_EQ(envelope->getValue<std::string>("MessageName"),
              "CFX.Production.TestAndInspection.UnitsTested");
    EXPECT_EQ(envelope->getValue<std::string>("Version"), "2.1");
    EXPECT_EQ(envelope->getValue<std::string>("Source"), "LineStation.RMA.st-7");
    EXPECT_EQ(envelope->getValue<std::string>("UniqueID"), m.unique_id);
    // The event's time (the verdict's), with its zone, as the envelope's example writes it.
    EXPECT_EQ(envelope->getValue<std::string>("TimeStamp"), "2027-01-15T08:00:32.300+00:00");
    const std::regex cfx_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d)");
    EXPECT_TRUE(std::regex_match(doc_envelope->getValue<std::string>("TimeStamp"), cfx_time));
    EXPECT_TRUE(std::regex_match(envelope->getValue<std::string>("TimeStamp"), cfx_time));
    EXPECT_EQ(m.subject, "LineStation.RMA.st-7.CFX.Production.TestAndInspection.UnitsTested");

    const auto body = envelope->getObject("MessageBody");
    const auto doc = golden("cfx_units_tested_example1.json");
    // The example predates RecipeName and RecipeRevision, which the SDK's UnitsTested has.
    auto doc_keys = keys(doc);
    doc_keys.insert({"RecipeName", "RecipeRevision"});
    EXPECT_EQ(keys(body), doc_keys);
    EXPECT_EQ(body->getValue<std::string>("TestMethod"), doc->getValue<std::string>("TestMethod"));
    EXPECT_EQ(keys(body->getObject("Tester")), keys(doc->getObject("Tester")));
    EXPECT_EQ(keys(body->getObject("SamplingInformation")),
              keys(doc->getObject("SamplingInformation")));
    EXPECT_EQ(body->getObject("SamplingInformation")->getValue<std::string>("SamplingMethod"),
              "NoSampling");

    const auto unit = body->getArray("TestedUnits")->getObject(0);
    const auto doc_unit = doc->getArray("TestedUnits")->getObject(0);
    EXPECT_EQ(keys(unit), keys(doc_unit));
    EXPECT_EQ(unit->getValue<std::string>("UnitIdentifier"), "PANEL34543535");
    EXPECT_EQ(unit->getValue<int>("UnitPositionNumber"), 1);
    EXPECT_EQ(unit->getValue<std::string>("OverallResult"), "Failed");

    const auto doc_passed = doc_unit->getArray("Tests")->getObject(0);
    const auto doc_failed = doc_unit->getArray("Tests")->getObject(1);
    const auto tests = unit->getArray("Tests");
    ASSERT_EQ(tests->size(), 3u);  // resetting, watching, the measurement
    for (unsigned i = 0; i < tests->size(); ++i) {
        EXPECT_EQ(keys(tests->getObject(i)), keys(doc_passed)) << "test " << i;
    }
    EXPECT_EQ(tests->getObject(0)->getValue<std::string>("TestName"), "resetting");
    EXPECT_EQ(tests->getObject(0)->getValue<std::string>("Result"), "Passed");
    EXPECT_EQ(tests->getObject(0)->getValue<std::string>("TestEndTime"),
              "2027-01-15T08:00:05.000+00:00");
    // The step the unit failed in carries the reason code as its symptom.
    const auto failed = tests->getObject(1);
    EXPECT_EQ(failed->getValue<std::string>("Result"), "Failed");
    const auto symptom = failed->getArray("SymptomsFound")->getObject(0);
    const auto doc_symptom = doc_failed->getArray("SymptomsFound")->getObject(0);
    EXPECT_EQ(keys(symptom), keys(doc_symptom));
    EXPECT_EQ(symptom->getValue<std::string>("SymptomCode"),
              doc_symptom->getValue<std::string>("SymptomCode"));

    // The measurement, with its limits, in the example's NumericMeasurement form.
    const auto measured = tests->getObject(2);
    EXPECT_EQ(measured->getValue<std::string>("TestName"), "RESISTANCE_MEASUREMENT_R21");
    const auto measurement = measured->getArray("Measurements")->getObject(0);
    const auto doc_measurement = doc_passed->getArray("Measurements")->getObject(0);
    EXPECT_EQ(keys(measurement), keys(doc_measurement));
    EXPECT_EQ(measurement->getValue<std::string>("$type"),
              doc_measurement->getValue<std::string>("$type"));
    EXPECT_EQ(measurement->getValue<std::string>("MeasurementName"),
              doc_measurement->getValue<std::string>("MeasurementName"));
    EXPECT_EQ(measurement->getValue<std::string>("Result"), "Passed");
    const auto value = measurement->getObject("MeasuredValue");
    const auto doc_value = doc_measurement->getObject("MeasuredValue");
    EXPECT_EQ(keys(value), keys(doc_value));
    for (const char* k : {"Value", "MinimumAcceptableValue", "MaximumAcceptableValue"}) {
        EXPECT_DOUBLE_EQ(value->getValue<double>(k), doc_value->getValue<double>(k)) << k;
    }
    EXPECT_EQ(value->getValue<std::string>("ValueUnits"),
              doc_value->getValue<std::string>("ValueUnits"));
}

TEST(CfxMessage, IdsAreStableSoADuplicateIsRecognisableAndABatchIsOneTransaction) {
    TempDir dir;
    store::Store s(dir / "s.db");
    const auto a = commit(s, "SN-A", "A1", "PASS", "ok", 0);
    const auto b = commit(s, "SN-B", "A2", "INCONCLUSIVE", "camera_lost", 0);
    const auto ma = mes::units_tested_message(a, "h", {});
    EXPECT_EQ(ma.unique_id, mes::units_tested_message(a, "h", {}).unique_id);
    const auto mb = mes::units_tested_message(b, "h", {});
    EXPECT_NE(ma.unique_id, mb.unique_id);
    const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_TRUE(std::regex_match(ma.unique_id, uuid)) << ma.unique_id;
    const auto body_a = parse(ma.body)->getObject("MessageBody");
    const auto body_b = parse(mb.body)->getObject("MessageBody");
    EXPECT_EQ(body_a->getValue<std::string>("TransactionId"),
              body_b->getValue<std::string>("TransactionId"));
    const auto unit_b = body_b->getArray("TestedUnits")->getObject(0);
    EXPECT_EQ(unit_b->getValue<std::string>("OverallResult"), "Error");
    // A slot the fixture does not list has no position rather than a made-up one.
    EXPECT_TRUE(unit_b->isNull("UnitPositionNumber"));
    const auto pass =
        parse(ma.body)->getObject("MessageBody")->getArray("TestedUnits")->getObject(0);
    EXPECT_EQ(pass->getValue<std::string>("OverallResult"), "Passed");
    EXPECT_EQ(pass->getArray("Tests")->getObject(1)->getArray("SymptomsFound")->size(), 0u);
}

TEST(CfxMessage, PayloadThatIsNotJsonIsAClearError) {
    store::OutboxEntry bad;
    bad.result_id = "st-1/4/ab";
    bad.payload = "not json";
    try {
        mes::units_tested_message(bad, "h", {});
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("st-1/4/ab"), std::string::npos) << e.what();
    }
}
