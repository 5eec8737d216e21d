// Shared by the spool tests: an envelope, a committed entry, raw file access.
#pragma once

#include "spool/queue_id.hpp"
#include "spool/store.hpp"
#include "tests/unit/temp_dir.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace xr::spool::test {

inline Envelope envelope(std::string id = new_queue_id(), std::size_t rcpts = 1) {
  Envelope e;
  e.id = std::move(id);
  e.received_ms = 1767225600000;  // 2026-01-01T00:00:00Z
  e.session = "s-42";
  e.client = "192.0.2.10:51234";
  e.user = "scanner01";
  e.tenant = "contoso";
  e.mailbox = "scanner@contoso.com";
  e.mail_from = "scanner@contoso.com";
  e.original_from = "mfp@printers.local";
  for (std::size_t i = 0; i < rcpts; ++i) e.rcpts.push_back({"user" + std::to_string(i) + "@contoso.com", ""});
  return e;
}

inline std::string message(std::size_t body_bytes = 100) {
  std::string m = "From: mfp@printers.local\r\nSubject: Scan\r\nMessage-ID: <abc@printer>\r\n\r\n";
  for (std::size_t i = 0; i < body_bytes; ++i) m += static_cast<char>('a' + i % 26);
  return m;
}

// Queues `msg` under `env` and returns its id.
inline std::string queue(Store& store, const Envelope& env, const std::string& msg) {
  auto w = store.begin(env);
  w.write(msg);
  w.commit();
  return env.id;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::size_t count_files(const std::string& dir) {
  std::size_t n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

inline unsigned mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

// A spool in a fresh temporary directory.
struct Fixture {
  xr::test::TempDir tmp;
  std::string dir = tmp.abs("spool");
  Store store{Store::Options{dir, false, true}};
  std::string path(const std::string& rel) const { return dir + "/" + rel; }
};

}  // namespace xr::spool::test
