#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "station/qr/pairing_qr.hpp"

namespace linestation::app {

namespace {

// Written beside the target and renamed, so a reader never sees half a file.
void write_file(const std::filesystem::path& path, const std::string& bytes) {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    auto partial = path;
    partial += ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out.flush()) throw std::runtime_error("cannot write " + partial.string());
    }
    std::filesystem::rename(partial, path);
}

}  // namespace

int run_qr(const Args& args) {
    CommandLine cli("qr",
                    "--ssid S --password P --token T --out FILE.png [--size PX] "
                    "[--svg FILE.svg]",
                    "Writes the pairing QR code the station shows: Tuya's pairing JSON "
                    "{\"s\":ssid,\"p\":password,\"t\":token} at error-correction level M with a "
                    "4-module quiet zone. The code is read back before it is written; one that "
                    "does not read back as its payload is never written.");
    cli.option("ssid", "S", "Wi-Fi network name (1 to 32 bytes)", true)
        .option("password", "P", "Wi-Fi password (0 to 64 bytes; empty for an open network)", true)
        .option("token", "T", "pairing token: region + token + secret, 14 characters", true)
        .option("out", "FILE", "PNG file to write", true)
        .option("size", "PX", "image width and height in pixels (default 600)")
        .option("svg", "FILE", "also write the same code as SVG");
    if (!cli.parse(args, std::cout)) return 0;
    const int size = cli.int_value("size", 600, 64, 8192);
    std::string payload;
    try {
        payload =
            qr::pairing_payload({cli.value("ssid"), cli.value("password"), cli.value("token")});
    } catch (const qr::QrError& e) {
        throw UsageError(std::string("qr: ") + e.what());
    }
    auto code = qr::make_verified_qr(payload, size);
    auto png = code.png();
    const std::filesystem::path out = cli.value("out");
    write_file(out, std::string(png.begin(), png.end()));
    if (cli.has("svg")) write_file(cli.value("svg"), code.svg);
    // The payload holds the Wi-Fi password: it is never printed.
    std::cout << "wrote " << out.string() << ": QR version " << code.version << ", level M, "
              << code.modules << " modules with quiet zone, " << size << "x" << size
              << " px, read back OK" << std::endl;
    return 0;
}

}  // namespace linestation::app
