#include "drivers/core/usb_device.hpp"

#include <libusb.h>

#include <cstdio>

namespace linestation::drivers {

std::string usb_error_text(int code) {
    return std::string(libusb_strerror(static_cast<libusb_error>(code)));
}

UsbContext::UsbContext() {
    const int rc = libusb_init(&context_);
    if (rc != 0) throw UsbError("cannot start libusb: " + usb_error_text(rc));
}

UsbContext::~UsbContext() {
    libusb_exit(context_);
}

namespace {

struct DeviceList {
    libusb_device** devices = nullptr;
    ssize_t count = 0;
    explicit DeviceList(libusb_context* context) {
        count = libusb_get_device_list(context, &devices);
        if (count < 0)
            throw UsbError("cannot list USB devices: " + usb_error_text(static_cast<int>(count)));
    }
    ~DeviceList() { libusb_free_device_list(devices, 1); }
    DeviceList(const DeviceList&) = delete;
    DeviceList& operator=(const DeviceList&) = delete;
};

std::string string_descriptor(libusb_device_handle* handle, std::uint8_t index) {
    if (!handle || index == 0) return {};
    unsigned char text[256] = {};
    const int n = libusb_get_string_descriptor_ascii(handle, index, text, sizeof text);
    return n > 0 ? std::string(reinterpret_cast<char*>(text), static_cast<std::size_t>(n)) : "";
}

// Fills `info`; with `handle` also the strings (needs the device opened).
bool describe(libusb_device* device, libusb_device_handle* handle, UsbDeviceInfo& info) {
    libusb_device_descriptor d{};
    if (libusb_get_device_descriptor(device, &d) != 0) return false;
    info.bus = libusb_get_bus_number(device);
    info.vid = d.idVendor;
    info.pid = d.idProduct;
    info.device_class = d.bDeviceClass;
    info.bcd_usb = d.bcdUSB;
    std::uint8_t ports[8] = {};
    const int depth = libusb_get_port_numbers(device, ports, sizeof ports);
    info.path = std::to_string(info.bus);
    for (int i = 0; i < depth; ++i) info.path += (i == 0 ? "-" : ".") + std::to_string(ports[i]);
    info.manufacturer = string_descriptor(handle, d.iManufacturer);
    info.product = string_descriptor(handle, d.iProduct);
    info.serial = string_descriptor(handle, d.iSerialNumber);
    return true;
}

}  // namespace

std::vector<UsbDeviceInfo> UsbContext::list() const {
    DeviceList list(context_);
    std::vector<UsbDeviceInfo> out;
    for (ssize_t i = 0; i < list.count; ++i) {
        libusb_device_handle* handle = nullptr;
        const bool opened = libusb_open(list.devices[i], &handle) == 0;
        UsbDeviceInfo info;
        if (describe(list.devices[i], opened ? handle : nullptr, info)) out.push_back(info);
        if (opened) libusb_close(handle);
    }
    return out;
}

UsbDevice::UsbDevice(std::shared_ptr<UsbContext> context, const std::string& port,
                     const std::function<bool(const UsbDeviceInfo&)>& accept)
    : context_(std::move(context)) {
    UsbId id;
    const bool by_id = parse_usb_id(port, id);
    DeviceList list(context_->get());
    int matches = 0;
    std::string refused;
    for (ssize_t i = 0; i < list.count && !handle_; ++i) {
        UsbDeviceInfo info;
        if (!describe(list.devices[i], nullptr, info)) continue;
        if (by_id ? (info.vid != id.vid || info.pid != id.pid) : info.path != port) continue;
        libusb_device_handle* handle = nullptr;
        const int rc = libusb_open(list.devices[i], &handle);
        if (rc != 0) {
            refused = "cannot open " + info.path + ": " + usb_error_text(rc);
            continue;
        }
        describe(list.devices[i], handle, info);
        ++matches;
        if ((by_id && !id.serial.empty() && info.serial != id.serial) ||
            (accept && !accept(info))) {
            libusb_close(handle);
            continue;
        }
        handle_ = handle;
        info_ = info;
    }
    if (!handle_) {
        throw UsbError(refused.empty()
                           ? (matches == 0 ? "no USB device " + port + " attached"
                                           : "no USB device " + port + " among " +
                                                 std::to_string(matches) + " candidates")
                           : refused);
    }
}

UsbDevice::~UsbDevice() {
    for (int interface : claimed_) libusb_release_interface(handle_, interface);
    libusb_close(handle_);
}

void UsbDevice::claim(int interface) {
    // Auto-detach hands the interface back to the kernel driver on release.
    libusb_set_auto_detach_kernel_driver(handle_, 1);
    if (libusb_kernel_driver_active(handle_, interface) == 1) {
        const int rc = libusb_detach_kernel_driver(handle_, interface);
        if (rc != 0 && rc != LIBUSB_ERROR_NOT_FOUND) {
            throw UsbError("cannot detach the kernel driver: " + usb_error_text(rc));
        }
    }
    const int rc = libusb_claim_interface(handle_, interface);
    if (rc != 0)
        throw UsbError("cannot claim interface " + std::to_string(interface) + ": " +
                       usb_error_text(rc));
    claimed_.push_back(interface);
}

int UsbDevice::control(std::uint8_t request_type, std::uint8_t request, std::uint16_t value,
                       std::uint16_t index, std::span<std::uint8_t> data, unsigned timeout_ms) {
    const int rc =
        libusb_control_transfer(handle_, request_type, request, value, index, data.data(),
                                static_cast<std::uint16_t>(data.size()), timeout_ms);
    if (rc < 0) throw UsbError(usb_error_text(rc));
    return rc;
}

}  // namespace linestation::drivers
