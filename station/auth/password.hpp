#pragma once
// Password hashes for dashboard users: salted PBKDF2-HMAC-SHA256 (OpenSSL), stored as
//   pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>

#include <string>

namespace linestation::auth {

inline constexpr int kDefaultPbkdf2Iterations = 120000;

std::string hash_password(const std::string& password, int iterations = kDefaultPbkdf2Iterations);
// Constant-time comparison; false for a malformed stored hash.
bool verify_password(const std::string& password, const std::string& stored_hash);

}  // namespace linestation::auth
