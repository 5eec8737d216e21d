#include "relay/cli/init_command.hpp"

#include "auth/password.hpp"
#include "conf/config.hpp"
#include "conf/files.hpp"
#include "conf/listen_address.hpp"
#include "conf/secret.hpp"
#include "relay/cli/init_template.hpp"
#include "relay/cli/self_signed_cert.hpp"
#include "relay/cli/terminal.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <istream>
#include <ostream>
#include <vector>

namespace xr::relay::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kServiceUser = "xoauth2-relay";  // server.user in the generated config
constexpr const char* kDefaultListen = "0.0.0.0:587";
constexpr const char* kDefaultAuthority = "https://login.microsoftonline.com";
constexpr const char* kDefaultSmtpHost = "smtp.office365.com:587";

using Check = std::function<std::optional<std::string>(std::string_view)>;

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  bool interactive;  // stdin is a terminal and --non-interactive was not given
  std::vector<std::string> problems;  // non-interactive: every missing or invalid flag
};

// One answer; hidden ones are read with echo off (at a terminal only).
bool ask_line(Io& io, const std::string& prompt, std::string& line, bool hidden) {
  return read_line(io.in, io.err, prompt, line, hidden && io.interactive);
}

// A value from its flag, else asked for at the terminal (Enter takes the
// default), else the default; a missing or invalid flag is noted in
// io.problems, naming the flag.
std::string value(Io& io, const std::string& given, const char* flag, const char* question, const std::string& dflt,
                  const Check& check) {
  if (!given.empty()) {
    if (auto why = check(given)) io.problems.push_back(std::string(flag) + ": " + *why);
    return given;
  }
  if (!io.interactive) {
    if (dflt.empty()) io.problems.push_back(std::string("missing ") + flag + " (" + question + ")");
    return dflt;
  }
  for (;;) {
    std::string line;
    if (!ask_line(io, question + (dflt.empty() ? std::string() : " [" + dflt + "]") + ": ", line, false)) {
      io.problems.push_back(std::string("no answer for ") + flag + " (end of input)");
      return dflt;
    }
    if (line.empty()) line = dflt;
    if (line.empty()) continue;
    if (auto why = check(line)) {
      io.err << "  " << *why << "\n";
      continue;
    }
    return line;
  }
}

std::optional<std::string> check_host_port(std::string_view v) {
  std::string why;
  if (parse_host_port(v, &why)) return std::nullopt;
  return why;
}

// The secret from --client-secret-file (any mode: it is the admin's copy;
// the relay's own copy is the 0600 file init writes), or typed hidden.
bool read_client_secret(Io& io, const std::string& file, conf::Secret& secret) {
  if (!file.empty()) {
    std::string text;
    if (auto err = conf::read_text_file(file, text, 64 * 1024)) {
      io.problems.push_back("--client-secret-file: " + *err);
      return false;
    }
    conf::Secret hold(std::move(text));
    std::string v = hold.reveal();
    if (v.size() >= 2 && v.compare(v.size() - 2, 2, "\r\n") == 0) v.resize(v.size() - 2);
    else if (!v.empty() && v.back() == '\n') v.pop_back();
    secret = conf::Secret(std::move(v));
    if (auto why = check_secret(secret.reveal())) {
      io.problems.push_back("--client-secret-file: " + file + ": " + *why);
      return false;
    }
    return true;
  }
  if (!io.interactive) {
    io.problems.push_back("missing --client-secret-file (a file holding the client secret's Value)");
    return false;
  }
  for (;;) {
    std::string line;
    if (!ask_line(io, "Client secret Value (App registrations > Certificates & secrets; input hidden): ", line,
                  true)) {
      io.problems.push_back("no client secret (end of input)");
      return false;
    }
    secret = conf::Secret(std::move(line));
    if (auto why = check_secret(secret.reveal())) {
      io.err << "  " << *why << "\n";
      continue;
    }
    return true;
  }
}

// The device's password: --password-stdin's first line, or typed twice.
bool read_password(Io& io, bool from_stdin, const std::string& user, conf::Secret& password) {
  if (!io.interactive) {
    if (!from_stdin) {
      io.problems.push_back("missing --password-stdin (the device's password, on the first line of stdin)");
      return false;
    }
    std::string line;
    if (!ask_line(io, "", line, false) || line.empty()) {
      io.problems.push_back("--password-stdin: stdin has no password (one line, not empty)");
      return false;
    }
    password = conf::Secret(std::move(line));
    return true;
  }
  for (;;) {
    std::string first, second;
    if (!ask_line(io, "Password for " + user + " (the device logs in with it; input hidden): ", first, true)) break;
    conf::Secret a(std::move(first));
    if (a.empty()) {
      io.err << "  the password is empty\n";
      continue;
    }
    if (!ask_line(io, "Again: ", second, true)) break;
    conf::Secret b(std::move(second));
    if (!(a == b)) {
      io.err << "  the two passwords differ; again\n";
      continue;
    }
    password = std::move(a);
    return true;
  }
  io.problems.push_back("no password (end of input)");
  return false;
}

// A new file with exactly `mode` (O_EXCL: never follows or reuses what is
// there; --force removes it first).
std::optional<std::string> write_new_file(const std::string& path, const std::string& data, mode_t mode, bool force) {
  if (force && ::unlink(path.c_str()) != 0 && errno != ENOENT)
    return "cannot replace " + path + ": " + std::strerror(errno);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
  std::optional<std::string> err;
  if (::fchmod(fd, mode) != 0) err = "cannot chmod " + path + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (!err && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = "cannot write " + path + ": " + std::strerror(errno);
    else done += std::size_t(n);
  }
  if (!err && ::fsync(fd) != 0) err = "cannot write " + path + ": " + std::strerror(errno);
  ::close(fd);
  if (err) ::unlink(path.c_str());
  return err;
}

std::optional<std::string> make_dir(const fs::path& dir, std::vector<std::string>& created) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return std::nullopt;
  if (::mkdir(dir.c_str(), 0750) != 0) {
    if (errno == ENOENT) {
      if (auto err = make_dir(dir.parent_path(), created)) return err;
      if (::mkdir(dir.c_str(), 0750) == 0) {
        created.push_back(dir.string());
        return std::nullopt;
      }
    }
    return "cannot create the directory " + dir.string() + ": " + std::strerror(errno);
  }
  created.push_back(dir.string());
  return std::nullopt;
}

std::string system_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// What init writes, and where.
struct Plan {
  std::string config;        // absolute
  std::string secret;        // absolute
  std::string cert, key;     // absolute; made by init when self_signed
  bool self_signed = true;
  std::vector<std::string> written;  // to remove if a later step fails
};

// Run as root (sudo xoauth2-relay init): the relay runs as its own user and
// must read the secret and the key, which only their owner may (0600).
void hand_over(Io& io, const Plan& plan, const std::vector<std::string>& dirs) {
  if (::geteuid() != 0) return;
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwnam_r(kServiceUser, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    io.out << "\nNote: the relay's user " << kServiceUser << " does not exist yet (the package creates it). Then:\n"
           << "  chown " << kServiceUser << ": " << plan.secret << (plan.self_signed ? " " + plan.key : "") << "\n"
           << "  chgrp " << kServiceUser << " " << plan.config << "\n";
    return;
  }
  bool ok = ::chown(plan.secret.c_str(), pw.pw_uid, pw.pw_gid) == 0;
  if (plan.self_signed) ok = ::chown(plan.key.c_str(), pw.pw_uid, pw.pw_gid) == 0 && ok;
  ok = ::chown(plan.config.c_str(), 0, pw.pw_gid) == 0 && ok;
  for (const auto& d : dirs) ok = ::chown(d.c_str(), 0, pw.pw_gid) == 0 && ok;
  if (!ok)
    io.err << "warning: could not hand the files over to " << kServiceUser << ": " << std::strerror(errno) << "\n";
}

int fail(Io& io, int code) {
  for (const auto& p : io.problems) io.err << "init: " << p << "\n";
  if (!io.interactive && code == 2) io.err << "init: see `xoauth2-relay init --help`\n";
  return code;
}

void remove_written(const Plan& plan) {
  for (const auto& f : plan.written) ::unlink(f.c_str());
}

// A regular file of blank and comment lines only: the Debian package's
// skeleton /etc/xoauth2-relay/relay.yaml, which exists so that the relay does
// not start before init (or the admin) writes a configuration. Nothing in it
// can be lost, so init may replace it without --force.
bool holds_no_settings(const std::string& path) {
  std::error_code ec;
  if (fs::symlink_status(path, ec).type() != fs::file_type::regular || fs::file_size(path, ec) > 64 * 1024 || ec)
    return false;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] != '#') return false;
  }
  return !in.bad();
}

// Never overwrite: an existing config may be the one in production. False
// (with the problems noted) when one of `paths` exists and --force is not given.
// The config itself may be replaced when it holds no settings.
bool refuse_existing(Io& io, const std::string& config, const std::vector<std::string>& paths, bool force) {
  if (force) return true;
  std::error_code ec;
  for (const auto& p : paths)
    if (fs::symlink_status(p, ec).type() != fs::file_type::not_found && !(p == config && holds_no_settings(p)))
      io.problems.push_back(p + " exists; init never overwrites a file");
  if (io.problems.empty()) return true;
  fs::path c(config);
  io.problems.push_back("write elsewhere with --config " + (c.parent_path() / (c.stem().string() + "-new.yaml")).string() +
                        " (a directory of its own keeps the secret and certificate apart), or replace them with "
                        "--force");
  return false;
}

}  // namespace

int run_init(const InitOptions& o, std::istream& in, std::ostream& out, std::ostream& err) {
  Io io{in, out, err, !o.non_interactive && ::isatty(STDIN_FILENO) != 0, {}};
  if (io.interactive)
    err << "xoauth2-relay init: a first configuration. Enter keeps the value in [brackets].\n"
        << "The IDs are on the app registration's Overview page in the Entra admin center.\n";

  // The config first, before any question: no point asking for a file that cannot be written.
  std::error_code ec;
  Plan plan;
  plan.config = fs::absolute(o.config_path, ec).lexically_normal().string();
  if (!refuse_existing(io, plan.config, {plan.config}, o.force)) return fail(io, 1);

  InitValues v;
  v.tenant_id = value(io, o.tenant_id, "--tenant-id", "Directory (tenant) ID", "", check_tenant_id);
  v.client_id = value(io, o.client_id, "--client-id", "Application (client) ID", "", check_client_id);
  conf::Secret secret;
  bool have_secret = read_client_secret(io, o.client_secret_file, secret);
  if (have_secret)
    if (auto w = secret_warning(secret.reveal())) err << "warning: " << *w << "\n";
  v.mailbox = value(io, o.mailbox, "--mailbox", "Office 365 mailbox the device sends as", "", check_mailbox);
  std::string user_default = v.mailbox.substr(0, v.mailbox.find('@'));
  if (!io.interactive) user_default.clear();  // --user is required without a terminal
  v.user = value(io, o.user, "--user", "Device login name", user_default, check_user_name);
  conf::Secret password;
  bool have_password = read_password(io, o.password_stdin, v.user, password);
  v.listen = value(io, o.listen, "--listen", "SMTP listener (STARTTLS) IP:PORT", kDefaultListen, check_listen);
  v.authority = value(io, o.authority, "--authority", "Token authority", kDefaultAuthority, check_authority);
  while (v.authority.size() > 8 && v.authority.back() == '/') v.authority.pop_back();
  std::string smtp = value(io, o.smtp_host, "--smtp-host", "Exchange SMTP host:port", kDefaultSmtpHost,
                           check_host_port);
  if (auto hp = parse_host_port(smtp, nullptr)) {
    v.smtp_host = hp->host;
    v.smtp_port = hp->port;
  }
  v.tenant_name = value(io, o.tenant_name, "--tenant-name", "Tenant name (in the config)", tenant_name_for(v.mailbox),
                          check_tenant_name);
  if (o.cert_file.empty() != o.key_file.empty())
    io.problems.push_back(o.cert_file.empty() ? "--key-file needs --cert-file" : "--cert-file needs --key-file");
  if (!io.problems.empty() || !have_secret || !have_password) return fail(io, 2);

  // Where everything goes: beside the config, as relay.example.yaml has it.
  fs::path dir = fs::path(plan.config).parent_path();
  v.config_path = plan.config;
  v.secret_file = "secrets/" + v.tenant_name + ".secret";
  plan.secret = (dir / v.secret_file).string();
  plan.self_signed = o.cert_file.empty();
  v.self_signed = plan.self_signed;
  if (plan.self_signed) {
    plan.cert = (dir / v.cert_file).string();
    plan.key = (dir / v.key_file).string();
  } else {
    plan.cert = v.cert_file = fs::absolute(o.cert_file, ec).lexically_normal().string();
    plan.key = v.key_file = fs::absolute(o.key_file, ec).lexically_normal().string();
    if (auto why = conf::check_readable(plan.cert)) io.problems.push_back("--cert-file: " + *why);
    if (auto why = conf::check_readable(plan.key, conf::FileUse::private_)) io.problems.push_back("--key-file: " + *why);
  }
  if (!o.ca_file.empty()) {
    v.ca_file = fs::absolute(o.ca_file, ec).lexically_normal().string();
    if (auto why = conf::check_readable(*v.ca_file)) io.problems.push_back("--ca-file: " + *why);
  }
  if (!io.problems.empty()) return fail(io, 2);

  std::vector<std::string> targets{plan.config, plan.secret};
  if (plan.self_signed) targets.insert(targets.end(), {plan.cert, plan.key});
  if (!refuse_existing(io, plan.config, targets, o.force)) return fail(io, 1);

  try {
    std::string hash = auth::hash_password(password.reveal());
    password = conf::Secret();
    v.password_hash = hash;
    std::vector<std::string> dirs;
    for (const fs::path& d : {dir, dir / "secrets", plan.self_signed ? dir / "tls" : dir}) {
      if (auto why = make_dir(d, dirs)) {
        io.problems.push_back(*why);
        return fail(io, 1);
      }
    }
    // The secret file as the relay reads it (one trailing newline dropped).
    conf::Secret content(secret.reveal() + "\n");
    if (auto why = write_new_file(plan.secret, content.reveal(), 0600, o.force)) {
      io.problems.push_back(*why);
      return fail(io, 1);
    }
    plan.written.push_back(plan.secret);
    SelfSigned made;
    if (plan.self_signed) {
      std::string host = system_hostname();
      std::vector<std::string> ips;
      if (auto a = conf::parse_listen_address(v.listen, nullptr); a && a->address != "0.0.0.0" && a->address != "::")
        ips.push_back(a->address);
      made = make_self_signed(host, {host, "localhost"}, ips);
      struct File {
        const std::string& path;
        const std::string& data;
        mode_t mode;
      };
      for (const File& f : {File{plan.key, made.key_pem.reveal(), 0600}, File{plan.cert, made.cert_pem, 0644}}) {
        const auto& [path, data, mode] = f;
        if (auto why = write_new_file(path, data, mode, o.force)) {
          remove_written(plan);
          io.problems.push_back(*why);
          return fail(io, 1);
        }
        plan.written.push_back(path);
      }
    }
    // The same loader as check-config and run: what init writes must load.
    std::string yaml = render_config(v);
    auto loaded = conf::load_config_from_string(yaml, plan.config);
    if (!loaded.config) {
      remove_written(plan);
      for (const auto& e : loaded.errors) io.problems.push_back("internal error, the generated config: " + e.format());
      return fail(io, 1);
    }
    // (Checked again here: a skeleton is replaced, but not a file written meanwhile.)
    const bool replace_config = o.force || holds_no_settings(plan.config);
    if (auto why = write_new_file(plan.config, yaml, 0640, replace_config)) {
      remove_written(plan);
      io.problems.push_back(*why);
      return fail(io, 1);
    }
    plan.written.push_back(plan.config);

    out << "Wrote " << plan.config << "\n"
        << "  client secret:        " << plan.secret << " (mode 0600)\n";
    if (plan.self_signed) {
      out << "  listener certificate: " << plan.cert << " (self-signed for " << system_hostname() << ", valid until "
          << made.not_after << ")\n"
          << "                        SHA-256 " << made.fingerprint << "\n"
          << "  listener key:         " << plan.key << " (mode 0600)\n";
    }
    out << "  device login:         user " << v.user << " on " << v.listen << " (STARTTLS), sends as " << v.mailbox
        << "; its password is stored only as a yescrypt hash\n";
    hand_over(io, plan, dirs);
    out << "\n" << render_powershell(v) << "\n"
        << "next: xoauth2-relay check-config --config " << plan.config << "; xoauth2-relay doctor --config "
        << plan.config << "\n";
    return 0;
  } catch (const std::exception& e) {
    remove_written(plan);
    io.problems.push_back(e.what());
    return fail(io, 1);
  }
}

}  // namespace xr::relay::cli
