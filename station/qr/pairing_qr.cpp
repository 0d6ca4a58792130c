#include "station/qr/pairing_qr.hpp"

// zxing-cpp 1.4: the UTF-8 text()/ecLevel() it announces for its next release.
#define ZX_USE_UTF8 1
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <ZXing/DecodeHints.h>
#include <ZXing/ReadBarcode.h>
#include <qrencode.h>

#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

namespace linestation::qr {

namespace {

// Length of the UTF-8 sequence at `i`, or 0 when it is not well formed.
std::size_t utf8_sequence(const std::string& text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    unsigned min = 0;
    unsigned code = 0;
    if (lead < 0x80) return 1;
    if ((lead & 0xe0) == 0xc0) {
        length = 2, min = 0x80, code = lead & 0x1fu;
    } else if ((lead & 0xf0) == 0xe0) {
        length = 3, min = 0x800, code = lead & 0x0fu;
    } else if ((lead & 0xf8) == 0xf0) {
        length = 4, min = 0x10000, code = lead & 0x07u;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80) return 0;
        code = (code << 6) | (byte(i + k) & 0x3fu);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
    return length;
}

void check_text(const std::string& field, const std::string& value, std::size_t min_bytes,
                std::size_t max_bytes) {
    if (value.size() < min_bytes || value.size() > max_bytes) {
        throw QrError("pairing QR: " + field + ": expected " + std::to_string(min_bytes) + " to " +
                      std::to_string(max_bytes) + " bytes, got " + std::to_string(value.size()));
    }
    for (std::size_t i = 0; i < value.size();) {
        auto n = utf8_sequence(value, i);
        if (n == 0) {
            throw QrError("pairing QR: " + field + ": not valid UTF-8 at byte " +
                          std::to_string(i));
        }
        i += n;
    }
}

struct QrcodeFree {
    void operator()(QRcode* code) const { QRcode_free(code); }
};

}  // namespace

std::string pairing_payload(const PairingInfo& info) {
    check_text("ssid", info.ssid, 1, 32);
    check_text("password", info.password, 0, 64);
    if (info.token.size() != 14 ||
        info.token.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") !=
            std::string::npos) {
        throw QrError(
            "pairing QR: token: expected 14 letters or digits (region 2 + token 8 + "
            "secret 4), got " +
            std::to_string(info.token.size()) + " characters");
    }
    // Poco keeps the key order asked for and escapes quotes, backslashes and control
    // characters; other UTF-8 stays raw.
    Poco::JSON::Object payload(Poco::JSON_PRESERVE_KEY_ORDER);
    payload.set("s", info.ssid);
    payload.set("p", info.password);
    payload.set("t", info.token);
    std::ostringstream out;
    payload.stringify(out);
    return out.str();
}

std::optional<PairingInfo> parse_pairing_payload(const std::string& payload) {
    try {
        auto object = Poco::JSON::Parser().parse(payload).extract<Poco::JSON::Object::Ptr>();
        if (!object) return std::nullopt;
        for (const char* key : {"s", "p", "t"}) {
            if (!object->has(key) || !object->get(key).isString()) return std::nullopt;
        }
        return PairingInfo{object->getValue<std::string>("s"), object->getValue<std::string>("p"),
                           object->getValue<std::string>("t")};
    } catch (const Poco::Exception&) {
        return std::nullopt;
    }
}

QrMatrix QrMatrix::encode(const std::string& payload) {
    if (payload.empty() || payload.find('\0') != std::string::npos) {
        throw QrError("QR payload must be non-empty text without NUL bytes");
    }
    std::unique_ptr<QRcode, QrcodeFree> code(
        QRcode_encodeString(payload.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
    if (!code) {
        throw QrError("QR payload of " + std::to_string(payload.size()) +
                      " bytes does not fit a QR code at level M");
    }
    QrMatrix out;
    out.version_ = code->version;
    const int width = code->width;
    out.side_ = width + 2 * kQuietZoneModules;
    out.cells_.assign(static_cast<std::size_t>(out.side_ * out.side_), 0);
    for (int y = 0; y < width; ++y) {
        for (int x = 0; x < width; ++x) {
            // libqrencode: bit 0 of each byte is the module colour (1 = dark).
            const auto cell = code->data[y * width + x] & 1;
            out.cells_[static_cast<std::size_t>((y + kQuietZoneModules) * out.side_ + x +
                                                kQuietZoneModules)] =
                static_cast<unsigned char>(cell);
        }
    }
    return out;
}

cv::Mat QrMatrix::render(int size_px) const {
    const int scale = size_px / side_;
    if (scale < 2) {
        throw QrError("QR size " + std::to_string(size_px) + " px is too small for this code (" +
                      std::to_string(side_) + " modules with the quiet zone): at least " +
                      std::to_string(2 * side_) + " px");
    }
    cv::Mat image(size_px, size_px, CV_8UC1, cv::Scalar(255));
    const int offset = (size_px - scale * side_) / 2;
    for (int y = 0; y < side_; ++y) {
        for (int x = 0; x < side_; ++x) {
            if (!dark(x, y)) continue;
            image(cv::Rect(offset + x * scale, offset + y * scale, scale, scale)).setTo(0);
        }
    }
    return image;
}

std::string QrMatrix::svg(int size_px) const {
    std::ostringstream out;
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << size_px << "\" height=\""
        << size_px << "\" viewBox=\"0 0 " << side_ << " " << side_
        << "\" shape-rendering=\"crispEdges\">"
        << "<rect width=\"" << side_ << "\" height=\"" << side_ << "\" fill=\"#fff\"/>"
        << "<path fill=\"#000\" d=\"";
    for (int y = 0; y < side_; ++y) {
        for (int x = 0; x < side_;) {
            if (!dark(x, y)) {
                ++x;
                continue;
            }
            int run = 0;
            while (x + run < side_ && dark(x + run, y)) ++run;
            out << 'M' << x << ' ' << y << 'h' << run << "v1h-" << run << 'z';
            x += run;
        }
    }
    out << "\"/></svg>\n";
    return out.str();
}

std::optional<std::string> read_qr(const cv::Mat& image) {
    cv::Mat gray;
    if (image.channels() == 3) {
        cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    } else if (image.channels() == 4) {
        cv::cvtColor(image, gray, cv::COLOR_BGRA2GRAY);
    } else {
        gray = image;
    }
    if (gray.depth() != CV_8U || gray.empty()) return std::nullopt;
    auto attempt = [](const cv::Mat& pixels,
                      ZXing::Binarizer binarizer) -> std::optional<std::string> {
        ZXing::ImageView view(pixels.data, pixels.cols, pixels.rows, ZXing::ImageFormat::Lum,
                              static_cast<int>(pixels.step));
        auto hints =
            ZXing::DecodeHints().setFormats(ZXing::BarcodeFormat::QRCode).setBinarizer(binarizer);
        auto result = ZXing::ReadBarcode(view, hints);
        if (!result.isValid()) return std::nullopt;
        const auto& bytes = result.bytes();
        return std::string(bytes.begin(), bytes.end());
    };
    if (auto read = attempt(gray, ZXing::Binarizer::LocalAverage)) return read;
    // Large, soft modules (a defocused camera close to the screen) defeat the local
    // threshold; halving the image sharpens them, and a global threshold suits flat light.
    if (std::min(gray.cols, gray.rows) >= 400) {
        cv::Mat half;
        cv::resize(gray, half, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
        if (auto read = attempt(half, ZXing::Binarizer::LocalAverage)) return read;
    }
    return attempt(gray, ZXing::Binarizer::GlobalHistogram);
}

std::vector<unsigned char> VerifiedQr::png() const {
    std::vector<unsigned char> out;
    if (!cv::imencode(".png", image, out)) throw QrError("PNG encoding of the QR code failed");
    return out;
}

void require_reads_back(const cv::Mat& image, const std::string& payload) {
    auto read = read_qr(image);
    if (!read) {
        throw QrError("the QR code (" + std::to_string(image.cols) + "x" +
                      std::to_string(image.rows) + " px) did not read back; it is not shown");
    }
    if (*read != payload) throw QrError("the QR code read back as different text; it is not shown");
}

VerifiedQr make_verified_qr(const std::string& payload, int size_px) {
    auto matrix = QrMatrix::encode(payload);
    VerifiedQr out;
    out.payload = payload;
    out.version = matrix.version();
    out.modules = matrix.side();
    out.image = matrix.render(size_px);
    require_reads_back(out.image, payload);
    out.svg = matrix.svg(size_px);
    return out;
}

}  // namespace linestation::qr
