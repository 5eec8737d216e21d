// Transcript runs for the login-only machines (IMAP/POP3 servers facing the
// device, IMAP/POP3 clients facing Office 365). Every script is run with
// each feeding plan of transcript.hpp; all must agree.
#pragma once

#include "protocols/login_client.hpp"
#include "protocols/login_machine.hpp"
#include "transcript.hpp"

#include <functional>
#include <string>
#include <utility>

namespace xr::test {

struct LoginRun {
  std::string output;  // everything the machine wrote
  std::string events;  // "STARTTLS", "AUTH <mechanism> <user>", "LOGGED_IN", "CLOSE", "FAILED ..."
  std::string leftover;  // after LOGGED_IN: the bytes handed over for the splice
  bool closed = false;
};

// The shell's answer to an authenticate event.
using LoginAnswer = std::function<std::pair<LoginOutcome, std::string>(const std::string& user,
                                                                       const std::string& password)>;
// alice / "pw-alice" logs in; upstream capabilities "IMAP4rev1 IDLE".
LoginAnswer accept_alice();

namespace detail {

inline void feed_item(auto& m, const Input& item) {
  switch (item.kind) {
    case Input::Kind::bytes: m.feed(item.text); break;
    case Input::Kind::eof: m.eof(); break;
    case Input::Kind::timeout:
      if constexpr (requires { m.timeout(); }) m.timeout();
      break;
    case Input::Kind::shutdown:
      if constexpr (requires { m.shutdown(); }) m.shutdown();
      break;
  }
}

// Once the machine is done, what was not fed yet arrives anyway: leftovers
// must not depend on how the bytes were split.
inline std::string drain(auto& m, const Plan& plan, std::size_t next) {
  for (; next < plan.size(); ++next)
    if (plan[next].kind == Input::Kind::bytes) m.feed(plan[next].text);
  return m.take_leftover();
}

}  // namespace detail

template <class Server>
LoginRun run_login_server(Server& m, const Plan& plan, const LoginAnswer& answer) {
  LoginRun r;
  m.start();
  std::size_t next = 0;
  for (int step = 0; step < 100000; ++step) {
    const auto ev = m.next();
    r.output += m.take_output();
    switch (ev) {
      case LoginEvent::need_input:
        if (next == plan.size()) return r;
        detail::feed_item(m, plan[next++]);
        break;
      case LoginEvent::start_tls:
        r.events += "STARTTLS\n";
        m.tls_started();
        break;
      case LoginEvent::authenticate: {
        r.events += "AUTH " + m.mechanism() + " " + m.user() + "\n";
        auto [outcome, data] = answer(m.user(), m.password());
        m.complete_auth(outcome, data);
        CHECK(m.password().empty());
        break;
      }
      case LoginEvent::logged_in:
        r.events += "LOGGED_IN\n";
        r.leftover = detail::drain(m, plan, next);
        return r;
      case LoginEvent::close:
        r.events += "CLOSE\n";
        r.closed = true;
        CHECK(m.next() == LoginEvent::close);
        return r;
    }
  }
  FAIL("the machine never settled");
  return r;
}

// Runs `run_one` with every feeding plan; all must agree with the first.
template <class RunOne>
LoginRun all_plans_agree(const Plan& script, RunOne run_one) {
  const auto plans = feeding_plans(script);
  LoginRun first = run_one(plans.front());
  for (std::size_t i = 1; i < plans.size(); ++i) {
    auto r = run_one(plans[i]);
    INFO("feeding plan " << describe(plans[i]));
    CHECK(r.output == first.output);
    CHECK(r.events == first.events);
    CHECK(r.leftover == first.leftover);
  }
  return first;
}

template <class Server, class Options>
LoginRun login_server_transcript(const Options& opts, const Plan& script, const LoginAnswer& answer = accept_alice()) {
  return all_plans_agree(script, [&](const Plan& plan) {
    Server m(opts);
    return run_login_server(m, plan, answer);
  });
}

template <class Client>
LoginRun run_login_client(Client& c, const Plan& plan) {
  LoginRun r;
  std::size_t next = 0;
  for (int step = 0; step < 100000; ++step) {
    const auto ev = c.next();
    r.output += c.take_output();
    switch (ev) {
      case ClientEvent::need_input:
        if (next == plan.size()) return r;
        detail::feed_item(c, plan[next++]);
        break;
      case ClientEvent::logged_in:
        r.events += "LOGGED_IN " + c.capabilities() + "\n";
        r.leftover = detail::drain(c, plan, next);
        return r;
      case ClientEvent::failed:
        r.events += std::string("FAILED ") + to_string(c.failure()) + " " + c.failure_text() + "\n";
        r.closed = true;
        CHECK(c.next() == ClientEvent::failed);
        return r;
    }
  }
  FAIL("the client never settled");
  return r;
}

template <class Client, class Options>
LoginRun login_client_transcript(const Options& opts, const std::string& token, const Plan& script) {
  return all_plans_agree(script, [&](const Plan& plan) {
    Client c(opts, token);
    return run_login_client(c, plan);
  });
}

}  // namespace xr::test
