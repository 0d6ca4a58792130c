#include "station/cloud/signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

namespace linestation::cloud {

namespace {

std::string hex(const unsigned char* data, std::size_t size, bool upper) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(digits[data[i] >> 4]);
        out.push_back(digits[data[i] & 0x0f]);
    }
    return out;
}

}  // namespace

std::string sha256_hex(const std::string& data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed (OpenSSL)");
    }
    return hex(digest.data(), size, false);
}

std::string hmac_sha256_upper(const std::string& key, const std::string& message) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
             &size) == nullptr) {
        throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
    }
    return hex(digest.data(), size, true);
}

std::string sorted_url(const std::string& path,
                       const std::multimap<std::string, std::string>& query) {
    std::string url = path;
    char separator = '?';
    for (const auto& [key, value] : query) {
        url += separator;
        url += key;
        url += '=';
        url += value;
        separator = '&';
    }
    return url;
}

std::string string_to_sign(const SignedRequest& request) {
    std::string headers;
    for (const auto& [name, value] : request.headers) headers += name + ":" + value + "\n";
    return request.method + "\n" + sha256_hex(request.body) + "\n" + headers + "\n" + request.url;
}

std::string tuya_sign(const std::string& client_id, const std::string& secret,
                      const std::string& access_token, std::int64_t t_ms, const std::string& nonce,
                      const SignedRequest& request) {
    return hmac_sha256_upper(
        secret, client_id + access_token + std::to_string(t_ms) + nonce + string_to_sign(request));
}

}  // namespace linestation::cloud
