/* Test-only LD_PRELOAD shim: lets libserialport 0.1.1 open a pseudo-terminal.
 *
 * libserialport looks a port up in sysfs (/sys/class/tty/<name>, and the link
 * /sys/class/tty/<name>/device), which a pty does not have, and sp_open() fails when the
 * modem-control ioctls (TIOCMGET/TIOCMBIS/TIOCMBIC/TIOCMSET) answer ENOTTY, as they do on
 * a pty. This shim answers those two things for /dev/pts/N only and passes everything
 * else through, so the whole real libserialport API runs against the twins' ptys. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_pty_sysfs(const char* path) {
    return path && strncmp(path, "/sys/class/tty/pts/", 19) == 0;
}

static void fake_directory(struct stat* st) {
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFDIR | 0755;
}

/* libserialport is built against the pre-2.33 glibc stat ABI. */
int __lxstat(int ver, const char* path, struct stat* st) {
    if (is_pty_sysfs(path)) {
        fake_directory(st);
        return 0;
    }
    int (*real)(int, const char*, struct stat*) =
        (int (*)(int, const char*, struct stat*))dlsym(RTLD_NEXT, "__lxstat");
    return real(ver, path, st);
}

int lstat(const char* path, struct stat* st) {
    if (is_pty_sysfs(path)) {
        fake_directory(st);
        return 0;
    }
    int (*real)(const char*, struct stat*) =
        (int (*)(const char*, struct stat*))dlsym(RTLD_NEXT, "lstat");
    return real(path, st);
}

/* The sysfs "device" link decides the transport; a virtual device is a native port. */
ssize_t readlink(const char* path, char* buf, size_t size) {
    if (is_pty_sysfs(path)) {
        const char* target = "../../devices/virtual/tty/ptmx";
        size_t n = strlen(target);
        if (n > size) n = size;
        memcpy(buf, target, n);
        return (ssize_t)n;
    }
    ssize_t (*real)(const char*, char*, size_t) =
        (ssize_t(*)(const char*, char*, size_t))dlsym(RTLD_NEXT, "readlink");
    return real(path, buf, size);
}

int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    int (*real)(int, unsigned long, void*) =
        (int (*)(int, unsigned long, void*))dlsym(RTLD_NEXT, "ioctl");
    int rc = real(fd, request, arg);
    if (rc < 0 && errno == ENOTTY &&
        (request == TIOCMGET || request == TIOCMSET || request == TIOCMBIS ||
         request == TIOCMBIC)) {
        /* A pty has no modem lines: report a cable with everything asserted. */
        if (request == TIOCMGET && arg)
            *(int*)arg = TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_DSR | TIOCM_CD;
        errno = 0;
        return 0;
    }
    return rc;
}
