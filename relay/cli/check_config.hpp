// `xoauth2-relay check-config`: everything `run` checks before it starts
// (conf::load_config reads the YAML, the secret files, and loads and matches
// the certificates and keys), printed as file:line:column lines.
#pragma once

#include "conf/config.hpp"

#include <ostream>
#include <string>

namespace xr::relay::cli {

// "file:line:column: warning: key: message".
std::string format_warning(const conf::ConfigError& w);

// Errors and warnings go to `err` in file order, then a count; "OK" goes to
// `out` when there is no error. Returns 0 when only warnings (or nothing)
// were found, 1 on any error.
int run_check_config(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace xr::relay::cli
