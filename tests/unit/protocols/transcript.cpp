#include "transcript.hpp"

namespace xr::test {

std::vector<Plan> feeding_plans(const Plan& script, std::size_t stride) {
  std::vector<Plan> plans;
  plans.push_back(script);

  std::size_t total = 0;
  for (const auto& item : script) total += item.text.size();

  // Split the byte stream once at offset k.
  for (std::size_t k = 1; k < total; k += stride) {
    Plan plan;
    std::size_t offset = 0;
    bool split = false;
    for (const auto& item : script) {
      const std::size_t n = item.text.size();
      if (item.kind == Input::Kind::bytes && !item.atomic && offset < k && k < offset + n) {
        plan.push_back(in(item.text.substr(0, k - offset)));
        plan.push_back(in(item.text.substr(k - offset)));
        split = true;
      } else {
        plan.push_back(item);
      }
      offset += n;
    }
    if (split) plans.push_back(std::move(plan));
  }

  Plan bytewise;
  for (const auto& item : script) {
    if (item.kind != Input::Kind::bytes || item.atomic) {
      bytewise.push_back(item);
      continue;
    }
    for (char c : item.text) bytewise.push_back(in(std::string(1, c)));
  }
  plans.push_back(std::move(bytewise));
  return plans;
}

std::string describe(const Plan& plan) {
  std::string d;
  for (const auto& item : plan) {
    switch (item.kind) {
      case Input::Kind::bytes: d += "[" + std::to_string(item.text.size()) + "]"; break;
      case Input::Kind::eof: d += "[eof]"; break;
      case Input::Kind::timeout: d += "[timeout]"; break;
      case Input::Kind::shutdown: d += "[shutdown]"; break;
    }
  }
  return d;
}

namespace {

std::string take(std::string& out) {
  std::string s = std::move(out);
  out.clear();
  return s;
}

constexpr int kMaxSteps = 1'000'000;  // a machine that never settles fails the test

}  // namespace

// --- server ---------------------------------------------------------------

Upstream::Upstream()
    : command([](const smtp::Command& c) {
        switch (c.kind) {
          case smtp::CommandKind::mail: return smtp::make_reply(250, "2.1.0 Sender OK");
          case smtp::CommandKind::rcpt: return smtp::make_reply(250, "2.1.5 Recipient OK");
          case smtp::CommandKind::data: return smtp::make_reply(354, "Start mail input; end with <CRLF>.<CRLF>");
          case smtp::CommandKind::rset: return smtp::make_reply(250, "2.0.0 Resetting");
          default: return smtp::make_reply(250, "2.0.0 OK");
        }
      }),
      message_end([] { return smtp::make_reply(250, "2.6.0 Queued mail for delivery"); }),
      auth([](const std::string& user, const std::string& password) {
        return user == "alice" && password == "pw-alice" ? smtp::AuthOutcome::ok
                                                         : smtp::AuthOutcome::bad_credentials;
      }) {}

ServerRun run_server(const smtp::ServerOptions& opts, const Plan& plan, const Upstream& up) {
  ServerRun r;
  smtp::Server m(opts);
  m.start();
  std::size_t next_input = 0;
  std::string data;
  auto flush_data = [&] {
    if (data.empty()) return;
    r.events += "DATA[" + data + "]\n";
    data.clear();
  };
  for (int step = 0; step < kMaxSteps; ++step) {
    const auto ev = m.next();
    if (ev != smtp::EventKind::message_data && ev != smtp::EventKind::need_input) flush_data();
    switch (ev) {
      case smtp::EventKind::need_input: {
        r.output += take(m.output());
        if (next_input == plan.size()) {
          flush_data();
          return r;
        }
        const Input& item = plan[next_input++];
        switch (item.kind) {
          case Input::Kind::bytes: m.feed(item.text); break;
          case Input::Kind::eof: m.eof(); break;
          case Input::Kind::timeout: m.timeout(); break;
          case Input::Kind::shutdown: m.shutdown(); break;
        }
        break;
      }
      case smtp::EventKind::authenticate:
        r.output += take(m.output());
        r.events += "AUTH " + m.auth_mechanism() + " " + m.auth_user() + "\n";
        m.complete_auth(up.auth(m.auth_user(), m.auth_password()));
        CHECK(m.auth_password().empty());
        break;
      case smtp::EventKind::upstream_command:
        r.output += take(m.output());
        r.events += "CMD " + m.command().line + "\n";
        r.commands.push_back(m.command());
        m.complete_command(up.command(m.command()));
        break;
      case smtp::EventKind::message_data:
        CHECK(!m.data().empty());
        data.append(m.data());
        break;
      case smtp::EventKind::message_end:
        r.output += take(m.output());
        r.events += "END\n";
        m.complete_command(up.message_end());
        break;
      case smtp::EventKind::message_abort:
        r.events += "ABORT\n";
        break;
      case smtp::EventKind::start_tls:
        r.output += take(m.output());
        r.events += "STARTTLS\n";
        m.tls_started();
        break;
      case smtp::EventKind::close:
        r.output += take(m.output());
        r.events += "CLOSE\n";
        r.closed = true;
        CHECK(m.next() == smtp::EventKind::close);  // closed stays closed
        return r;
    }
  }
  FAIL("server machine did not settle");
  return r;
}

ServerRun run_server_transcript(const smtp::ServerOptions& opts, const Plan& script, const Upstream& up,
                                std::size_t stride) {
  const auto plans = feeding_plans(script, stride);
  ServerRun whole = run_server(opts, plans.front(), up);
  for (std::size_t i = 1; i < plans.size(); ++i) {
    ServerRun r = run_server(opts, plans[i], up);
    const bool same = r.output == whole.output && r.events == whole.events && r.closed == whole.closed;
    if (!same) {
      INFO("feeding plan: ", describe(plans[i]));
      CHECK(r.output == whole.output);
      CHECK(r.events == whole.events);
      CHECK(r.closed == whole.closed);
      break;  // one disagreement is enough to read
    }
  }
  return whole;
}

// --- client ---------------------------------------------------------------

ClientRun run_client(const smtp::ClientOptions& opts, const std::string& token, const Plan& server_bytes,
                     const std::vector<ClientStep>& steps) {
  ClientRun r;
  smtp::Client c(opts);
  c.set_token(token);
  std::size_t next_input = 0, next_step = 0;
  for (int i = 0; i < kMaxSteps; ++i) {
    const auto ev = c.next();
    r.output += take(c.output());
    switch (ev) {
      case smtp::ClientEventKind::need_input:
        if (next_input == server_bytes.size()) return r;
        c.feed(server_bytes[next_input++].text);
        break;
      case smtp::ClientEventKind::start_tls:
        r.events += "STARTTLS\n";
        c.tls_started();
        break;
      case smtp::ClientEventKind::logged_in:
      case smtp::ClientEventKind::reply:
        r.events += ev == smtp::ClientEventKind::logged_in ? "LOGGED_IN\n" : "REPLY " + c.last_reply().summary() + "\n";
        if (next_step == steps.size()) return r;
        steps[next_step++](c);
        r.output += take(c.output());
        break;
      case smtp::ClientEventKind::failed:
        r.failure = c.failure();
        r.challenge = c.challenge();
        r.events += std::string("FAILED ") + smtp::to_string(c.failure()) + " " + c.last_reply().summary() + "\n";
        return r;
    }
  }
  FAIL("client machine did not settle");
  return r;
}

ClientRun run_client_transcript(const smtp::ClientOptions& opts, const std::string& token,
                                const Plan& server_bytes, const std::vector<ClientStep>& steps) {
  const auto plans = feeding_plans(server_bytes);
  ClientRun whole = run_client(opts, token, plans.front(), steps);
  for (std::size_t i = 1; i < plans.size(); ++i) {
    ClientRun r = run_client(opts, token, plans[i], steps);
    // The output holds the token: compare without printing it.
    const bool same_output = r.output == whole.output;
    if (!same_output || r.events != whole.events) {
      INFO("feeding plan: ", describe(plans[i]));
      CHECK(same_output);
      CHECK(r.events == whole.events);
      break;
    }
  }
  return whole;
}

}  // namespace xr::test
