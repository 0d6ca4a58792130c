#include "station/logging.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/SplitterChannel.h>

namespace linestation {

void configure_logging(const std::filesystem::path& log_file, const std::string& level,
                       bool console) {
    Poco::AutoPtr<Poco::SplitterChannel> splitter(new Poco::SplitterChannel);
    if (console) splitter->addChannel(Poco::AutoPtr<Poco::Channel>(new Poco::ConsoleChannel));
    if (!log_file.empty()) {
        if (log_file.has_parent_path()) std::filesystem::create_directories(log_file.parent_path());
        Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(log_file.string()));
        file->setProperty("rotation", "10 M");
        file->setProperty("archive", "timestamp");
        file->setProperty("purgeCount", "10");
        file->setProperty("flush", "false");
        splitter->addChannel(file);
    }
    Poco::AutoPtr<Poco::PatternFormatter> pattern(
        new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %q %s: %t"));
    pattern->setProperty("times", "UTC");
    Poco::AutoPtr<Poco::FormattingChannel> formatting(new Poco::FormattingChannel(pattern, splitter));
    Poco::Logger::root().setChannel(formatting);
    Poco::Logger::root().setLevel(level);
    // Loggers created before this call keep their old channel unless updated.
    Poco::Logger::setChannel("", formatting);
    Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

}  // namespace linestation
