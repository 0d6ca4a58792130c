#pragma once
// Loopback ports for the servers the tests start themselves (mosquitto, PostgreSQL,
// RabbitMQ): nothing a test serves leaves 127.0.0.1.

#include <chrono>
#include <string>

namespace linestation::testing {

// A free port on 127.0.0.1 at the moment of asking.
int free_loopback_port();
// Whether something accepts TCP connections on 127.0.0.1:port now.
bool loopback_accepts(int port);
// Waits until 127.0.0.1:port accepts; throws naming `what` when `timeout` passes first.
void wait_until_loopback_accepts(int port, std::chrono::milliseconds timeout,
                                 const std::string& what);

}  // namespace linestation::testing
