#pragma once
// What the web part may ask of the station. web/ depends on station/ through this
// interface only, so the server can be tested against any implementation.

#include <string>

namespace linestation {

struct HealthReport {
    std::string version;
    std::string station_id;
    std::string station_name;
    double uptime_s = 0;
    bool store_ok = false;
    int schema_version = 0;
    bool virtual_line = true;
};

class StationService {
public:
    virtual ~StationService() = default;
    virtual HealthReport health() = 0;
};

}  // namespace linestation
