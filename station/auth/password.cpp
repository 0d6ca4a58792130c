#include "station/auth/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>

#include <sstream>
#include <stdexcept>
#include <vector>

namespace linestation::auth {

namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

std::string base64(const std::vector<unsigned char>& bytes) {
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
    encoder.close();
    return out.str();
}

std::vector<unsigned char> unbase64(const std::string& text) {
    std::istringstream in(text);
    Poco::Base64Decoder decoder(in);
    std::vector<unsigned char> out;
    char c;
    while (decoder.get(c)) out.push_back(static_cast<unsigned char>(c));
    return out;
}

std::vector<unsigned char> derive(const std::string& password, const std::vector<unsigned char>& salt,
                                  int iterations) {
    std::vector<unsigned char> out(kHashBytes);
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                          static_cast<int>(salt.size()), iterations, EVP_sha256(),
                          static_cast<int>(out.size()), out.data()) != 1) {
        throw std::runtime_error("PBKDF2 failed");
    }
    return out;
}

}  // namespace

std::string hash_password(const std::string& password, int iterations) {
    std::vector<unsigned char> salt(kSaltBytes);
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
        throw std::runtime_error("no random bytes for a password salt");
    }
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + base64(salt) + "$" +
           base64(derive(password, salt, iterations));
}

bool verify_password(const std::string& password, const std::string& stored_hash) {
    try {
        const std::string prefix = "pbkdf2-sha256$";
        if (stored_hash.rfind(prefix, 0) != 0) return false;
        auto rest = stored_hash.substr(prefix.size());
        auto d1 = rest.find('$');
        auto d2 = rest.find('$', d1 + 1);
        if (d1 == std::string::npos || d2 == std::string::npos) return false;
        int iterations = std::stoi(rest.substr(0, d1));
        if (iterations < 1000 || iterations > 10000000) return false;
        auto salt = unbase64(rest.substr(d1 + 1, d2 - d1 - 1));
        auto expected = unbase64(rest.substr(d2 + 1));
        if (salt.empty() || expected.size() != kHashBytes) return false;
        auto actual = derive(password, salt, iterations);
        return CRYPTO_memcmp(actual.data(), expected.data(), kHashBytes) == 0;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace linestation::auth
