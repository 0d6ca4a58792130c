#pragma once
// The wire frame of the LAN hand-over of a pairing token to a wired gateway, apart from
// its I/O (lan_handover.*). Tuya documents that the app finds a wired gateway by its UDP
// announcement and sends it the activation token over the LAN, but not the frames it
// sends. So this frame, "linestation-lan-1", is ours, not Tuya's: one line of JSON each
// way over TCP. A real gateway needs an adapter that speaks it (see drivers/README.md).
//
// Station -> gateway, one line:
//   {"frame":"linestation-lan-1","gwId":"<id>","region":"AY","token":"<8>","secret":"<4>"}
// Gateway -> station, one line:
//   {"frame":"linestation-lan-1","gwId":"<id>","result":"accepted"}
//   {"frame":"linestation-lan-1","gwId":"<id>","result":"refused","reason":"<words>"}

#include <optional>
#include <string>

namespace linestation::drivers::lan_handover {

inline constexpr const char* kFrame = "linestation-lan-1";

// What a gateway needs to activate with the station's account: the pairing token in the
// three parts the cloud hands out (the QR code's "t" is their concatenation).
struct HandoverRequest {
    std::string gw_id;
    std::string region;  // 2 characters
    std::string token;   // 8 characters
    std::string secret;  // 4 characters
};

struct HandoverAnswer {
    std::string gw_id;
    bool accepted = false;
    std::string reason;  // a refusal's words
};

// The request's line, '\n' included. Throws std::invalid_argument (naming the field) for
// an empty gwId or a part of the token of the wrong length.
std::string encode_request(const HandoverRequest& request);
// Splits the 14-character pairing token (region 2, token 8, secret 4) into a request;
// std::invalid_argument when it is not 14 characters.
HandoverRequest request_for(const std::string& gw_id, const std::string& pairing_token);

// One answer line (its '\n' stripped or not). nullopt with `error` set when it is not this
// frame's answer: not JSON, another frame, no result, or an unknown result.
std::optional<HandoverAnswer> decode_answer(const std::string& line, std::string& error);

}  // namespace linestation::drivers::lan_handover
