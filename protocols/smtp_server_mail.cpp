// MAIL, RCPT and DATA on the device side, and the completions that carry
// Office 365's replies back to the device.
#include "protocols/smtp_path.hpp"
#include "protocols/smtp_server_impl.hpp"

#include <charconv>

namespace xr::smtp {
namespace {

constexpr std::size_t kMaxRecipients = 500;  // Exchange Online's per-message limit

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Server::Impl::Handled Server::Impl::on_mail(Server& s, std::string_view args) {
  if (greeting == Greeting::none) {
    fail(s, "503 5.5.1 Send HELO/EHLO first");
    return std::nullopt;
  }
  if (opts.auth_required && !authenticated) {
    fail(s, "530 5.7.0 Authentication required");
    return std::nullopt;
  }
  if (mail_open) {
    fail(s, "503 5.5.1 Sender already specified");
    return std::nullopt;
  }
  std::optional<PathArgument> path;
  if (istarts_with(args, "FROM:")) path = parse_path_argument(args.substr(5));
  if (!path) {
    fail(s, "501 5.1.7 Bad sender address syntax");
    return std::nullopt;
  }

  std::string params;  // normalised, without AUTH=
  bool smtputf8 = false;
  for (const std::string& p : path->params) {
    const std::size_t eq = p.find('=');
    std::string_view key = std::string_view(p).substr(0, eq);
    std::string_view value = eq == std::string::npos ? std::string_view{} : std::string_view(p).substr(eq + 1);
    std::string normalised;
    if (iequals(key, "SIZE")) {
      std::size_t n = 0;
      if (!all_digits(value)) {
        fail(s, "501 5.5.4 Invalid SIZE parameter");
        return std::nullopt;
      }
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      (void)end;
      if (ec == std::errc::result_out_of_range || n > opts.max_message_size) {
        fail(s, "552 5.3.4 Message size exceeds fixed maximum message size");
        return std::nullopt;
      }
      normalised = "SIZE=" + std::to_string(n);
    } else if (iequals(key, "BODY")) {
      if (iequals(value, "7BIT")) normalised = "BODY=7BIT";
      else if (iequals(value, "8BITMIME")) normalised = "BODY=8BITMIME";
      else {
        fail(s, "501 5.5.4 Invalid BODY parameter");
        return std::nullopt;
      }
    } else if (iequals(key, "SMTPUTF8") && eq == std::string::npos) {
      smtputf8 = true;
      normalised = "SMTPUTF8";
    } else if (iequals(key, "AUTH")) {
      continue;  // RFC 4954 5: about our own relaying trust; not forwarded
    } else {
      fail(s, "555 5.5.4 Unsupported parameter");
      return std::nullopt;
    }
    if (!params.empty()) params += ' ';
    params += normalised;
  }
  if (!smtputf8 && !is_ascii(path->address)) {
    fail(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
    return std::nullopt;
  }
  std::string line = mail_from_line(path->address, params);
  s.command_ = Command{CommandKind::mail, std::move(path->address), std::move(params), std::move(line)};
  pending_smtputf8 = smtputf8;
  pending = Pending::command;
  return EventKind::upstream_command;
}

Server::Impl::Handled Server::Impl::on_rcpt(Server& s, std::string_view args) {
  if (!mail_open) {
    fail(s, "503 5.5.1 Need MAIL command");
    return std::nullopt;
  }
  std::optional<PathArgument> path;
  if (istarts_with(args, "TO:")) path = parse_path_argument(args.substr(3));
  if (!path || path->address.empty()) {
    fail(s, "501 5.1.3 Bad recipient address syntax");
    return std::nullopt;
  }
  if (!path->params.empty()) {
    fail(s, "555 5.5.4 Unsupported parameter");
    return std::nullopt;
  }
  if (!mail_smtputf8 && !is_ascii(path->address)) {
    fail(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
    return std::nullopt;
  }
  if (recipients >= kMaxRecipients) {
    reply(s, "452 4.5.3 Too many recipients");
    return std::nullopt;
  }
  std::string line = "RCPT TO:<" + path->address + ">";
  s.command_ = Command{CommandKind::rcpt, std::move(path->address), {}, std::move(line)};
  pending = Pending::command;
  return EventKind::upstream_command;
}

Server::Impl::Handled Server::Impl::on_data(Server& s, std::string_view args) {
  if (!args.empty() && args.find_first_not_of(' ') != std::string_view::npos) {
    fail(s, "501 5.5.4 Syntax: DATA");
  } else if (!mail_open) {
    fail(s, "503 5.5.1 Need MAIL command");
  } else if (recipients == 0) {
    fail(s, "554 5.5.1 No valid recipients");
  } else {
    s.command_ = Command{CommandKind::data, {}, {}, "DATA"};
    pending = Pending::command;
    return EventKind::upstream_command;
  }
  return std::nullopt;
}

void Server::Impl::complete_command(Server& s, const Reply& given) {
  if (pending != Pending::command && pending != Pending::message_end) return;
  const bool message_end = pending == Pending::message_end;
  pending = Pending::none;
  // A reply without a valid code would be a shell bug; never pass on
  // something the device could read as success.
  const Reply reply = given.code >= 200 && given.code <= 599
                          ? given
                          : make_reply(451, "4.3.0 Local error in processing");
  const bool ok = reply.klass() == 2;
  if (message_end) {
    s.out_ += reply.wire();
    if (ok) ++accepted;
    reset_transaction();
    return;
  }
  switch (s.command_.kind) {
    case CommandKind::mail:
      s.out_ += reply.wire();
      if (ok) {
        mail_open = true;
        mail_smtputf8 = pending_smtputf8;
        recipients = 0;
      }
      break;
    case CommandKind::rcpt:
      s.out_ += reply.wire();
      if (ok) ++recipients;
      break;
    case CommandKind::data:
      s.out_ += reply.wire();
      if (reply.code == 354) {
        in_data = true;
        decoder.reset();
        message_size = 0;
        message_aborted = false;
        bare_cr = false;
        message_done = false;
      }
      break;
    case CommandKind::rset:
      // After EHLO/HELO in a transaction the device waits for the EHLO reply.
      if (!ehlo_after_rset.empty()) {
        s.out_ += ehlo_after_rset;
        ehlo_after_rset.clear();
      } else {
        s.out_ += reply.wire();
      }
      reset_transaction();
      break;
    case CommandKind::quit:
    case CommandKind::noop:
      s.out_ += reply.wire();
      break;
  }
}

}  // namespace xr::smtp
