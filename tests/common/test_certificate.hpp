#pragma once
// A self-signed certificate for 127.0.0.1, made by the openssl tool for one test only.

#include <stdexcept>
#include <string>

#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

namespace linestation::testing {

struct TestCertificate {
    TempDir dir;
    std::string certificate = (dir / "cert.pem").string();
    std::string key = (dir / "key.pem").string();
    TestCertificate() {
        auto made =
            run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                         "-keyout", key, "-out", certificate, "-days", "2", "-subj",
                         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
        if (made.exit_code != 0) throw std::runtime_error("openssl req failed: " + made.err);
    }
};

}  // namespace linestation::testing
