// Transcript testing for the sans-IO machines: a scripted conversation is run
// with its input fed whole, split at every byte offset, and one byte at a
// time; every way of feeding must give the same output and events. This is
// what catches state kept wrongly across feed() boundaries.
#pragma once

#include "protocols/smtp_client.hpp"
#include "protocols/smtp_server.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

namespace xr::test {

// One piece of scripted input. Actions run when the machine has used up the
// input before them and asks for more.
struct Input {
  enum class Kind { bytes, eof, timeout, shutdown };
  Kind kind = Kind::bytes;
  std::string text;
  bool atomic = false;  // always fed in one piece (bytes that arrive together, e.g. an injection)
};
inline Input in(std::string text) { return {Input::Kind::bytes, std::move(text), false}; }
inline Input in_atomic(std::string text) { return {Input::Kind::bytes, std::move(text), true}; }
inline Input eof_input() { return {Input::Kind::eof, {}, false}; }
inline Input timeout_input() { return {Input::Kind::timeout, {}, false}; }
inline Input shutdown_input() { return {Input::Kind::shutdown, {}, false}; }

using Plan = std::vector<Input>;

// Whole; split at each offset (every `stride`-th for long scripts); one byte
// at a time. The first plan is always the whole one.
std::vector<Plan> feeding_plans(const Plan& script, std::size_t stride = 1);
std::string describe(const Plan& plan);

// --- server ---------------------------------------------------------------

// What the shell answers for the server's events; defaults accept everything
// and take alice / "pw-alice" as the only valid login.
struct Upstream {
  std::function<smtp::Reply(const smtp::Command&)> command;
  std::function<smtp::Reply()> message_end;
  std::function<smtp::AuthOutcome(const std::string& user, const std::string& password)> auth;
  Upstream();
};

struct ServerRun {
  std::string output;  // everything the server wrote to the device
  std::string events;  // one line per event; consecutive message_data merged: "DATA[...]"
  std::vector<smtp::Command> commands;
  bool closed = false;  // false: still waiting for input when the script ran out
};

ServerRun run_server(const smtp::ServerOptions& opts, const Plan& plan, const Upstream& up = {});
// Runs every feeding plan, CHECKs they agree, returns the whole-feed run.
ServerRun run_server_transcript(const smtp::ServerOptions& opts, const Plan& script, const Upstream& up = {},
                                std::size_t stride = 1);

// --- client ---------------------------------------------------------------

// The shell's side of a client conversation: on each logged_in / reply event
// the next step runs (issuing a command, streaming a message). When no step
// is left the run ends.
using ClientStep = std::function<void(smtp::Client&)>;

struct ClientRun {
  std::string output;  // everything the client wrote (may hold the token: compare, never print)
  std::string events;  // "STARTTLS", "LOGGED_IN", "REPLY 250 ...", "FAILED <why> <summary>"
  smtp::ClientFailure failure = smtp::ClientFailure::none;
  std::string challenge;  // the client's decoded error challenge at the failure
};

ClientRun run_client(const smtp::ClientOptions& opts, const std::string& token, const Plan& server_bytes,
                     const std::vector<ClientStep>& steps);
ClientRun run_client_transcript(const smtp::ClientOptions& opts, const std::string& token,
                                const Plan& server_bytes, const std::vector<ClientStep>& steps);

}  // namespace xr::test
