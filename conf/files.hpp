// The files a config refers to: path resolution, readability, secret files.
#pragma once

#include "conf/secret.hpp"

#include <optional>
#include <string>

namespace xr::conf {

// `path` made absolute against `base_dir` (the config file's directory) and
// normalised; absolute paths are only normalised.
std::string resolve_path(const std::string& base_dir, const std::string& path);

// nullopt when `path` is a regular file this process can open for reading;
// otherwise why not ("cannot open /x/y: Permission denied").
std::optional<std::string> check_readable(const std::string& path);

// Reads a secret file into `out`, dropping one trailing "\n" or "\r\n" (what
// editors and `echo` add). Returns why it failed; the text never contains
// any of the file's contents.
std::optional<std::string> read_secret_file(const std::string& path, Secret& out);

}  // namespace xr::conf
