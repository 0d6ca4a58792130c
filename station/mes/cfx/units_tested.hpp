#pragma once
// One result of the outbox as an IPC-CFX message, CFX.Production.TestAndInspection.UnitsTested
// in its CFXEnvelope, with the AMQP properties the CFX SDK gives it. Field names and forms
// are the CFX SDK's (IPCConnectedFactoryExchange/CFX: CFXEnvelope.cs, UnitsTested.cs,
// Structures/TestedUnit.cs, Test.cs, Symptom.cs, NumericMeasurement.cs, Operator.cs;
// Transport/AmqpUtilities.cs for the AMQP headers and properties).

#include <cstdint>
#include <map>
#include <string>

#include "station/store/store.hpp"

namespace linestation::mes {

inline constexpr const char* kUnitsTested = "CFX.Production.TestAndInspection.UnitsTested";
// CFXEnvelope.CFXVERSION of the SDK whose UnitsTested has RecipeName and RecipeRevision.
inline constexpr const char* kCfxVersion = "2.1";
// AmqpUtilities.SetHeaders: the content type every CFX message carries.
inline constexpr const char* kCfxContentType = "application/json; charset=\"utf-8\"";

// A slot's UnitPositionNumber: its 1-based place in the fixture.
using SlotPositions = std::map<std::string, int>;

struct CfxMessage {
    // The envelope's UniqueID, also the AMQP message-id. Derived from the station's result
    // id (a name-based UUID), so a result sent twice is recognisable as one.
    std::string unique_id;
    std::string subject;        // "<handle>.<MessageName>", as AmqpUtilities.SetHeaders makes it
    std::int64_t event_ms = 0;  // the verdict's time: the envelope's TimeStamp
    std::string body;           // the envelope, JSON
};

// Throws std::runtime_error when the payload is not the outbox's JSON object.
CfxMessage units_tested_message(const store::OutboxEntry& result, const std::string& handle,
                                const SlotPositions& slots);

// "2026-12-02T04:05:06.789+00:00": CFX wants the time zone in every time.
std::string cfx_time(std::int64_t epoch_ms);
// A name-based (SHA-1, version 5) UUID in LineStation's namespace.
std::string cfx_uuid(const std::string& name);

}  // namespace linestation::mes
