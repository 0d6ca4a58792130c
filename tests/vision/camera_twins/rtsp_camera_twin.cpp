// An RTSP camera twin: serves a folder of JPEG frames (rendered by LedScene in the tests)
// as a live RTP/JPEG stream (RFC 2435) at rtsp://127.0.0.1:PORT/cam, through the real
// gst-rtsp-server, as IP cameras do. Like a camera's sensor, it keeps time by the clock,
// not by how fast it gets to run: frame n of the clip (round and round) is captured at
// n / fps since start, stamped with that capture time (so RTP timestamps are capture
// times), and frames it was too busy to send are skipped, not sent late in a bunch.
// `--codec h264` sends H.264 instead (x264enc, zero latency, a key frame every 15
// frames, P frames between, as IP cameras stream; `--bitrate` in kbit/s). `--user U
// --password P` asks for RTSP basic authentication, as most IP cameras do: a client
// without those credentials gets 401. `--clock-rate 0.5` makes the camera's clock run
// slow (RTP timestamps advance half as fast as frames are captured), a camera whose
// timing the driver must give up on.
//
//   rtsp_camera_twin --frames DIR [--port 0] [--fps 30] [--tcp-only]
//                    [--codec jpeg|h264 [--bitrate 1024]] [--user U --password P]
//                    [--clock-rate 1]
//
// Prints "rtsp://127.0.0.1:PORT/cam" on stdout once it listens; SIGTERM ends it.

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Camera {
    std::vector<std::vector<unsigned char>> frames;
    int width = 0;
    int height = 0;
    int fps = 30;
    double clock_rate = 1.0;  // how fast the camera's clock (its RTP timestamps) runs
    gint64 start_us = 0;      // g_get_monotonic_time() at start: frame 0's capture time
    gint64 last_sent = -1;
    GstElement* appsrc = nullptr;  // the current client's source (a reference we hold)
};

// Width and height from a JPEG's start-of-frame marker.
bool jpeg_size(const std::vector<unsigned char>& d, int& w, int& h) {
    std::size_t i = 2;
    while (i + 9 < d.size()) {
        if (d[i] != 0xFF) return false;
        unsigned char marker = d[i + 1];
        std::size_t length = (static_cast<std::size_t>(d[i + 2]) << 8) | d[i + 3];
        if (marker >= 0xC0 && marker <= 0xC3) {
            h = (d[i + 5] << 8) | d[i + 6];
            w = (d[i + 7] << 8) | d[i + 8];
            return true;
        }
        i += 2 + length;
    }
    return false;
}

void drop_source(Camera& camera) {
    if (camera.appsrc) gst_object_unref(camera.appsrc);
    camera.appsrc = nullptr;
}

// A client started the (shared) stream: remember its appsrc to push frames into.
void on_media_configure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer data) {
    auto& camera = *static_cast<Camera*>(data);
    GstElement* pipeline = gst_rtsp_media_get_element(media);
    GstElement* src = gst_bin_get_by_name_recurse_up(reinterpret_cast<GstBin*>(pipeline), "src");
    gst_object_unref(pipeline);
    drop_source(camera);
    camera.appsrc = src;  // gst_bin_get_by_name gave us a reference
}

gboolean push_frame(gpointer data) {
    auto& camera = *static_cast<Camera*>(data);
    gint64 now_us = g_get_monotonic_time();
    gint64 due = (now_us - camera.start_us) * camera.fps / 1'000'000;
    if (!camera.appsrc || due <= camera.last_sent) return G_SOURCE_CONTINUE;
    // Only once PLAYING are the clock and base time the ones the stream runs on.
    GstState state = GST_STATE_NULL;
    gst_element_get_state(camera.appsrc, &state, nullptr, 0);
    GstClock* clock = state == GST_STATE_PLAYING ? gst_element_get_clock(camera.appsrc) : nullptr;
    if (!clock) return G_SOURCE_CONTINUE;
    // The frame's capture time as running time: the pipeline's now minus its lateness.
    // GStreamer's system clock and GLib's monotonic time are both CLOCK_MONOTONIC.
    GstClockTime running_now = gst_clock_get_time(clock) - gst_element_get_base_time(camera.appsrc);
    gst_object_unref(clock);
    gint64 late_ns = (now_us - camera.start_us - due * 1'000'000 / camera.fps) * 1000;
    if (running_now < static_cast<GstClockTime>(late_ns)) return G_SOURCE_CONTINUE;
    camera.last_sent = due;
    const auto& jpeg = camera.frames[static_cast<std::size_t>(due) % camera.frames.size()];
    GstBuffer* buffer = gst_buffer_new_memdup(jpeg.data(), jpeg.size());
    buffer->pts = static_cast<GstClockTime>(
        static_cast<double>(running_now - static_cast<GstClockTime>(late_ns)) * camera.clock_rate);
    buffer->duration = 1'000'000'000ull / static_cast<unsigned>(camera.fps);
    // The app source takes the buffer. A stream not playing (yet, or any more) answers
    // FLUSHING and drops it, as a camera's encoder drops frames nobody is watching.
    gst_app_src_push_buffer(reinterpret_cast<GstAppSrc*>(camera.appsrc), buffer);
    return G_SOURCE_CONTINUE;
}

int usage(const char* why) {
    std::cerr << "rtsp_camera_twin: " << why
              << "\nusage: rtsp_camera_twin --frames DIR [--port 0] [--fps 30] [--tcp-only]"
                 " [--codec jpeg|h264 [--bitrate 1024]] [--user U --password P] [--clock-rate 1]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    gst_init(&argc, &argv);
    std::string folder, port = "0";
    Camera camera;
    bool tcp_only = false;
    std::string codec = "jpeg", user, password;
    int bitrate_kbps = 1024;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--frames" && i + 1 < argc) {
            folder = argv[++i];
        } else if (a == "--port" && i + 1 < argc) {
            port = argv[++i];
        } else if (a == "--fps" && i + 1 < argc) {
            camera.fps = std::atoi(argv[++i]);
        } else if (a == "--clock-rate" && i + 1 < argc) {
            camera.clock_rate = std::atof(argv[++i]);
        } else if (a == "--bitrate" && i + 1 < argc) {
            bitrate_kbps = std::atoi(argv[++i]);
        } else if (a == "--codec" && i + 1 < argc) {
            codec = argv[++i];
        } else if (a == "--user" && i + 1 < argc) {
            user = argv[++i];
        } else if (a == "--password" && i + 1 < argc) {
            password = argv[++i];
        } else if (a == "--tcp-only") {
            tcp_only = true;
        } else {
            return usage(("unknown argument " + a).c_str());
        }
    }
    if (folder.empty()) return usage("--frames DIR is required");
    if (camera.fps <= 0 || camera.fps > 120) return usage("--fps must be 1..120");
    if (!(camera.clock_rate >= 0.1 && camera.clock_rate <= 1.0))
        return usage("--clock-rate must be 0.1..1");
    if (bitrate_kbps < 16 || bitrate_kbps > 100000) return usage("--bitrate must be 16..100000");
    if (codec != "jpeg" && codec != "h264") return usage("--codec must be jpeg or h264");
    if (user.empty() != password.empty()) return usage("--user and --password go together");
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(folder)) {
        auto ext = e.path().extension().string();
        if (ext == ".jpg" || ext == ".jpeg") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        camera.frames.emplace_back(std::istreambuf_iterator<char>(in),
                                   std::istreambuf_iterator<char>());
    }
    if (camera.frames.empty()) return usage(("no JPEG frames in " + folder).c_str());
    if (!jpeg_size(camera.frames[0], camera.width, camera.height))
        return usage("the first frame is not a baseline JPEG");

    GstRTSPServer* server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, port.c_str());
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    std::string source = "appsrc name=src is-live=true format=time caps=image/jpeg,width=" +
                         std::to_string(camera.width) + ",height=" + std::to_string(camera.height) +
                         ",framerate=" + std::to_string(camera.fps) + "/1";
    // H.264 as an IP camera encodes it: no B frames, no look-ahead (zerolatency), a key
    // frame every 15 frames (a client joining the shared stream waits at most that long),
    // and SPS/PPS sent with every key frame so a late joiner can decode.
    std::string launch =
        codec == "jpeg"
            ? "( " + source + " ! rtpjpegpay name=pay0 pt=26 )"
            : "( " + source +
                  " ! jpegdec ! videoconvert ! video/x-raw,format=I420 ! x264enc "
                  "tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=" +
                  std::to_string(bitrate_kbps) +
                  " ! "
                  "video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 "
                  "config-interval=-1 )";
    gst_rtsp_media_factory_set_launch(factory, launch.c_str());
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    if (tcp_only) gst_rtsp_media_factory_set_protocols(factory, GST_RTSP_LOWER_TRANS_TCP);
    g_signal_connect(factory, "media-configure", reinterpret_cast<GCallback>(on_media_configure),
                     &camera);
    if (!user.empty()) {
        // Basic authentication: only the one user, in the role allowed to see and start
        // the camera's stream; anyone else gets 401 Unauthorized.
        GstRTSPAuth* auth = gst_rtsp_auth_new();
        GstRTSPToken* token =
            gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "viewer", nullptr);
        gchar* basic = gst_rtsp_auth_make_basic(user.c_str(), password.c_str());
        gst_rtsp_auth_add_basic(auth, basic, token);
        g_free(basic);
        gst_rtsp_token_unref(token);
        gst_rtsp_server_set_auth(server, auth);
        g_object_unref(auth);
        GstRTSPPermissions* permissions = gst_rtsp_permissions_new();
        gst_rtsp_permissions_add_role(permissions, "viewer", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS,
                                      G_TYPE_BOOLEAN, TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                                      G_TYPE_BOOLEAN, TRUE, nullptr);
        gst_rtsp_media_factory_set_permissions(factory, permissions);
        gst_rtsp_permissions_unref(permissions);
    }
    GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
    gst_rtsp_mount_points_add_factory(mounts, "/cam", factory);  // takes the factory
    g_object_unref(mounts);
    if (gst_rtsp_server_attach(server, nullptr) == 0) {
        std::cerr << "rtsp_camera_twin: cannot listen on 127.0.0.1:" << port << "\n";
        return 1;
    }
    camera.start_us = g_get_monotonic_time();
    g_timeout_add(4, push_frame, &camera);  // a tick well inside a frame period
    std::cout << "rtsp://127.0.0.1:" << gst_rtsp_server_get_bound_port(server) << "/cam"
              << std::endl;
    GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
    g_main_loop_run(loop);
    g_main_loop_unref(loop);
    drop_source(camera);
    g_object_unref(server);
    return 0;
}
