// The files a config refers to: path resolution, readability, secret files.
#pragma once

#include "conf/secret.hpp"

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

namespace xr::conf {

// `path` made absolute against `base_dir` (the config file's directory) and
// normalised; absolute paths are only normalised.
std::string resolve_path(const std::string& base_dir, const std::string& path);

// What a file holds, which decides how strictly it is checked.
enum class FileUse {
  plain,    // certificates, CA bundles, the config itself: a regular file
  private_  // client secrets and private keys: also not readable by group or others
};

// nullopt when `path` is a regular file this process can open for reading
// (and, for private files, whose mode keeps group and others out);
// otherwise why not ("cannot open /x/y: Permission denied"). A FIFO, device
// or directory is refused without blocking.
std::optional<std::string> check_readable(const std::string& path, FileUse use = FileUse::plain);

// Reads a secret file into `out`, dropping one trailing "\n" or "\r\n" (what
// editors and `echo` add). Returns why it failed; the text never contains
// any of the file's contents.
std::optional<std::string> read_secret_file(const std::string& path, Secret& out);

// Reads a regular file of at most `max_bytes` (the config file).
std::optional<std::string> read_text_file(const std::string& path, std::string& out, std::size_t max_bytes);

// The check behind FileUse::private_, on a file's mode bits: nullopt when
// group and others have no access, else the refusal with the chmod that fixes
// it. `systemd_credential`: the file lies in $CREDENTIALS_DIRECTORY, where
// systemd writes 0400 files and grants the service user read access by an
// ACL, whose mask stat() reports as the group bits (0440); that is allowed.
// `owner_note`, when not empty, is added after the fix (the file belongs to
// another user, so chmod alone would lock the relay out).
std::optional<std::string> private_mode_problem(const std::string& path, mode_t mode, bool systemd_credential,
                                                const std::string& owner_note = {});

// True when `path` lies inside $CREDENTIALS_DIRECTORY (when it is set).
bool in_credentials_directory(const std::string& path);

}  // namespace xr::conf
