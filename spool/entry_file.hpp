// Reading and writing the queue file's fixed header, and reading an entry
// (queue file + state file) back (internal to spool/; format in store.hpp).
#pragma once

#include "spool/store.hpp"
#include "spool/store_impl.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace xr::spool {

// "XRSPOOL1 " + 10 digits + " " + 20 digits + "\n"
constexpr std::size_t kHeaderLineSize = 41;
// An envelope is a few hundred bytes; anything near this is damage, and it
// bounds what a damaged header can make us allocate.
constexpr std::uint64_t kMaxEnvelopeSize = 16 * 1024 * 1024;
constexpr std::uint64_t kMaxStateSize = 16 * 1024 * 1024;

std::string header_line(std::uint64_t envelope_size, std::uint64_t message_size);

// Reads the envelope of the open queue file `fd` (queue/<id>) into `out`
// (message_size, file_size, envelope) and the offset of the message's first
// byte. False, and `error` says why, when the file is damaged (bad header,
// size mismatch, bad JSON, another id); SpoolError on an I/O error.
bool read_queue_file(int fd, const std::string& path, std::string_view id, Entry& out,
                     std::uint64_t& data_offset, std::string& error);

// Reads state/<id> into out.state (a fresh state when there is none). False,
// and `error` says why, when it is damaged or does not fit the envelope.
bool read_state_file(const SpoolDirs& dirs, std::string_view id, Entry& out, std::string& error);

}  // namespace xr::spool
