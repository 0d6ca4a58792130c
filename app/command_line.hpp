#pragma once
// Option parsing for one subcommand, on Poco's OptionSet (unix style: --name value,
// --name=value). Unknown options and missing values are UsageErrors with a clear text.

#include <Poco/Util/OptionSet.h>

#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace linestation::app {

class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// One line from standard input (--password-stdin), without its line ending: passwords
// never go on the command line.
std::string read_password_line();

class CommandLine {
  public:
    CommandLine(std::string command, std::string usage, std::string summary);

    CommandLine& option(const std::string& name, const std::string& argument,
                        const std::string& description, bool required = false,
                        bool repeatable = false);
    CommandLine& flag(const std::string& name, const std::string& description);

    // False when --help was asked for (help is then printed to `out`).
    bool parse(const std::vector<std::string>& args, std::ostream& out);
    void print_help(std::ostream& out) const;

    bool has(const std::string& name) const;
    std::string value(const std::string& name) const;
    std::string value_or(const std::string& name, const std::string& fallback) const;
    std::vector<std::string> values(const std::string& name) const;
    int int_value(const std::string& name, int fallback, int min, int max) const;
    double number_value(const std::string& name, double fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }

  private:
    std::string command_, usage_, summary_;
    Poco::Util::OptionSet options_;
    std::multimap<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

}  // namespace linestation::app
