// What an upstream's refusal of the relay's XOAUTH2 login most likely means,
// for the `likely_cause=` of upstream_failed: Exchange's set-up steps for a
// Microsoft tenant (protocols/exchange_diagnosis), Google Workspace's for a
// Google one (Gmail answers 535 5.7.8 / NO [AUTHENTICATIONFAILED] after its
// JSON challenge). Pure.
#pragma once

#include "conf/config.hpp"
#include "protocols/smtp_reply.hpp"

#include <string>

namespace xr::auth {

// A refused token at a Google tenant's upstream, for `protocol`.
std::string google_login_refused_cause(const conf::Tenant& tenant, conf::Protocol protocol);

// An SMTP login reply explained for `tenant`'s provider; empty when there is
// nothing to say.
std::string explain_smtp_login_reply(const conf::Tenant& tenant, const smtp::Reply& reply);

}  // namespace xr::auth
