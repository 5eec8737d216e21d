// `doctor`'s rows for a tenant whose SMTP goes through Microsoft Graph
// (smtp: {via: graph}): the Graph token (token key "<tenant>/graph", scope
// graph.scope), whether it carries the Mail.Send role, and per mapped
// mailbox a dry check (GET /v1.0/users/{mailbox}: nothing is sent). Fixes
// name RBAC for Applications with the tenant's own IDs. Blocking (curl): the
// doctor runs outside the relay's event loops.
#pragma once

#include "auth/token_claims.hpp"
#include "conf/config.hpp"
#include "graph/graph_client.hpp"
#include "relay/doctor_plan.hpp"
#include "relay/doctor_report.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xr::relay {

bool sends_via_graph(const conf::Tenant& t);

class GraphDoctor {
 public:
  GraphDoctor(const conf::Config& cfg, std::vector<DoctorRow>& rows);
  ~GraphDoctor();

  // "graph token" and "graph roles" rows; nothing for other tenants.
  void check_tenant(const std::string& name);
  // "graph mailbox" row for the mailbox's SMTP (after check_tenant).
  void check_mailbox(const DoctorMailbox& m);

 private:
  struct State {
    bool token_ok = false;
    conf::Secret token;
    std::optional<auth::TokenClaims> claims;
  };
  const conf::Config& cfg_;
  std::vector<DoctorRow>& rows_;
  std::map<std::string, State> states_;
  std::unique_ptr<graph::Client> client_;
};

// The app may not send as `mailbox` through Graph: Mail.Send with admin
// consent, or (least privilege) RBAC for Applications in Exchange Online.
// `sp_object_id`: the token's oid claim (empty when unknown).
std::string fix_graph_send(const conf::Tenant& t, const std::string& mailbox, std::string_view sp_object_id);

}  // namespace xr::relay
