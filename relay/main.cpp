// xoauth2-relay: run | check-config | hash-password | doctor | queue | init
#include "auth/password.hpp"
#include "conf/config.hpp"
#include "relay/cli/init_command.hpp"
#include "relay/cli/check_config.hpp"
#include "relay/cli/queue_command.hpp"
#include "relay/cli/terminal.hpp"
#include "relay/doctor.hpp"
#include "relay/log.hpp"
#include "relay/process/core_dumps.hpp"
#include "relay/server.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <csignal>
#include <iostream>
#include <string>

namespace {

constexpr const char* kDefaultConfig = "/etc/xoauth2-relay/relay.yaml";

int print_errors(const std::vector<xr::conf::ConfigError>& errors) {
  for (const auto& e : errors) std::cerr << e.format() << "\n";
  std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors") << "\n";
  return 1;
}


// One line from stdin; echo is off while a person types it at a terminal.
bool read_password(std::string& out) {
  const bool tty = isatty(STDIN_FILENO);
  return xr::relay::cli::read_line(std::cin, std::cerr, tty ? "Password: " : "", out, true);
}

int hash_password() {
  std::string pw;
  if (!read_password(pw) || pw.empty()) {
    std::cerr << "hash-password: no password given (type it, or pipe one line on stdin)\n";
    return 1;
  }
  try {
    std::string hash = xr::auth::hash_password(pw);
    std::fill(pw.begin(), pw.end(), '\0');
    std::cout << hash << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hash-password: " << e.what() << "\n";
    return 1;
  }
}

int doctor(const std::string& path, const xr::relay::DoctorOptions& options) {
  auto loaded = xr::conf::load_config(path);
  if (!loaded.config) return print_errors(loaded.errors);
  std::signal(SIGPIPE, SIG_IGN);
  return xr::relay::run_doctor(*loaded.config, options, std::cout);
}

int run(const std::string& path, int threads) {
  xr::relay::Logger log;
  auto loaded = xr::conf::load_config(path);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) log.error("", "config_error", {{"error", e.format()}});
    return 1;
  }
  log.configure(loaded.config->log_level, loaded.config->log_format);
  log.info("", "starting", {{"version", XR_VERSION}, {"config", path}});
  // What check-config prints as warnings (relay/cli/check_config.cpp).
  for (const auto& w : loaded.warnings) log.warn("", "config_warning", {{"warning", w.format()}});
  xr::relay::ServerOptions opts;
  opts.config_path = path;
  opts.io_threads = threads;
  return xr::relay::run_server(std::move(*loaded.config), opts, log);
}

// queue list|flush|delete|hold|release, each with -c/--config; the work is
// in relay/cli/queue_command.cpp.
CLI::App* add_queue_command(CLI::App& app, std::string& config, xr::relay::cli::QueueCommand& cmd) {
  auto* queue = app.add_subcommand("queue", "Show or change the spool's queue (safe while the relay runs)");
  queue->require_subcommand(1);
  struct Sub {
    const char* name;
    const char* help;
  };
  static constexpr Sub kSubs[] = {
      {"list", "List queued messages (--json for scripts)"},
      {"flush", "Retry now: the given messages, or all"},
      {"delete", "Delete messages without a bounce"},
      {"hold", "Keep messages from being delivered until released"},
      {"release", "Release held messages and retry them now"},
  };
  for (const auto& sub : kSubs) {
    auto* s = queue->add_subcommand(sub.name, sub.help);
    s->add_option("-c,--config", config, "Configuration file")->capture_default_str();
    const std::string name = sub.name;
    if (name == "list")
      s->add_flag("--json", cmd.json, "JSON instead of a table");
    else
      s->add_option("ID", cmd.ids, "Queue ids, as `queue list` shows them")->required(name != "flush");
    s->callback([&cmd, name] { cmd.action = name; });
  }
  return queue;
}

}  // namespace

int main(int argc, char** argv) {
  // Every subcommand may hold a secret (run and doctor: client secrets and
  // tokens; hash-password: a password): none of them leaves a core file.
  xr::relay::process::disable_core_dumps();
  CLI::App app{"xoauth2-relay: legacy SMTP/IMAP/POP3 logins in, Office 365 XOAUTH2 out"};
  app.set_version_flag("--version", std::string("xoauth2-relay ") + XR_VERSION);
  app.require_subcommand(1);

  std::string config = kDefaultConfig;
  int threads = 0;
  auto* run_cmd = app.add_subcommand(
      "run", "Run the relay in the foreground (SIGHUP reloads the configuration, SIGTERM drains and stops)");
  run_cmd->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  run_cmd->add_option("--threads", threads, "I/O threads (default: one per core)");
  auto* check_cmd = app.add_subcommand(
      "check-config", "Validate the configuration; print OK, or every error as file:line:column and exit 1");
  check_cmd->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  auto* hash_cmd = app.add_subcommand(
      "hash-password",
      "Read a password from stdin (no echo at a terminal) and print its yescrypt hash for password_hash:");

  xr::relay::DoctorOptions doctor_options;
  auto* doctor_cmd = app.add_subcommand(
      "doctor", "Check the Entra ID and Exchange Online set-up of each tenant and mailbox; print the fixes");
  doctor_cmd->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  doctor_cmd->add_option("--tenant", doctor_options.tenant, "Only this tenant (its name in the config)");
  doctor_cmd->add_option("--mailbox", doctor_options.mailbox,
                         "Only this mailbox (an address a user or no_auth rule maps to)");

  xr::relay::cli::QueueCommand queue_command;
  auto* queue_cmd = add_queue_command(app, config, queue_command);
  xr::relay::cli::InitOptions init_options;
  auto* init_cmd = xr::relay::cli::add_init_command(app, init_options);

  CLI11_PARSE(app, argc, argv);
  if (*run_cmd) return run(config, threads);
  if (*check_cmd) return xr::relay::cli::run_check_config(config, std::cout, std::cerr);
  if (*hash_cmd) return hash_password();
  if (*doctor_cmd) return doctor(config, doctor_options);
  if (*init_cmd) return xr::relay::cli::run_init(init_options, std::cin, std::cout, std::cerr);
  if (*queue_cmd) {
    queue_command.config_path = config;
    return xr::relay::cli::run_queue_command(queue_command, std::cout, std::cerr);
  }
  return 2;
}
