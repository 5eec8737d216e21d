// The upstream (Office 365) SMTP client machine.
#include "protocols/smtp_client.hpp"

#include "protocols/base64.hpp"
#include "protocols/dot_stuffing.hpp"
#include "protocols/secret.hpp"

#include <algorithm>
#include <charconv>

namespace xr::smtp {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const std::size_t start = s.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    const std::size_t end = s.find(' ');
    out.push_back(s.substr(0, end));
    s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
  }
  return out;
}

}  // namespace

Capabilities Capabilities::parse(const Reply& ehlo_reply) {
  Capabilities caps;
  // The first line is the server's name and greeting, not an extension.
  for (std::size_t i = 1; i < ehlo_reply.lines.size(); ++i) {
    auto w = words(ehlo_reply.lines[i]);
    if (w.empty()) continue;
    std::string keyword = upper(w[0]);
    if (keyword == "STARTTLS") caps.starttls = true;
    else if (keyword == "PIPELINING") caps.pipelining = true;
    else if (keyword == "CHUNKING") caps.chunking = true;
    else if (keyword == "SMTPUTF8") caps.smtputf8 = true;
    else if (keyword == "8BITMIME") caps.eightbitmime = true;
    else if (keyword == "ENHANCEDSTATUSCODES") caps.enhanced_status_codes = true;
    else if (keyword == "SIZE") {
      std::size_t n = 0;
      if (w.size() > 1) {
        auto [end, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), n);
        if (ec != std::errc() || end != w[1].data() + w[1].size()) n = 0;
      }
      caps.size = n;
    } else if (keyword == "AUTH" || keyword.starts_with("AUTH=")) {
      // "AUTH=LOGIN PLAIN" is the pre-RFC 4954 spelling some servers still send.
      if (keyword.size() > 5) caps.auth.insert(keyword.substr(5));
      for (std::size_t j = 1; j < w.size(); ++j) caps.auth.insert(upper(w[j]));
    }
  }
  return caps;
}

const char* to_string(ClientFailure f) {
  switch (f) {
    case ClientFailure::none: return "none";
    case ClientFailure::greeting_refused: return "greeting_refused";
    case ClientFailure::no_starttls: return "no_starttls";
    case ClientFailure::no_xoauth2: return "no_xoauth2";
    case ClientFailure::auth_refused: return "auth_refused";
    case ClientFailure::protocol_error: return "protocol_error";
  }
  return "unknown";
}

struct Client::Impl {
  enum class State {
    greeting,      // waiting for 220
    ehlo,          // first EHLO sent
    starttls,      // STARTTLS sent
    tls_wait,      // start_tls returned; waiting for tls_started()
    ehlo_tls,      // EHLO after TLS sent
    auth_continue, // "AUTH XOAUTH2" sent, waiting for 334
    auth_result,   // response sent, waiting for 235
    auth_failure,  // error challenge answered, waiting for the final reply
    ready,         // logged in, no command outstanding
    command,       // a command (or message end, or chunk) outstanding
    failed,
  };

  explicit Impl(ClientOptions o) : opts(std::move(o)) {}
  ~Impl() {
    wipe_secret(token);
    wipe_secret(response);
  }

  ClientOptions opts;
  State state = State::greeting;
  std::string in;
  ReplyParser parser;
  Reply last;
  Capabilities caps;
  ClientFailure failure = ClientFailure::none;
  std::string token;     // until the AUTH line is built
  std::string response;  // the XOAUTH2 response, while the two-step form waits for 334
  std::string challenge; // the decoded error challenge, when the server sent one
  DotEncoder encoder;

  ClientEventKind fail(ClientFailure why) {
    failure = why;
    state = State::failed;
    wipe_secret(token);
    wipe_secret(response);
    return ClientEventKind::failed;
  }

  void send(std::string& out, std::string_view line) {
    out += line;
    out += "\r\n";
  }

  ClientEventKind after_ehlo(std::string& out);
  ClientEventKind on_reply(std::string& out);
};

ClientEventKind Client::Impl::after_ehlo(std::string& out) {
  caps = Capabilities::parse(last);
  if (!caps.auth.contains("XOAUTH2")) return fail(ClientFailure::no_xoauth2);
  response = xoauth2_initial_response(opts.mailbox, token);
  wipe_and_release(token);
  static constexpr std::string_view kAuth = "AUTH XOAUTH2";
  // RFC 4954 4: the initial response goes on the AUTH line only if the line
  // stays within the limit; otherwise the server asks for it with 334.
  if (kAuth.size() + 1 + response.size() + 2 <= opts.max_line) {
    out += kAuth;
    out += ' ';
    out += response;
    out += "\r\n";
    wipe_and_release(response);
    state = State::auth_result;
  } else {
    send(out, kAuth);
    state = State::auth_continue;
  }
  return ClientEventKind::need_input;
}

ClientEventKind Client::Impl::on_reply(std::string& out) {
  switch (state) {
    case State::greeting:
      if (last.code != 220) return fail(ClientFailure::greeting_refused);
      send(out, "EHLO " + opts.helo_name);
      state = State::ehlo;
      return ClientEventKind::need_input;
    case State::ehlo:
      if (last.code != 250) return fail(ClientFailure::protocol_error);
      if (opts.implicit_tls) return after_ehlo(out);
      caps = Capabilities::parse(last);
      if (!caps.starttls) return fail(ClientFailure::no_starttls);
      send(out, "STARTTLS");
      state = State::starttls;
      return ClientEventKind::need_input;
    case State::starttls:
      if (last.code != 220) return fail(ClientFailure::protocol_error);
      // Anything after the 220 came before TLS: never trust it.
      wipe_secret(in);
      state = State::tls_wait;
      return ClientEventKind::start_tls;
    case State::ehlo_tls:
      if (last.code != 250) return fail(ClientFailure::protocol_error);
      return after_ehlo(out);
    case State::auth_continue:
      if (last.code != 334) return fail(ClientFailure::auth_refused);
      send(out, response);
      wipe_and_release(response);
      state = State::auth_result;
      return ClientEventKind::need_input;
    case State::auth_result:
      if (last.code == 235) {
        state = State::ready;
        return ClientEventKind::logged_in;
      }
      if (last.code == 334) {
        // Error challenge (base64 JSON): answer with an empty response to
        // get the final failure reply.
        challenge = decode_error_challenge(last.lines.empty() ? std::string_view{} : last.lines.front());
        send(out, "");
        state = State::auth_failure;
        return ClientEventKind::need_input;
      }
      return fail(ClientFailure::auth_refused);
    case State::auth_failure:
      return fail(ClientFailure::auth_refused);
    case State::command:
      state = State::ready;
      return ClientEventKind::reply;
    case State::tls_wait:
    case State::ready:
    case State::failed:
      break;
  }
  return ClientEventKind::need_input;
}

Client::Client(ClientOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
Client::~Client() { wipe_secret(out_); }
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::set_token(std::string token) {
  wipe_secret(impl_->token);
  impl_->token = std::move(token);
}

void Client::feed(std::string_view bytes) {
  if (impl_->state == Impl::State::failed || impl_->state == Impl::State::tls_wait) return;
  impl_->in.append(bytes);
}

ClientEventKind Client::next() {
  auto& m = *impl_;
  using S = Impl::State;
  // Replies already buffered are handled before asking for more input (the
  // shell would otherwise wait on the socket for bytes it already gave us).
  for (;;) {
    if (m.state == S::failed) return ClientEventKind::failed;
    if (m.state == S::tls_wait) return ClientEventKind::start_tls;
    // Nothing outstanding: leave any unsolicited reply (a 421) for the next
    // command. An empty input buffer is given back: the connection may now
    // stay idle for long.
    if (m.state == S::ready) {
      if (m.in.empty()) std::string().swap(m.in);
      return ClientEventKind::need_input;
    }
    std::size_t used = 0;
    const auto status = m.parser.feed(m.in, used);
    m.in.erase(0, used);
    if (status == ReplyParser::Status::need_more) return ClientEventKind::need_input;
    if (status == ReplyParser::Status::error) return m.fail(ClientFailure::protocol_error);
    m.last = m.parser.take();
    const auto ev = m.on_reply(out_);
    if (ev != ClientEventKind::need_input) return ev;
  }
}

void Client::tls_started() {
  auto& m = *impl_;
  if (m.state != Impl::State::tls_wait) return;
  m.in.clear();
  m.parser = ReplyParser();
  m.send(out_, "EHLO " + m.opts.helo_name);
  m.state = Impl::State::ehlo_tls;
}

void Client::command(std::string_view line) {
  auto& m = *impl_;
  if (m.state != Impl::State::ready) return;
  m.send(out_, line);
  m.state = Impl::State::command;
}

void Client::message_data(std::string_view unstuffed) {
  if (impl_->state != Impl::State::ready) return;
  impl_->encoder.encode(unstuffed, out_);
}

void Client::message_end() {
  auto& m = *impl_;
  if (m.state != Impl::State::ready) return;
  m.encoder.finish(out_);
  m.state = Impl::State::command;
}

void Client::bdat(std::string_view chunk, bool last) {
  auto& m = *impl_;
  if (m.state != Impl::State::ready) return;
  out_ += "BDAT " + std::to_string(chunk.size()) + (last ? " LAST\r\n" : "\r\n");
  out_ += chunk;
  m.state = Impl::State::command;
}

const Capabilities& Client::capabilities() const { return impl_->caps; }
const Reply& Client::last_reply() const { return impl_->last; }
ClientFailure Client::failure() const { return impl_->failure; }
const std::string& Client::challenge() const { return impl_->challenge; }

}  // namespace xr::smtp
