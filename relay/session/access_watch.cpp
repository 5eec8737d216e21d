#include "relay/session/access_watch.hpp"

namespace xr::relay {

auth::Revocation AccessWatch::judge(const auth::Grant& grant, const conf::IpAddress& source, conf::Protocol protocol) {
  if (grant_snap_ == latest_) return auth::Revocation::none;
  revoked_ = auth::judge_grant(grant_snap_->config, latest_->config, grant, source, protocol);
  return revoked_;
}

auth::Revocation AccessWatch::reloaded(Snapshot snap, const auth::Grant* grant, const conf::IpAddress& source,
                                       conf::Protocol protocol) {
  if (!snap || snap == latest_) return auth::Revocation::none;
  latest_ = std::move(snap);
  if (!grant || revoked_ != auth::Revocation::none) return auth::Revocation::none;
  // Still valid: the grant keeps its own snapshot (same tenant identity and
  // endpoint, or it would not be valid); the next reload is judged against
  // the snapshot the grant was actually given under.
  return judge(*grant, source, protocol);
}

auth::Revocation AccessWatch::granted(Snapshot checked_with, const auth::Grant& grant, const conf::IpAddress& source,
                                      conf::Protocol protocol) {
  // Already revoked (and reported) by an earlier reload: the session is
  // ending; reporting it again here would log and count it twice. Callers
  // see it through revoked().
  if (revoked_ != auth::Revocation::none) return auth::Revocation::none;
  grant_snap_ = std::move(checked_with);
  return judge(grant, source, protocol);
}

void report_revocation(Services& svc, const std::string& session_id, auth::Revocation why, const auth::Grant& grant,
                       conf::Protocol protocol) {
  svc.log.log(conf::LogLevel::info, session_id, "access_revoked",
              {{"user", grant.user.empty() ? "(no_auth)" : grant.user},
               {"mailbox", grant.mailbox},
               {"tenant", grant.tenant},
               {"protocol", conf::to_string(protocol)},
               {"reason", auth::to_string(why)}});
  svc.metrics.add("xoauth2_relay_sessions_revoked_total",
                  {{"protocol", conf::to_string(protocol)}, {"reason", auth::to_string(why)}});
}

}  // namespace xr::relay
