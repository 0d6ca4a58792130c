#pragma once
// The Clock lives in drivers/core/clock.hpp, below every part that waits on it (drivers
// time their backoff on it too). This forwarding header keeps code written against the
// old path compiling; new code includes drivers/core/clock.hpp.
#include "drivers/core/clock.hpp"
