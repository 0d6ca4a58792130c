/* Test-only LD_PRELOAD shim: a virtual V4L2 capture device (a UVC-like MJPEG camera).
 *
 * There is no /dev/video* here and no kernel module can be loaded, so this shim makes one
 * path (V4L2_TWIN_DEVICE, e.g. /dev/video42) a capture device that answers the real V4L2
 * ioctl API the way the uvcvideo driver does, and passes every other path and fd through.
 * OpenCV's own V4L2 backend (cv::CAP_V4L2) then runs unchanged against it: QUERYCAP,
 * G_FMT/S_FMT (MJPG only, one frame size), S_PARM/G_PARM (15 or 30 fps), REQBUFS,
 * QUERYBUF + mmap (buffers are a memfd the shim also maps), QBUF/DQBUF, STREAMON/OFF,
 * select/poll (the fd is a timerfd that ticks once per frame period, so the kernel's own
 * select and poll wait for the next frame), QUERYCTRL, G_CTRL/S_CTRL.
 *
 * Environment, read at each open():
 *   V4L2_TWIN_DEVICE      the device path (required)
 *   V4L2_TWIN_FRAMES      a folder of JPEG files, played in name order, round and round
 *   V4L2_TWIN_FORMAT      MJPG (default) or YUYV: a YUYV-only camera whose frames are the
 *                         folder's *.yuyv files (raw YUYV 4:2:2 of V4L2_TWIN_SIZE, WxH)
 *   V4L2_TWIN_CONTROLS    controls the camera has, comma-separated, from
 *                         exposure (exposure_auto + exposure_absolute), gain,
 *                         white_balance (white_balance_automatic + temperature); default
 *                         "exposure,gain". The others answer EINVAL to QUERYCTRL.
 *   V4L2_TWIN_TIMESTAMPS  monotonic (default): CLOCK_MONOTONIC capture time, which is the
 *                         frame's due time minus a known jitter of 0..9 ms; none: zero
 *                         timestamps; backwards: every 5th frame is stamped 200 ms early.
 *   V4L2_TWIN_LOG         a file; one line "sequence seconds microseconds" per DQBUF
 *   V4L2_TWIN_TRACE       1: report ioctls the twin does not know; all: every ioctl
 *   V4L2_TWIN_GONE        a file; while it exists the camera is unplugged: open() fails
 *                         with ENOENT, and an open device fails DQBUF/QBUF with ENODEV. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define TWIN_MAX_FDS 4
#define TWIN_MAX_BUFFERS 16
#define TWIN_MAX_FRAMES 512

enum { CTRL_EXPOSURE = 1, CTRL_GAIN = 2, CTRL_WHITE_BALANCE = 4 };
enum { STAMP_MONOTONIC, STAMP_NONE, STAMP_BACKWARDS };

struct jpeg_frame {
    unsigned char* data;
    size_t size;
};

struct twin {
    int fd; /* the timerfd handed to the application; -1 = slot free */
    unsigned width, height, fps;
    uint32_t pixelformat; /* V4L2_PIX_FMT_MJPEG or V4L2_PIX_FMT_YUYV */
    int controls, stamps;
    char gone[512], log[512];
    struct jpeg_frame frames[TWIN_MAX_FRAMES];
    unsigned frame_count;
    /* Controls (uvcvideo semantics: absolute exposure only in manual mode). */
    int exposure_auto, exposure_absolute, gain, wb_auto, wb_temperature;
    /* Buffers: one memfd holding all of them. */
    int memfd;
    unsigned char* memory;
    size_t buffer_size;
    unsigned buffer_count;
    int queued[TWIN_MAX_BUFFERS]; /* queue order of free (queued) buffers; -1 = none */
    struct v4l2_buffer filled[TWIN_MAX_BUFFERS];
    unsigned filled_count;
    int streaming;
    struct timespec started;
    uint32_t next_sequence;
};

static struct twin twins[TWIN_MAX_FDS];
static pthread_mutex_t twins_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t twins_once = PTHREAD_ONCE_INIT;

static void twins_init(void) {
    for (int i = 0; i < TWIN_MAX_FDS; ++i) twins[i].fd = -1;
}

/* A fork while another thread holds the lock must not leave the child (which closes fds
 * before exec) waiting for it forever. */
static void lock_for_fork(void) {
    pthread_mutex_lock(&twins_lock);
}
static void unlock_after_fork(void) {
    pthread_mutex_unlock(&twins_lock);
}
__attribute__((constructor)) static void register_fork_handlers(void) {
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

static struct twin* twin_of(int fd) {
    pthread_once(&twins_once, twins_init);
    if (fd < 0) return NULL;
    for (int i = 0; i < TWIN_MAX_FDS; ++i)
        if (twins[i].fd == fd) return &twins[i];
    return NULL;
}

static int is_twin_path(const char* path) {
    const char* device = getenv("V4L2_TWIN_DEVICE");
    return path && device && *device && strcmp(path, device) == 0;
}

static int exists(const char* path) {
    return *path && access(path, F_OK) == 0;
}

static int unplugged(const struct twin* t) {
    return exists(t->gone);
}

static void copy_env(char* out, size_t size, const char* name) {
    const char* v = getenv(name);
    snprintf(out, size, "%s", v ? v : "");
}

/* Width and height from a JPEG's start-of-frame marker. */
static int jpeg_size(const unsigned char* d, size_t n, unsigned* w, unsigned* h) {
    size_t i = 2;
    while (i + 9 < n) {
        if (d[i] != 0xFF) return -1;
        unsigned char marker = d[i + 1];
        size_t length = ((size_t)d[i + 2] << 8) | d[i + 3];
        if (marker >= 0xC0 && marker <= 0xC3) {
            *h = ((unsigned)d[i + 5] << 8) | d[i + 6];
            *w = ((unsigned)d[i + 7] << 8) | d[i + 8];
            return 0;
        }
        i += 2 + length;
    }
    return -1;
}

static int by_name(const struct dirent** a, const struct dirent** b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_jpeg_name(const struct dirent* e) {
    const char* dot = strrchr(e->d_name, '.');
    return dot && (strcmp(dot, ".jpg") == 0 || strcmp(dot, ".jpeg") == 0);
}

static int is_yuyv_name(const struct dirent* e) {
    const char* dot = strrchr(e->d_name, '.');
    return dot && strcmp(dot, ".yuyv") == 0;
}

static void load_frames(struct twin* t, const char* folder) {
    struct dirent** names = NULL;
    int n = scandir(folder, &names,
                    t->pixelformat == V4L2_PIX_FMT_YUYV ? is_yuyv_name : is_jpeg_name, by_name);
    for (int i = 0; i < n; ++i) {
        if (t->frame_count < TWIN_MAX_FRAMES) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", folder, names[i]->d_name);
            FILE* f = fopen(path, "rb");
            if (f) {
                fseek(f, 0, SEEK_END);
                long size = ftell(f);
                fseek(f, 0, SEEK_SET);
                unsigned char* data = size > 0 ? malloc((size_t)size) : NULL;
                if (data && fread(data, 1, (size_t)size, f) == (size_t)size) {
                    t->frames[t->frame_count].data = data;
                    t->frames[t->frame_count].size = (size_t)size;
                    ++t->frame_count;
                } else {
                    free(data);
                }
                fclose(f);
            }
        }
        free(names[i]);
    }
    free(names);
}

static void release_buffers(struct twin* t) {
    if (t->memory) munmap(t->memory, t->buffer_size * t->buffer_count);
    if (t->memfd >= 0) REAL("close", int (*)(int))(t->memfd);
    t->memory = NULL;
    t->memfd = -1;
    t->buffer_count = 0;
    t->filled_count = 0;
    for (int i = 0; i < TWIN_MAX_BUFFERS; ++i) t->queued[i] = -1;
}

static void release_twin(struct twin* t) {
    release_buffers(t);
    for (unsigned i = 0; i < t->frame_count; ++i) free(t->frames[i].data);
    t->frame_count = 0;
    t->fd = -1;
}

static int open_twin(void) {
    pthread_once(&twins_once, twins_init);
    char gone[512];
    copy_env(gone, sizeof gone, "V4L2_TWIN_GONE");
    if (exists(gone)) {
        errno = ENOENT;
        return -1;
    }
    pthread_mutex_lock(&twins_lock);
    struct twin* t = NULL;
    for (int i = 0; i < TWIN_MAX_FDS && !t; ++i)
        if (twins[i].fd < 0) t = &twins[i];
    if (!t) {
        pthread_mutex_unlock(&twins_lock);
        errno = EBUSY;
        return -1;
    }
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) {
        pthread_mutex_unlock(&twins_lock);
        return -1;
    }
    memset(t, 0, sizeof *t);
    t->fd = fd;
    t->memfd = -1;
    for (int i = 0; i < TWIN_MAX_BUFFERS; ++i) t->queued[i] = -1;
    memcpy(t->gone, gone, sizeof gone);
    copy_env(t->log, sizeof t->log, "V4L2_TWIN_LOG");
    const char* controls = getenv("V4L2_TWIN_CONTROLS");
    if (!controls) controls = "exposure,gain";
    if (strstr(controls, "exposure")) t->controls |= CTRL_EXPOSURE;
    if (strstr(controls, "gain")) t->controls |= CTRL_GAIN;
    if (strstr(controls, "white_balance")) t->controls |= CTRL_WHITE_BALANCE;
    const char* stamps = getenv("V4L2_TWIN_TIMESTAMPS");
    t->stamps =
        !stamps || strcmp(stamps, "none") != 0
            ? (stamps && strcmp(stamps, "backwards") == 0 ? STAMP_BACKWARDS : STAMP_MONOTONIC)
            : STAMP_NONE;
    const char* format = getenv("V4L2_TWIN_FORMAT");
    t->pixelformat = format && strcmp(format, "YUYV") == 0 ? V4L2_PIX_FMT_YUYV : V4L2_PIX_FMT_MJPEG;
    const char* folder = getenv("V4L2_TWIN_FRAMES");
    if (folder) load_frames(t, folder);
    t->width = 320;
    t->height = 240;
    const char* size = getenv("V4L2_TWIN_SIZE");
    if (t->pixelformat == V4L2_PIX_FMT_YUYV && size)
        sscanf(size, "%ux%u", &t->width, &t->height);
    else if (t->frame_count > 0)
        jpeg_size(t->frames[0].data, t->frames[0].size, &t->width, &t->height);
    t->fps = 30;
    t->exposure_auto = V4L2_EXPOSURE_APERTURE_PRIORITY;
    t->exposure_absolute = 156;
    t->gain = 32;
    t->wb_auto = 1;
    t->wb_temperature = 4600;
    pthread_mutex_unlock(&twins_lock);
    return fd;
}

/* ---- the ioctls ---- */

static void fill_pix(const struct twin* t, struct v4l2_pix_format* p) {
    memset(p, 0, sizeof *p);
    p->width = t->width;
    p->height = t->height;
    p->pixelformat = t->pixelformat;
    p->field = V4L2_FIELD_NONE;
    p->bytesperline = t->pixelformat == V4L2_PIX_FMT_YUYV ? t->width * 2 : 0;
    p->sizeimage = t->width * t->height * 2;
    p->colorspace = V4L2_COLORSPACE_SRGB;
}

static double seconds(const struct timespec* ts) {
    return ts->tv_sec + ts->tv_nsec / 1e9;
}

static struct timespec at(double s) {
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    return ts;
}

/* The capture time the camera puts on frame `sequence`: known, irregular jitter. */
static double stamp_of(const struct twin* t, uint32_t sequence, double due) {
    if (t->stamps == STAMP_NONE) return 0;
    double jitter = (double)((sequence * 7u) % 10u) * 1e-3;
    if (t->stamps == STAMP_BACKWARDS && sequence % 5 == 4) jitter += 0.2;
    return due - jitter;
}

/* Every frame the sensor has produced since the last call goes into a queued buffer, or is
 * dropped when none is queued (as uvcvideo does), with sequence numbers counting drops. */
static void capture_due_frames(struct twin* t) {
    uint64_t ticks;
    while (read(t->fd, &ticks, sizeof ticks) > 0) {
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double period = 1.0 / t->fps;
    double elapsed = seconds(&now) - seconds(&t->started);
    uint32_t produced = elapsed > 0 ? (uint32_t)(elapsed / period) : 0;
    while (t->next_sequence < produced) {
        uint32_t seq = t->next_sequence++;
        if (t->queued[0] < 0) continue; /* no buffer: the frame is lost */
        unsigned index = (unsigned)t->queued[0];
        memmove(&t->queued[0], &t->queued[1], sizeof(int) * (TWIN_MAX_BUFFERS - 1));
        t->queued[TWIN_MAX_BUFFERS - 1] = -1;
        const struct jpeg_frame* jpeg = t->frame_count ? &t->frames[seq % t->frame_count] : NULL;
        size_t used = jpeg ? (jpeg->size < t->buffer_size ? jpeg->size : t->buffer_size) : 0;
        if (jpeg) memcpy(t->memory + index * t->buffer_size, jpeg->data, used);
        struct v4l2_buffer* b = &t->filled[t->filled_count++];
        memset(b, 0, sizeof *b);
        b->index = index;
        b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b->memory = V4L2_MEMORY_MMAP;
        b->bytesused = (uint32_t)used;
        b->length = (uint32_t)t->buffer_size;
        b->m.offset = (uint32_t)(index * t->buffer_size);
        b->field = V4L2_FIELD_NONE;
        b->sequence = seq;
        b->flags = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_DONE | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC |
                   V4L2_BUF_FLAG_TSTAMP_SRC_SOE;
        double stamp = stamp_of(t, seq, seconds(&t->started) + (seq + 1) * period);
        b->timestamp.tv_sec = (time_t)stamp;
        b->timestamp.tv_usec = (suseconds_t)((stamp - (double)(time_t)stamp) * 1e6);
    }
}

static void log_frame(const struct twin* t, const struct v4l2_buffer* b) {
    if (!*t->log) return;
    FILE* f = fopen(t->log, "a");
    if (!f) return;
    fprintf(f, "%u %ld %ld\n", b->sequence, (long)b->timestamp.tv_sec, (long)b->timestamp.tv_usec);
    fclose(f);
}

static int fail(int error) {
    errno = error;
    return -1;
}

static int queryctrl(const struct twin* t, struct v4l2_queryctrl* q) {
    __u32 id = q->id;
    memset(q, 0, sizeof *q);
    q->id = id;
    q->step = 1;
    q->type = V4L2_CTRL_TYPE_INTEGER;
    if (id == V4L2_CID_EXPOSURE_AUTO && (t->controls & CTRL_EXPOSURE)) {
        snprintf((char*)q->name, sizeof q->name, "Auto Exposure");
        q->type = V4L2_CTRL_TYPE_MENU;
        q->minimum = 0;
        q->maximum = 3;
        q->default_value = V4L2_EXPOSURE_APERTURE_PRIORITY;
    } else if (id == V4L2_CID_EXPOSURE_ABSOLUTE && (t->controls & CTRL_EXPOSURE)) {
        snprintf((char*)q->name, sizeof q->name, "Exposure Time, Absolute");
        q->minimum = 3;
        q->maximum = 2047;
        q->default_value = 156;
        if (t->exposure_auto != V4L2_EXPOSURE_MANUAL) q->flags = V4L2_CTRL_FLAG_INACTIVE;
    } else if (id == V4L2_CID_GAIN && (t->controls & CTRL_GAIN)) {
        snprintf((char*)q->name, sizeof q->name, "Gain");
        q->minimum = 0;
        q->maximum = 255;
        q->default_value = 32;
    } else if (id == V4L2_CID_AUTO_WHITE_BALANCE && (t->controls & CTRL_WHITE_BALANCE)) {
        snprintf((char*)q->name, sizeof q->name, "White Balance, Automatic");
        q->type = V4L2_CTRL_TYPE_BOOLEAN;
        q->maximum = 1;
        q->default_value = 1;
    } else if (id == V4L2_CID_WHITE_BALANCE_TEMPERATURE && (t->controls & CTRL_WHITE_BALANCE)) {
        snprintf((char*)q->name, sizeof q->name, "White Balance Temperature");
        q->minimum = 2800;
        q->maximum = 6500;
        q->step = 10;
        q->default_value = 4600;
        if (t->wb_auto) q->flags = V4L2_CTRL_FLAG_INACTIVE;
    } else {
        return fail(EINVAL);
    }
    return 0;
}

static int* control_value(struct twin* t, __u32 id, int* lo, int* hi) {
    if ((t->controls & CTRL_EXPOSURE) && id == V4L2_CID_EXPOSURE_AUTO) {
        *lo = 0, *hi = 3;
        return &t->exposure_auto;
    }
    if ((t->controls & CTRL_EXPOSURE) && id == V4L2_CID_EXPOSURE_ABSOLUTE) {
        *lo = 3, *hi = 2047;
        return &t->exposure_absolute;
    }
    if ((t->controls & CTRL_GAIN) && id == V4L2_CID_GAIN) {
        *lo = 0, *hi = 255;
        return &t->gain;
    }
    if ((t->controls & CTRL_WHITE_BALANCE) && id == V4L2_CID_AUTO_WHITE_BALANCE) {
        *lo = 0, *hi = 1;
        return &t->wb_auto;
    }
    if ((t->controls & CTRL_WHITE_BALANCE) && id == V4L2_CID_WHITE_BALANCE_TEMPERATURE) {
        *lo = 2800, *hi = 6500;
        return &t->wb_temperature;
    }
    return NULL;
}

static int set_control(struct twin* t, struct v4l2_control* c) {
    int lo, hi;
    int* value = control_value(t, c->id, &lo, &hi);
    if (!value) return fail(EINVAL);
    /* uvcvideo: a control that auto mode owns is not writable until auto is off. */
    if (c->id == V4L2_CID_EXPOSURE_ABSOLUTE && t->exposure_auto != V4L2_EXPOSURE_MANUAL)
        return fail(EACCES);
    if (c->id == V4L2_CID_WHITE_BALANCE_TEMPERATURE && t->wb_auto) return fail(EACCES);
    /* The menu has manual (1) and aperture priority (3) only, as most UVC cameras. */
    if (c->id == V4L2_CID_EXPOSURE_AUTO && c->value != V4L2_EXPOSURE_MANUAL &&
        c->value != V4L2_EXPOSURE_APERTURE_PRIORITY)
        return fail(EINVAL);
    *value = c->value < lo ? lo : c->value > hi ? hi : c->value; /* clamped, as uvcvideo */
    if (c->id == V4L2_CID_WHITE_BALANCE_TEMPERATURE) *value -= (*value - lo) % 10;
    return 0;
}

static int twin_ioctl(struct twin* t, unsigned long request, void* arg) {
    const char* trace = getenv("V4L2_TWIN_TRACE");
    if (trace && strcmp(trace, "all") == 0)
        fprintf(stderr, "v4l2 twin: ioctl nr %lu\n", (unsigned long)_IOC_NR(request));
    switch (request) {
        case VIDIOC_QUERYCAP: {
            struct v4l2_capability* cap = arg;
            memset(cap, 0, sizeof *cap);
            snprintf((char*)cap->driver, sizeof cap->driver, "uvcvideo");
            snprintf((char*)cap->card, sizeof cap->card, "LineStation twin camera");
            snprintf((char*)cap->bus_info, sizeof cap->bus_info, "usb-twin-1");
            cap->version = (6u << 16) | (1u << 8);
            cap->device_caps =
                V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_EXT_PIX_FORMAT;
            cap->capabilities = cap->device_caps | V4L2_CAP_DEVICE_CAPS;
            return 0;
        }
        case VIDIOC_ENUM_FMT: {
            struct v4l2_fmtdesc* f = arg;
            if (f->index != 0 || f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
            int yuyv = t->pixelformat == V4L2_PIX_FMT_YUYV;
            f->flags = yuyv ? 0 : V4L2_FMT_FLAG_COMPRESSED;
            f->pixelformat = t->pixelformat;
            snprintf((char*)f->description, sizeof f->description,
                     yuyv ? "YUYV 4:2:2" : "Motion-JPEG");
            return 0;
        }
        case VIDIOC_ENUM_FRAMESIZES: {
            struct v4l2_frmsizeenum* s = arg;
            if (s->index != 0 || s->pixel_format != t->pixelformat) return fail(EINVAL);
            s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
            s->discrete.width = t->width;
            s->discrete.height = t->height;
            return 0;
        }
        case VIDIOC_G_FMT:
        case VIDIOC_S_FMT:
        case VIDIOC_TRY_FMT: {
            struct v4l2_format* f = arg;
            if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
            if (request == VIDIOC_S_FMT && t->buffer_count > 0) return fail(EBUSY);
            /* One format, one size: a request for anything else is adjusted to it. */
            fill_pix(t, &f->fmt.pix);
            return 0;
        }
        case VIDIOC_G_PARM:
        case VIDIOC_S_PARM: {
            struct v4l2_streamparm* p = arg;
            if (p->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
            if (request == VIDIOC_S_PARM) {
                struct v4l2_fract tpf = p->parm.capture.timeperframe;
                double asked = tpf.numerator ? (double)tpf.denominator / tpf.numerator : 30;
                t->fps = asked < 22.5 ? 15 : 30;
            }
            memset(&p->parm, 0, sizeof p->parm);
            p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
            p->parm.capture.timeperframe.numerator = 1;
            p->parm.capture.timeperframe.denominator = t->fps;
            p->parm.capture.readbuffers = 0;
            return 0;
        }
        case VIDIOC_ENUMINPUT: {
            struct v4l2_input* in = arg;
            if (in->index != 0) return fail(EINVAL);
            snprintf((char*)in->name, sizeof in->name, "Camera 1");
            in->type = V4L2_INPUT_TYPE_CAMERA;
            return 0;
        }
        case VIDIOC_G_INPUT:
            *(int*)arg = 0;
            return 0;
        case VIDIOC_S_INPUT:
            return *(int*)arg == 0 ? 0 : fail(EINVAL);
        case VIDIOC_QUERYCTRL:
            return queryctrl(t, arg);
        case VIDIOC_G_CTRL: {
            struct v4l2_control* c = arg;
            int lo, hi;
            int* value = control_value(t, c->id, &lo, &hi);
            if (!value) return fail(EINVAL);
            c->value = *value;
            return 0;
        }
        case VIDIOC_S_CTRL:
            return set_control(t, arg);
        case VIDIOC_REQBUFS: {
            struct v4l2_requestbuffers* r = arg;
            if (r->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || r->memory != V4L2_MEMORY_MMAP)
                return fail(EINVAL);
            if (t->streaming) return fail(EBUSY);
            release_buffers(t);
            r->capabilities = V4L2_BUF_CAP_SUPPORTS_MMAP;
            if (r->count == 0) return 0;
            unsigned count = r->count > TWIN_MAX_BUFFERS ? TWIN_MAX_BUFFERS : r->count;
            long page = sysconf(_SC_PAGESIZE);
            size_t size =
                ((size_t)t->width * t->height * 2 + (size_t)page - 1) / (size_t)page * (size_t)page;
            int memfd = memfd_create("v4l2-twin-buffers", MFD_CLOEXEC);
            if (memfd < 0 || ftruncate(memfd, (off_t)(size * count)) != 0) return fail(ENOMEM);
            /* The real mmap: this file's own mmap() would take the lock held here. */
            unsigned char* memory = REAL("mmap", void* (*)(void*, size_t, int, int, int, off_t))(
                NULL, size * count, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
            if (memory == MAP_FAILED) {
                REAL("close", int (*)(int))(memfd);
                return fail(ENOMEM);
            }
            t->memfd = memfd;
            t->memory = memory;
            t->buffer_size = size;
            t->buffer_count = count;
            r->count = count;
            return 0;
        }
        case VIDIOC_QUERYBUF: {
            struct v4l2_buffer* b = arg;
            if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->index >= t->buffer_count)
                return fail(EINVAL);
            __u32 index = b->index;
            memset(b, 0, sizeof *b);
            b->index = index;
            b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            b->memory = V4L2_MEMORY_MMAP;
            b->length = (__u32)t->buffer_size;
            b->m.offset = (__u32)(index * t->buffer_size);
            b->flags = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
            return 0;
        }
        case VIDIOC_QBUF: {
            struct v4l2_buffer* b = arg;
            if (unplugged(t)) return fail(ENODEV);
            if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->index >= t->buffer_count)
                return fail(EINVAL);
            for (unsigned i = 0; i < TWIN_MAX_BUFFERS; ++i) {
                if (t->queued[i] == (int)b->index) return fail(EINVAL); /* already queued */
                if (t->queued[i] < 0) {
                    t->queued[i] = (int)b->index;
                    b->flags = (b->flags | V4L2_BUF_FLAG_QUEUED) & ~V4L2_BUF_FLAG_DONE;
                    return 0;
                }
            }
            return fail(EINVAL);
        }
        case VIDIOC_DQBUF: {
            struct v4l2_buffer* b = arg;
            if (unplugged(t)) return fail(ENODEV);
            if (!t->streaming) return fail(EINVAL);
            capture_due_frames(t);
            if (t->filled_count == 0) return fail(EAGAIN); /* O_NONBLOCK; select() waits */
            *b = t->filled[0];
            memmove(&t->filled[0], &t->filled[1], sizeof t->filled[0] * (t->filled_count - 1));
            --t->filled_count;
            log_frame(t, b);
            return 0;
        }
        case VIDIOC_STREAMON: {
            if (unplugged(t)) return fail(ENODEV);
            if (t->buffer_count == 0) return fail(EINVAL);
            if (t->streaming) return 0;
            clock_gettime(CLOCK_MONOTONIC, &t->started);
            t->next_sequence = 0;
            double period = 1.0 / t->fps;
            struct itimerspec timer;
            timer.it_value = at(seconds(&t->started) + period);
            timer.it_interval = at(period);
            timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &timer, NULL);
            t->streaming = 1;
            return 0;
        }
        case VIDIOC_STREAMOFF: {
            struct itimerspec off;
            memset(&off, 0, sizeof off);
            timerfd_settime(t->fd, 0, &off, NULL);
            t->streaming = 0;
            t->filled_count = 0;
            for (int i = 0; i < TWIN_MAX_BUFFERS; ++i) t->queued[i] = -1;
            return 0;
        }
        default:
            if (getenv("V4L2_TWIN_TRACE"))
                fprintf(stderr, "v4l2 twin: unsupported ioctl 0x%lx\n", request);
            return fail(ENOTTY);
    }
}

/* ---- interposed libc entry points ---- */

static int open_path(const char* path, int flags, mode_t mode, const char* which) {
    if (is_twin_path(path)) return open_twin();
    int (*real)(const char*, int, ...) = REAL(which, int (*)(const char*, int, ...));
    return real(path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap) {
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return open_path(path, flags, mode, "open");
}

int open64(const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return open_path(path, flags, mode, "open64");
}

int __open_2(const char* path, int flags) {
    return open_path(path, flags, 0, "__open_2");
}
int __open64_2(const char* path, int flags) {
    return open_path(path, flags, 0, "__open64_2");
}

static int openat_path(const char* which, int dirfd, const char* path, int flags, mode_t mode) {
    if (is_twin_path(path)) return open_twin();
    int (*real)(int, const char*, int, ...) = REAL(which, int (*)(int, const char*, int, ...));
    return real(dirfd, path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return openat_path("openat", dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return openat_path("openat64", dirfd, path, flags, mode);
}

int close(int fd) {
    pthread_mutex_lock(&twins_lock);
    struct twin* t = twin_of(fd);
    if (t) release_twin(t);
    pthread_mutex_unlock(&twins_lock);
    return REAL("close", int (*)(int))(fd);
}

int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    pthread_mutex_lock(&twins_lock);
    struct twin* t = twin_of(fd);
    if (t) {
        int rc = twin_ioctl(t, request, arg);
        int saved = errno;
        pthread_mutex_unlock(&twins_lock);
        errno = saved;
        return rc;
    }
    pthread_mutex_unlock(&twins_lock);
    return REAL("ioctl", int (*)(int, unsigned long, void*))(fd, request, arg);
}

static void* map_twin(struct twin* t, size_t length, int prot, int flags, off_t offset) {
    if (!t->memory || (size_t)offset + length > t->buffer_size * t->buffer_count) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    void* (*real)(void*, size_t, int, int, int, off_t) =
        REAL("mmap", void* (*)(void*, size_t, int, int, int, off_t));
    return real(NULL, length, prot & (PROT_READ | PROT_WRITE), flags, t->memfd, offset);
}

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
    void* (*real)(void*, size_t, int, int, int, off_t) =
        REAL("mmap", void* (*)(void*, size_t, int, int, int, off_t));
    if (fd < 0) return real(addr, length, prot, flags, fd, offset); /* anonymous memory */
    pthread_mutex_lock(&twins_lock);
    struct twin* t = twin_of(fd);
    void* result = NULL;
    if (t) result = map_twin(t, length, prot, flags, offset);
    int saved = errno;
    pthread_mutex_unlock(&twins_lock);
    if (t) {
        errno = saved;
        return result;
    }
    return real(addr, length, prot, flags, fd, offset);
}

void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
    return mmap(addr, length, prot, flags, fd, offset);
}
