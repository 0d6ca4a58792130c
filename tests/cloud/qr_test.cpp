// The pairing QR code: payload escaping, level M and quiet zone, and read-back by zxing-cpp
// after what a camera does to an image (blur, perspective, JPEG).
// zxing-cpp 1.4: the UTF-8 text()/ecLevel() it announces for its next release.
#define ZX_USE_UTF8 1
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <ZXing/DecodeHints.h>
#include <ZXing/ReadBarcode.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "station/qr/pairing_qr.hpp"

namespace linestation::qr {
namespace {

constexpr const char* kToken = "AYab12CD34efGH";

std::string parsed_field(const std::string& json, const std::string& key) {
    auto object = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
    return object->getValue<std::string>(key);
}

TEST(Qr, PayloadHasTheTuyaLayoutAndEscapesQuotesAndBackslashes) {
    EXPECT_EQ(pairing_payload({"line-wifi", "secret12", kToken}),
              "{\"s\":\"line-wifi\",\"p\":\"secret12\",\"t\":\"AYab12CD34efGH\"}");
    PairingInfo awkward{"my \"lab\" \\ net", "p\"w\\d\t{x}", kToken};
    auto payload = pairing_payload(awkward);
    EXPECT_EQ(
        payload,
        "{\"s\":\"my \\\"lab\\\" \\\\ net\",\"p\":\"p\\\"w\\\\d\\t{x}\",\"t\":\"AYab12CD34efGH\"}");
    EXPECT_EQ(parsed_field(payload, "s"), awkward.ssid);
    EXPECT_EQ(parsed_field(payload, "p"), awkward.password);
}

TEST(Qr, PayloadKeepsUtf8AndRefusesBrokenUtf8) {
    PairingInfo info{"Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\xb6",
                     "m\xc3\xb6t\xc3\xb6rhead", kToken};
    auto payload = pairing_payload(info);
    EXPECT_EQ(parsed_field(payload, "s"), info.ssid);
    EXPECT_EQ(parsed_field(payload, "p"), info.password);
    try {
        pairing_payload({"bad\xff", "password", kToken});
        FAIL() << "broken UTF-8 accepted";
    } catch (const QrError& e) {
        EXPECT_NE(std::string(e.what()).find("ssid"), std::string::npos) << e.what();
    }
    EXPECT_THROW(pairing_payload({"ok", "\xc0\xaf", kToken}), QrError);  // overlong '/'
}

TEST(Qr, PayloadParsesBackForTheDevicesSide) {
    PairingInfo info{"a\"b\\c \xc3\xa9", "p\"w", kToken};
    auto back = parse_pairing_payload(pairing_payload(info));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->ssid, info.ssid);
    EXPECT_EQ(back->password, info.password);
    EXPECT_EQ(back->token, info.token);
    EXPECT_FALSE(parse_pairing_payload("not json"));
    EXPECT_FALSE(parse_pairing_payload("{\"s\":\"x\",\"p\":\"y\"}"));
    EXPECT_FALSE(parse_pairing_payload("{\"s\":1,\"p\":\"y\",\"t\":\"z\"}"));
    EXPECT_FALSE(parse_pairing_payload("[1,2]"));
}

TEST(Qr, PayloadLimitsNameTheField) {
    EXPECT_NO_THROW(pairing_payload({std::string(32, 'S'), std::string(64, 'P'), kToken}));
    EXPECT_NO_THROW(pairing_payload({"open", "", kToken}));
    auto message = [](const PairingInfo& info) {
        try {
            pairing_payload(info);
        } catch (const QrError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(message({std::string(33, 'S'), "p", kToken}).find("ssid"), std::string::npos);
    EXPECT_NE(message({"", "p", kToken}).find("ssid"), std::string::npos);
    EXPECT_NE(message({"s", std::string(65, 'P'), kToken}).find("password"), std::string::npos);
    EXPECT_NE(message({"s", "p", "AY12345678abc"}).find("token"), std::string::npos);
    EXPECT_NE(message({"s", "p", "AY12345678ab/d"}).find("token"), std::string::npos);
}

TEST(Qr, EncodesAtLevelMWithAFourModuleQuietZone) {
    const auto payload = pairing_payload({"line-wifi", "secret12", kToken});
    auto matrix = QrMatrix::encode(payload);
    EXPECT_EQ(matrix.side(), 17 + 4 * matrix.version() + 2 * kQuietZoneModules);
    for (int i = 0; i < matrix.side(); ++i) {
        for (int q = 0; q < kQuietZoneModules; ++q) {
            EXPECT_FALSE(matrix.dark(i, q));
            EXPECT_FALSE(matrix.dark(q, i));
            EXPECT_FALSE(matrix.dark(i, matrix.side() - 1 - q));
            EXPECT_FALSE(matrix.dark(matrix.side() - 1 - q, i));
        }
    }
    EXPECT_TRUE(matrix.dark(kQuietZoneModules, kQuietZoneModules));  // finder pattern corner
    // zxing reads the error-correction level back from the code itself.
    auto image = matrix.render(matrix.side() * 4);
    ZXing::ImageView view(image.data, image.cols, image.rows, ZXing::ImageFormat::Lum);
    auto result =
        ZXing::ReadBarcode(view, ZXing::DecodeHints().setFormats(ZXing::BarcodeFormat::QRCode));
    ASSERT_TRUE(result.isValid());
    EXPECT_EQ(result.ecLevel(), "M");
}

TEST(Qr, RendersAtTheRequestedSizeWithWholePixelModules) {
    const auto payload = pairing_payload({"line-wifi", "secret12", kToken});
    for (int size : {120, 333, 600, 1000}) {
        auto qr = make_verified_qr(payload, size);
        EXPECT_EQ(qr.image.cols, size);
        EXPECT_EQ(qr.image.rows, size);
        EXPECT_NE(qr.svg.find("width=\"" + std::to_string(size) + "\""), std::string::npos);
        EXPECT_NE(qr.svg.find("viewBox=\"0 0 " + std::to_string(qr.modules)), std::string::npos);
        auto png = qr.png();
        auto decoded = cv::imdecode(png, cv::IMREAD_UNCHANGED);
        EXPECT_EQ(cv::norm(decoded, qr.image, cv::NORM_INF), 0);
    }
    EXPECT_THROW(make_verified_qr(payload, 40), QrError);
}

TEST(Qr, RefusesAnImageThatDoesNotReadBackAsItsPayload) {
    const auto payload = pairing_payload({"line-wifi", "secret12", kToken});
    auto qr = make_verified_qr(payload, 400);
    EXPECT_NO_THROW(require_reads_back(qr.image, payload));
    EXPECT_THROW(require_reads_back(qr.image, pairing_payload({"line-wifi", "secret13", kToken})),
                 QrError);
    cv::Mat damaged = qr.image.clone();
    damaged(cv::Rect(0, 0, 200, 200)).setTo(0);  // a finder pattern gone
    EXPECT_THROW(require_reads_back(damaged, payload), QrError);
    EXPECT_THROW(require_reads_back(cv::Mat(400, 400, CV_8UC1, cv::Scalar(255)), payload), QrError);
}

// What a camera sees: the code on a screen in a bigger, grey frame.
cv::Mat in_frame(const cv::Mat& code) {
    cv::Mat frame(code.rows * 3 / 2, code.cols * 3 / 2, CV_8UC1, cv::Scalar(90));
    code.copyTo(frame(cv::Rect(code.cols / 4, code.rows / 4, code.cols, code.rows)));
    return frame;
}

cv::Mat blurred(const cv::Mat& image, double module_px) {
    cv::Mat out;
    cv::GaussianBlur(image, out, cv::Size(0, 0), module_px * 0.35);
    return out;
}

cv::Mat warped(const cv::Mat& image) {
    const float w = static_cast<float>(image.cols), h = static_cast<float>(image.rows);
    cv::Point2f from[] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
    cv::Point2f to[] = {{w * 0.10f, h * 0.05f}, {w * 0.92f, 0}, {w, h * 0.95f}, {0, h * 0.88f}};
    cv::Mat out;
    cv::warpPerspective(image, out, cv::getPerspectiveTransform(from, to), image.size(),
                        cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(90));
    return out;
}

cv::Mat jpeg(const cv::Mat& image, int quality) {
    std::vector<unsigned char> bytes;
    cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality});
    return cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
}

TEST(Qr, AwkwardPayloadsReadBackAfterBlurPerspectiveAndJpeg) {
    const std::vector<PairingInfo> payloads = {
        {"a\"quoted\"ssid", "back\\slash\\pass", kToken},
        {"Caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac", "p\xc3\xa4ssw\xc3\xb6rd-\xe2\x82\xac", kToken},
        {std::string(32, 'W'), std::string(64, 'x'), kToken},
        {"\xe7\xbd\x91\xe7\xbb\x9c-\xe6\xb5\x8b\xe8\xaf\x95-" + std::string(18, 'z'),
         "{\"}\\/\t" + std::string(58, '#'), kToken},
    };
    for (const auto& info : payloads) {
        const auto payload = pairing_payload(info);
        for (int size : {300, 480, 800}) {
            SCOPED_TRACE("payload " + payload + " at " + std::to_string(size) + " px");
            auto qr = make_verified_qr(payload, size);
            const double module_px = static_cast<double>(size / qr.modules);
            auto frame = in_frame(qr.image);
            EXPECT_EQ(read_qr(blurred(frame, module_px)), payload) << "blur";
            EXPECT_EQ(read_qr(warped(frame)), payload) << "perspective";
            EXPECT_EQ(read_qr(jpeg(frame, 35)), payload) << "jpeg";
            EXPECT_EQ(read_qr(jpeg(warped(blurred(frame, module_px)), 50)), payload) << "all";
            cv::Mat bgr;
            cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
            EXPECT_EQ(read_qr(bgr), payload) << "colour";
        }
    }
}

TEST(Qr, NoCodeInAnImageIsNothingRead) {
    cv::Mat noise(480, 640, CV_8UC1);
    cv::randu(noise, 0, 255);
    EXPECT_FALSE(read_qr(noise));
    EXPECT_FALSE(read_qr(cv::Mat()));
}

}  // namespace
}  // namespace linestation::qr
