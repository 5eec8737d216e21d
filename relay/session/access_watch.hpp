// What a session knows of reloads. Sessions keep the snapshot they were
// accepted with (listener, limits), but access is judged again at every
// reload: the newest config is the one a later login is checked against,
// and a grant must still hold under it or the session ends.
//
// A grant also remembers the snapshot it came from: the tenant endpoint and
// upstream TLS context used with a token must come from that snapshot, so a
// pre-reload session is never handed one snapshot's token for another
// snapshot's host. A change of the tenant's identity or endpoint revokes the
// grant (auth::judge_grant), which is what keeps the pair consistent.
//
// Not thread-safe: used only on the session's executor.
#pragma once

#include "auth/grant_revocation.hpp"
#include "relay/runtime.hpp"

#include <memory>
#include <string>

namespace xr::relay {

class AccessWatch {
 public:
  using Snapshot = std::shared_ptr<const ConfigSnapshot>;
  explicit AccessWatch(Snapshot accepted_with) : latest_(accepted_with), grant_snap_(std::move(accepted_with)) {}

  // The config a login is checked against now.
  const Snapshot& latest() const { return latest_; }
  // The config the current grant came from (its tenant, endpoint, TLS).
  const Snapshot& grant_snap() const { return grant_snap_; }

  // A reload: `grant` (null when the session holds none) is judged against
  // `snap`. Returns what revoked it just now; none when still valid, when
  // there is nothing to judge, or when it had been revoked before.
  auth::Revocation reloaded(Snapshot snap, const auth::Grant* grant, const conf::IpAddress& source,
                            conf::Protocol protocol);
  // A login checked against `checked_with` gave `grant` (replacing any
  // earlier grant). When a reload arrived while the check ran, the grant is
  // judged against it at once: what revoked it is returned, none when it
  // holds. Like reloaded(), only a revocation made by this call is returned
  // (once, to be reported once); a session revoked before gets none here and
  // must look at revoked(), which it has to end on either way.
  auth::Revocation granted(Snapshot checked_with, const auth::Grant& grant, const conf::IpAddress& source,
                           conf::Protocol protocol);

  // Set once a reload took the grant away; a session never gets it back
  // (it ends), so a later login on the same session is not offered.
  auth::Revocation revoked() const { return revoked_; }

 private:
  auth::Revocation judge(const auth::Grant& grant, const conf::IpAddress& source, conf::Protocol protocol);

  Snapshot latest_;
  Snapshot grant_snap_;
  auth::Revocation revoked_ = auth::Revocation::none;
};

// The log line and metric of a revocation.
void report_revocation(Services& svc, const std::string& session_id, auth::Revocation why, const auth::Grant& grant,
                       conf::Protocol protocol);

}  // namespace xr::relay
