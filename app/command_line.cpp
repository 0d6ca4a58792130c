#include "app/command_line.hpp"

#include <iostream>

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionProcessor.h>

#include <charconv>

namespace linestation::app {

std::string read_password_line() {
    std::string password;
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    return password;
}

CommandLine::CommandLine(std::string command, std::string usage, std::string summary)
    : command_(std::move(command)), usage_(std::move(usage)), summary_(std::move(summary)) {
    flag("help", "show this help");
}

CommandLine& CommandLine::option(const std::string& name, const std::string& argument,
                                 const std::string& description, bool required, bool repeatable) {
    options_.addOption(Poco::Util::Option(name, "", description, required)
                           .repeatable(repeatable)
                           .argument(argument, true));
    return *this;
}

CommandLine& CommandLine::flag(const std::string& name, const std::string& description) {
    options_.addOption(Poco::Util::Option(name, "", description, false).repeatable(false));
    return *this;
}

bool CommandLine::parse(const std::vector<std::string>& args, std::ostream& out) {
    Poco::Util::OptionProcessor processor(options_);
    processor.setUnixStyle(true);
    std::string pending;  // an option still waiting for its value
    try {
        for (const auto& arg : args) {
            if (arg == "--help" || arg == "-h") {
                print_help(out);
                return false;
            }
            std::string name, value;
            if (processor.process(arg, name, value)) {
                if (!name.empty()) {
                    values_.emplace(name, value);
                    pending.clear();
                } else {
                    pending = arg;
                }
            } else if (arg.rfind("-", 0) == 0 && arg.size() > 1) {
                throw UsageError(command_ + ": unknown option " + arg + " (see station " +
                                 command_ + " --help)");
            } else {
                positional_.push_back(arg);
            }
        }
        if (!pending.empty()) {
            throw UsageError(command_ + ": option " + pending + " needs a value (see station " +
                             command_ + " --help)");
        }
        processor.checkRequired();
    } catch (const Poco::Util::UnknownOptionException& e) {
        throw UsageError(command_ + ": unknown option --" + e.message() + " (see station " +
                         command_ + " --help)");
    } catch (const Poco::Util::OptionException& e) {
        throw UsageError(command_ + ": " + e.displayText() + " (see station " + command_ +
                         " --help)");
    }
    return true;
}

void CommandLine::print_help(std::ostream& out) const {
    Poco::Util::HelpFormatter help(options_);
    help.setUnixStyle(true);
    help.setCommand("station " + command_);
    help.setUsage(usage_);
    help.setHeader(summary_);
    help.setIndent(28);
    help.setWidth(100);
    help.format(out);
}

bool CommandLine::has(const std::string& name) const {
    return values_.count(name) > 0;
}

std::string CommandLine::value(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw UsageError(command_ + ": --" + name + " is required");
    return it->second;
}

std::string CommandLine::value_or(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

std::vector<std::string> CommandLine::values(const std::string& name) const {
    std::vector<std::string> out;
    auto [lo, hi] = values_.equal_range(name);
    for (auto it = lo; it != hi; ++it) out.push_back(it->second);
    return out;
}

int CommandLine::int_value(const std::string& name, int fallback, int min, int max) const {
    if (!has(name)) return fallback;
    auto text = value(name);
    int v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) {
        throw UsageError(command_ + ": --" + name + ": expected an integer from " +
                         std::to_string(min) + " to " + std::to_string(max) + ", got \"" + text +
                         "\"");
    }
    return v;
}

double CommandLine::number_value(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    auto text = value(name);
    try {
        std::size_t used = 0;
        double v = std::stod(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
        return v;
    } catch (const std::exception&) {
        throw UsageError(command_ + ": --" + name + ": expected a number, got \"" + text + "\"");
    }
}

}  // namespace linestation::app
