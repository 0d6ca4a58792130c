// The pairing QR's speed: encoding (payload to module grid) must stay under 1 ms, reading a
// code back from a 1080p camera frame under 15 ms.
#include <benchmark/benchmark.h>

#include <opencv2/imgproc.hpp>

#include "station/qr/pairing_qr.hpp"

namespace {

using namespace linestation::qr;

const std::string& payload() {
    static const std::string text =
        pairing_payload({"Line-4 \xe2\x80\x93 Wi-Fi", std::string(63, 'p'), "AYab12CD34efGH"});
    return text;
}

void BM_Encode(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(QrMatrix::encode(payload()));
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMicrosecond);

void BM_EncodeRenderVerify600(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(make_verified_qr(payload(), 600));
}
BENCHMARK(BM_EncodeRenderVerify600)->Unit(benchmark::kMillisecond);

// A 1920x1080 camera frame with the code shown at `side` pixels, slightly blurred.
cv::Mat camera_frame(int side) {
    auto code = QrMatrix::encode(payload()).render(side);
    cv::Mat frame(1080, 1920, CV_8UC1, cv::Scalar(70));
    code.copyTo(frame(cv::Rect(700, 200, side, side)));
    cv::GaussianBlur(frame, frame, cv::Size(0, 0), 1.2);
    return frame;
}

void BM_ReadBack1080p(benchmark::State& state) {
    auto frame = camera_frame(static_cast<int>(state.range(0)));
    if (read_qr(frame) != payload()) {
        state.SkipWithError("the frame did not read back");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(read_qr(frame));
}
BENCHMARK(BM_ReadBack1080p)->Arg(300)->Arg(600)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
