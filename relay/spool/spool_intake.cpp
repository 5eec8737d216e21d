#include "relay/spool/spool_intake.hpp"

#include "relay/blocking_call.hpp"
#include "relay/spool/engine_impl.hpp"  // unix_ms_now
#include "spool/queue_id.hpp"

namespace xr::relay {
namespace {

smtp::Reply space_refusal() {
  return smtp::make_reply(452, "4.3.1 Insufficient system storage, try again later");
}

// SIZE is the device's estimate for our own check; upstream gets the real
// size from the message itself.
std::string without_size(std::string_view params, std::uint64_t* size) {
  std::string out;
  std::size_t pos = 0;
  while (pos < params.size()) {
    auto end = params.find(' ', pos);
    if (end == std::string_view::npos) end = params.size();
    auto p = params.substr(pos, end - pos);
    if (p.rfind("SIZE=", 0) == 0) {
      *size = std::strtoull(std::string(p.substr(5)).c_str(), nullptr, 10);
    } else if (!p.empty()) {
      if (!out.empty()) out += ' ';
      out += p;
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace

std::uint64_t announced_size(std::string_view params) {
  std::uint64_t size = 0;
  (void)without_size(params, &size);
  return size;
}

void SpoolIntake::set_origin(std::string session, std::string client, std::string user, std::string tenant,
                             std::string mailbox) {
  env_.session = std::move(session);
  env_.client = std::move(client);
  env_.user = std::move(user);
  env_.tenant = std::move(tenant);
  env_.mailbox = std::move(mailbox);
}

smtp::Reply SpoolIntake::mail(std::string upstream_from, std::string original_from, std::string_view params) {
  reset();
  std::uint64_t size = 0;
  env_.mail_params = without_size(params, &size);
  if (auto why = engine_.refusal(size)) {
    error_ = *why;
    return space_refusal();
  }
  env_.mail_from = std::move(upstream_from);
  env_.original_from = std::move(original_from);
  return smtp::make_reply(250, "2.1.0 Sender OK");
}

smtp::Reply SpoolIntake::rcpt(std::string address, std::string params) {
  env_.rcpts.push_back({std::move(address), std::move(params)});
  return smtp::make_reply(250, "2.1.5 Recipient OK");
}

smtp::Reply SpoolIntake::data() {
  env_.id = spool::new_queue_id();
  env_.received_ms = unix_ms_now();
  message_size_ = 0;
  error_.clear();
  try {
    writer_.emplace(engine_.begin(env_));
  } catch (const spool::SpoolError& e) {
    error_ = e.what();
    return smtp::make_reply(451, "4.3.0 Cannot queue the message now, try again later");
  }
  return smtp::make_reply(354, "Start mail input; end with <CRLF>.<CRLF>");
}

void SpoolIntake::write(std::string_view bytes) {
  if (!writer_ || !error_.empty()) return;
  try {
    writer_->write(bytes);
    message_size_ += bytes.size();
  } catch (const spool::SpoolError& e) {
    error_ = e.what();
  }
}

net::awaitable<smtp::Reply> SpoolIntake::finish(net::thread_pool& blocking) {
  last_id_.clear();
  if (!writer_) co_return smtp::make_reply(451, "4.3.0 Cannot queue the message now, try again later");
  if (!error_.empty()) {
    reset();
    co_return smtp::make_reply(451, "4.3.0 Cannot queue the message now, try again later");
  }
  if (auto why = engine_.refusal(message_size_)) {
    error_ = *why;
    writer_.reset();
    co_return space_refusal();
  }
  std::uint64_t file_size = 0;
  std::string failure;
  // fsync can take a while: never on an I/O thread.
  co_await blocking_call(blocking, [&] {
    try {
      file_size = writer_->commit();
    } catch (const spool::SpoolError& e) {
      failure = e.what();
    }
  });
  writer_.reset();
  if (!failure.empty()) {
    error_ = failure;
    co_return smtp::make_reply(451, "4.3.0 Cannot queue the message now, try again later");
  }
  engine_.queued(env_, file_size);
  last_id_ = env_.id;
  co_return smtp::make_reply(250, "2.0.0 Queued as " + env_.id);
}

void SpoolIntake::reset() {
  writer_.reset();  // an uncommitted writer removes its tmp file
  env_.mail_from.clear();
  env_.original_from.clear();
  env_.mail_params.clear();
  env_.rcpts.clear();
  env_.id.clear();
}

}  // namespace xr::relay
