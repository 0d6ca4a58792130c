#include "station/mes/sparkplug/sparkplug_sink.hpp"

#include <MQTTClient.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "station/mes/sparkplug/sparkplug_payload.hpp"

namespace linestation::mes::sparkplug {

namespace {

// Sparkplug 3.0.0, "Topic Namespace": spBv1.0/group_id/VERB/edge_node_id[/device_id], and
// the Primary Host's spBv1.0/STATE/host_id.
constexpr const char* kNamespace = "spBv1.0";

// How long one poll of the session's thread waits for a message from the server; a
// delivery that arrives meanwhile waits at most this long for the link.
constexpr std::chrono::milliseconds kPollWait{10};

std::int64_t system_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string mqtt_error(int rc) {
    const char* text = MQTTClient_strerror(rc);
    return text ? std::string(text) + " (" + std::to_string(rc) + ")" : std::to_string(rc);
}

}  // namespace

struct SparkplugSink::Session {
    Session(SparkplugSettings s, SparkplugOptions o)
        : settings(std::move(s)), options(std::move(o)) {
        if (!options.clock_ms) options.clock_ms = system_ms;
        const auto node = std::string(kNamespace) + "/" + settings.group_id;
        ncmd_topic = node + "/NCMD/" + settings.edge_node_id;
        ndeath_topic = node + "/NDEATH/" + settings.edge_node_id;
        nbirth_topic = node + "/NBIRTH/" + settings.edge_node_id;
        device_topic = node + "/%s/" + settings.edge_node_id + "/";
        if (!settings.primary_host.empty()) {
            state_topic = std::string(kNamespace) + "/STATE/" + settings.primary_host;
        }
        // No subscription ever has this filter: its UNSUBACK only confirms that the server
        // has read everything sent before it (QoS 0 publishes have no acknowledgement).
        confirm_topic = node + "/$linestation-confirm/" + settings.edge_node_id;
        for (const auto& slot : options.slots) devices.insert(device_id(slot));
        const auto client_id = "linestation-" + settings.group_id + "-" + settings.edge_node_id;
        const int rc = MQTTClient_create(&client, settings.url.c_str(), client_id.c_str(),
                                         MQTTCLIENT_PERSISTENCE_NONE, nullptr);
        if (rc != MQTTCLIENT_SUCCESS) {
            throw std::runtime_error("sparkplug: cannot use " + settings.url + ": " +
                                     mqtt_error(rc));
        }
        // No MQTTClient_setCallbacks: without them paho runs no thread of its own. With them,
        // paho 1.3.12 starts and stops a receive thread on every CONNECT, calls the
        // connection-lost callback on a further thread that it waits for only 5 s (its
        // handshake lives on the waiting thread's stack), and calls the message callback
        // with queue entries that a disconnect on another thread frees (cleansession): a
        // crash seen once in ~28 drains after an outage (bench_sparkplug). Here every paho
        // call is made under paho_mutex, by the session's thread (connect, births, polling
        // for STATE and NCMD with MQTTClient_receive) or by a delivery (the DDATA).
        MQTTClient_setCommandTimeout(client, 5000);
        thread = std::thread([this] { run(); });
    }

    ~Session() {
        {
            std::lock_guard lock(state_mutex);
            stop = true;
        }
        wake.notify_all();
        thread.join();
        {
            std::lock_guard paho(paho_mutex);
            if (MQTTClient_isConnected(client)) {
                // An intentional disconnect publishes its NDEATH first (the Will is not sent
                // after a DISCONNECT).
                try {
                    publish(ndeath_topic, encode(node_death(state.bd_seq, now_ms())), 0, false);
                } catch (const std::exception&) {
                    // the link died meanwhile: the server sends the Will instead
                }
            }
            MQTTClient_disconnect(client, 1000);
        }
        MQTTClient_destroy(&client);
    }

    std::uint64_t now_ms() const { return static_cast<std::uint64_t>(options.clock_ms()); }

    // --- what the server sends (STATE, NCMD), read by the session's thread ---

    // Under paho_mutex: one MQTTClient_receive, waiting up to kPollWait for a message. A
    // link that died (a read or keep-alive failure, or the server closed it) ends the
    // session; the next CONNECT starts over.
    void poll() {
        char* topic_name = nullptr;
        int topic_len = 0;
        MQTTClient_message* message = nullptr;
        const int rc = MQTTClient_isConnected(client)
                           ? MQTTClient_receive(client, &topic_name, &topic_len, &message,
                                                static_cast<unsigned long>(kPollWait.count()))
                           : MQTTCLIENT_DISCONNECTED;
        if (message) {
            const std::string topic =
                topic_len > 0 ? std::string(topic_name, static_cast<std::size_t>(topic_len))
                              : std::string(topic_name);
            const std::string body(static_cast<const char*>(message->payload),
                                   static_cast<std::size_t>(message->payloadlen));
            MQTTClient_freeMessage(&message);
            MQTTClient_free(topic_name);
            if (topic == ncmd_topic) {
                on_node_command(body);
            } else if (topic == state_topic) {
                on_host_state(body);
            }
        }
        if ((rc == MQTTCLIENT_SUCCESS || rc == MQTTCLIENT_TOPICNAME_TRUNCATED) &&
            MQTTClient_isConnected(client)) {
            return;
        }
        {
            std::lock_guard lock(state_mutex);
            state.connected = false;
            state.born = false;
            state.last_error = "connection to " + settings.url + " lost (" + mqtt_error(rc) + ")";
        }
        wake.notify_all();
    }

    void on_node_command(const std::string& body) {
        bool rebirth = false;
        try {
            rebirth = is_rebirth_request(decode(body));
        } catch (const std::exception&) {
            return;  // a malformed command changes nothing
        }
        if (!rebirth) return;
        {
            std::lock_guard lock(state_mutex);
            rebirth_requested = true;
        }
        wake.notify_all();
    }

    // Sparkplug 3.0.0, "Edge Node Session Establishment": a STATE counts only when its
    // timestamp is not older than the last one seen; an offline one ends the session.
    void on_host_state(const std::string& body) {
        bool online = false;
        std::int64_t timestamp = 0;
        try {
            Poco::JSON::Parser parser;
            const auto o = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
            online = o->getValue<bool>("online");
            timestamp = o->getValue<std::int64_t>("timestamp");
        } catch (const std::exception&) {
            return;  // not a Sparkplug 3.0 STATE
        }
        {
            std::lock_guard lock(state_mutex);
            if (last_state_ms && timestamp < *last_state_ms) return;  // an older session's
            last_state_ms = timestamp;
            state.host_online = online;
            if (!online && state.born) host_left = true;
        }
        wake.notify_all();
    }

    // --- the session's thread ---

    void run() {
        auto backoff = options.reconnect_min;
        std::unique_lock lock(state_mutex);
        while (!stop) {
            if (!state.connected) {
                lock.unlock();
                const bool ok = connect();
                lock.lock();
                if (!ok) {
                    wake.wait_for(lock, backoff, [this] { return stop; });
                    backoff = std::min(backoff * 2, options.reconnect_max);
                    continue;
                }
                backoff = options.reconnect_min;
            }
            if (host_left) {
                host_left = false;
                lock.unlock();
                {
                    std::lock_guard paho(paho_mutex);
                    end_session("primary host " + settings.primary_host + " is offline (STATE)");
                }
                lock.lock();
                continue;
            }
            const bool host_ok = state_topic.empty() || state.host_online;
            if (state.connected && host_ok && (!state.born || rebirth_requested)) {
                lock.unlock();
                {
                    std::lock_guard paho(paho_mutex);
                    try {
                        births();
                    } catch (const std::exception& e) {
                        end_session(e.what());
                    }
                }
                lock.lock();
                continue;
            }
            // A delivery goes first: it has the link until its batch is out and confirmed
            // (what the server sends meanwhile waits in paho's queue for the next poll).
            if (deliveries > 0) {
                wake.wait_for(lock, std::chrono::milliseconds(500),
                              [this] { return deliveries == 0 || stop; });
                continue;
            }
            lock.unlock();
            {
                std::lock_guard paho(paho_mutex);
                poll();
            }
            lock.lock();
        }
    }

    bool connect() {
        std::lock_guard paho(paho_mutex);
        std::uint64_t bd_seq = 0;
        {
            std::lock_guard lock(state_mutex);
            // bdSeq starts at 0 and goes up by one on every CONNECT, 255 wrapping to 0.
            bd_seq = state.connects == 0 ? 0 : (state.bd_seq + 1) % 256;
            // Births wait for a STATE received in this session: the retained one arrives
            // right after the subscription, read by the next poll.
            state.host_online = state_topic.empty();
        }
        const auto will_payload = encode(node_death(bd_seq, now_ms()));
        MQTTClient_willOptions will = MQTTClient_willOptions_initializer;
        will.topicName = ndeath_topic.c_str();
        will.message = nullptr;  // the binary payload below
        will.payload.len = static_cast<int>(will_payload.size());
        will.payload.data = will_payload.data();
        will.qos = 1;
        will.retained = 0;
        MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
        opts.keepAliveInterval = settings.keepalive_s;
        opts.cleansession = 1;  // Sparkplug requires a clean session
        opts.connectTimeout = 3;
        opts.will = &will;
        const int rc = MQTTClient_connect(client, &opts);
        std::string error;
        if (rc != MQTTCLIENT_SUCCESS) {
            error = "cannot connect to " + settings.url + ": " + mqtt_error(rc);
        } else if (const int sub = MQTTClient_subscribe(client, ncmd_topic.c_str(), 1);
                   sub != MQTTCLIENT_SUCCESS) {
            error = "cannot subscribe to " + ncmd_topic + ": " + mqtt_error(sub);
        } else if (!state_topic.empty()) {
            if (const int st = MQTTClient_subscribe(client, state_topic.c_str(), 1);
                st != MQTTCLIENT_SUCCESS) {
                error = "cannot subscribe to " + state_topic + ": " + mqtt_error(st);
            }
        }
        if (!error.empty() && rc == MQTTCLIENT_SUCCESS) MQTTClient_disconnect(client, 0);
        std::lock_guard lock(state_mutex);
        if (!error.empty()) {
            state.last_error = error;
            return false;
        }
        state.bd_seq = bd_seq;
        ++state.connects;
        state.connected = true;
        state.born = false;
        host_left = false;
        return true;
    }

    // Under paho_mutex: the session ends on purpose (the Primary Host went offline) or
    // after a failure (the link may be half dead: an answer never came). An intentional
    // end publishes its NDEATH before the DISCONNECT, which stops the server sending the
    // Will; where the link is dead neither arrives and the server sends the Will itself.
    // The next CONNECT starts over with the next bdSeq; what is committed meanwhile waits
    // in the outbox.
    void end_session(const std::string& why) {
        std::uint64_t bd_seq = 0;
        {
            std::lock_guard lock(state_mutex);
            bd_seq = state.bd_seq;
        }
        MQTTClient_deliveryToken token = 0;
        const auto death = encode(node_death(bd_seq, now_ms()));
        MQTTClient_publish(client, ndeath_topic.c_str(), static_cast<int>(death.size()),
                           death.data(), 0, 0, &token);
        MQTTClient_disconnect(client, 0);
        {
            std::lock_guard lock(state_mutex);
            state.connected = false;
            state.born = false;
            state.last_error = why;
        }
        wake.notify_all();
    }

    // Under paho_mutex. NBIRTH (seq 0, this CONNECT's bdSeq) then a DBIRTH per slot.
    void births() {
        std::uint64_t bd_seq = 0;
        {
            std::lock_guard lock(state_mutex);
            bd_seq = state.bd_seq;
            rebirth_requested = false;
        }
        const auto now = now_ms();
        seq = 0;
        born_devices.clear();
        publish(nbirth_topic, encode(node_birth(bd_seq, now)), 0, false);
        for (const auto& device : devices) birth_device(device, now);
        confirm();
        {
            std::lock_guard lock(state_mutex);
            if (!state.born) session_start_ms = now;
            state.born = true;
            ++state.births;
        }
        wake.notify_all();  // deliveries waiting for the session
    }

    void birth_device(const std::string& device, std::uint64_t now) {
        const auto last = last_verdicts.find(device);
        publish(topic("DBIRTH", device),
                encode(device_birth(last == last_verdicts.end()
                                        ? std::nullopt
                                        : std::optional<SlotVerdict>(last->second),
                                    next_seq(), now)),
                0, false);
        born_devices.insert(device);
    }

    std::uint64_t next_seq() {
        seq = (seq + 1) % 256;
        return seq;
    }

    std::string topic(const char* verb, const std::string& device) const {
        auto t = device_topic;
        t.replace(t.find("%s"), 2, verb);
        return t + device;
    }

    void publish(const std::string& topic_name, const std::string& payload, int qos,
                 bool retained) {
        MQTTClient_deliveryToken token = 0;
        const int rc =
            MQTTClient_publish(client, topic_name.c_str(), static_cast<int>(payload.size()),
                               payload.data(), qos, retained ? 1 : 0, &token);
        if (rc != MQTTCLIENT_SUCCESS) {
            throw std::runtime_error("cannot publish " + topic_name + ": " + mqtt_error(rc));
        }
    }

    // QoS 0 (which Sparkplug requires for births and data) has no acknowledgement; the
    // server answers an UNSUBSCRIBE only after it has read every packet before it on this
    // connection, so its UNSUBACK is the acknowledgement of what was published.
    void confirm() {
        const int rc = MQTTClient_unsubscribe(client, confirm_topic.c_str());
        if (rc != MQTTCLIENT_SUCCESS) {
            throw std::runtime_error("no answer from " + settings.url + ": " + mqtt_error(rc));
        }
    }

    void deliver(const std::vector<store::OutboxEntry>& results) {
        // Read first: a result that cannot be read is refused for good whether or not the
        // broker is there, and a delivery of nothing but such results waits for no session.
        const auto verdicts = outbox::read_or_refuse(results, refused, read_verdict);
        if (std::none_of(verdicts.begin(), verdicts.end(), [](const auto& v) { return v; })) {
            return;
        }
        {
            std::unique_lock lock(state_mutex);
            wake.wait_for(lock, options.session_wait, [this] { return state.born || stop; });
            if (!state.born) {
                if (!state.connected && !state.last_error.empty()) {
                    throw std::runtime_error("sparkplug: " + state.last_error);
                }
                if (!state_topic.empty() && !state.host_online) {
                    throw std::runtime_error("sparkplug: waiting for primary host " +
                                             settings.primary_host + " to be online (STATE)");
                }
                throw std::runtime_error("sparkplug: no session with " + settings.url + " yet");
            }
        }
        // The session's thread stops polling until this delivery has the link.
        {
            std::lock_guard lock(state_mutex);
            ++deliveries;
        }
        struct Done {
            Session& s;
            ~Done() {
                {
                    std::lock_guard lock(s.state_mutex);
                    --s.deliveries;
                }
                s.wake.notify_all();
            }
        } done{*this};
        std::lock_guard paho(paho_mutex);
        std::uint64_t started = 0;
        {
            std::lock_guard lock(state_mutex);
            // The session may have ended while this thread waited for the publisher; the
            // next one is not this thread's to end.
            if (!state.born) throw std::runtime_error("sparkplug: the session ended");
            started = session_start_ms;
        }
        try {
            for (std::size_t i = 0; i < results.size(); ++i) {
                bool rebirth = false;
                {
                    std::lock_guard lock(state_mutex);
                    rebirth = rebirth_requested;
                }
                // A Rebirth request stops the data until the new births are out.
                if (rebirth) births();
                if (!verdicts[i]) continue;  // refused
                const auto& v = *verdicts[i];
                const auto device = device_id(v.slot);
                const auto now = now_ms();
                if (!born_devices.count(device)) {
                    devices.insert(device);
                    birth_device(device, now);
                }
                const bool historical = static_cast<std::uint64_t>(results[i].created_ms) < started;
                publish(topic("DDATA", device), encode(device_data(v, historical, next_seq(), now)),
                        0, false);
                auto& last = last_verdicts[device];
                if (last.result_id.empty() || v.ended_ms >= last.ended_ms) last = v;
            }
            confirm();
        } catch (const std::exception& e) {
            end_session(e.what());
            throw std::runtime_error(std::string("sparkplug: ") + e.what());
        }
    }

    SparkplugSettings settings;
    SparkplugOptions options;
    outbox::Refusals refused;  // results that cannot be read, until the forwarder parks them
    std::string ncmd_topic, ndeath_topic, nbirth_topic, device_topic, state_topic, confirm_topic;
    MQTTClient client = nullptr;

    // What the session's thread and the deliveries share.
    mutable std::mutex state_mutex;
    std::condition_variable wake;
    bool stop = false;
    int deliveries = 0;  // waiting for or holding paho_mutex
    bool rebirth_requested = false;
    bool host_left = false;
    std::optional<std::int64_t> last_state_ms;
    std::uint64_t session_start_ms = 0;
    SparkplugState state;

    // Every paho call, one at a time (connect, births, polls, data, death): paho is then
    // used as its synchronous API wants, and seq and the devices are the holder's own.
    // Taken before state_mutex, never while holding it.
    std::mutex paho_mutex;
    std::uint64_t seq = 0;
    std::set<std::string> devices;       // every slot known
    std::set<std::string> born_devices;  // DBIRTH sent in this session
    std::map<std::string, SlotVerdict> last_verdicts;

    std::thread thread;  // last: started once everything above exists
};

SparkplugSink::SparkplugSink(SparkplugSettings settings, SparkplugOptions options)
    : session_(std::make_unique<Session>(std::move(settings), std::move(options))) {}

SparkplugSink::~SparkplugSink() = default;

void SparkplugSink::deliver(const std::vector<store::OutboxEntry>& results,
                            const store::OutboxBacklog& /*backlog_after*/) {
    session_->deliver(results);
}

std::vector<outbox::ResultSink::Refusal> SparkplugSink::take_refused() {
    return session_->refused.take();
}

SparkplugState SparkplugSink::state() const {
    std::lock_guard lock(session_->state_mutex);
    return session_->state;
}

bool SparkplugSink::wait_for_session(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(session_->state_mutex);
    return session_->wake.wait_for(lock, timeout, [this] { return session_->state.born; });
}

StationSparkplug::StationSparkplug(const SparkplugSettings& settings,
                                   const std::filesystem::path& store_file,
                                   SparkplugOptions options)
    : sink_(settings, std::move(options)), forwarder_(store_file, sink_) {}

}  // namespace linestation::mes::sparkplug
