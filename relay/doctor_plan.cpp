#include "relay/doctor_plan.hpp"

#include <algorithm>
#include <cctype>

namespace xr::relay {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

template <typename T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

DoctorPlan plan_doctor(const conf::Config& cfg, const std::string& tenant_filter, const std::string& mailbox_filter) {
  DoctorPlan plan;
  for (const auto& [name, t] : cfg.tenants)
    if (tenant_filter.empty() || name == tenant_filter) plan.tenants.push_back(name);

  auto served = [&](conf::Protocol p) {
    return std::any_of(cfg.listeners.begin(), cfg.listeners.end(), [&](const auto& l) { return l.protocol == p; });
  };
  auto entry = [&](const std::string& tenant, const std::string& mailbox) -> DoctorMailbox* {
    if (!tenant_filter.empty() && tenant != tenant_filter) return nullptr;
    if (!mailbox_filter.empty() && lower(mailbox) != lower(mailbox_filter)) return nullptr;
    for (auto& m : plan.mailboxes)
      if (m.tenant == tenant && lower(m.mailbox) == lower(mailbox)) return &m;
    plan.mailboxes.push_back(DoctorMailbox{tenant, mailbox, {}, {mailbox}});
    return &plan.mailboxes.back();
  };
  auto add_senders = [](DoctorMailbox& m, const std::vector<std::string>& senders) {
    for (const auto& s : senders)
      if (s.find('*') == std::string::npos && lower(s) != lower(m.mailbox)) add_unique(m.senders, s);
  };

  for (const auto& [name, u] : cfg.users) {
    auto* m = entry(u.tenant, u.mailbox);
    if (!m) continue;
    for (auto p : u.protocols)
      if (served(p)) add_unique(m->protocols, p);
    if (u.allows(conf::Protocol::smtp)) add_senders(*m, u.senders);
  }
  for (const auto& rule : cfg.no_auth) {
    auto* m = entry(rule.tenant, rule.mailbox);
    if (!m) continue;
    if (served(conf::Protocol::smtp)) add_unique(m->protocols, conf::Protocol::smtp);
    add_senders(*m, rule.senders);
  }
  for (auto& m : plan.mailboxes) std::sort(m.protocols.begin(), m.protocols.end());
  std::erase_if(plan.mailboxes, [](const DoctorMailbox& m) { return m.protocols.empty(); });
  return plan;
}

std::vector<std::string> mapped_mailboxes(const conf::Config& cfg, const std::string& tenant_filter) {
  std::vector<std::string> out;
  auto add = [&](const std::string& tenant, const std::string& mailbox) {
    if (tenant_filter.empty() || tenant == tenant_filter) add_unique(out, lower(mailbox));
  };
  for (const auto& [name, u] : cfg.users) add(u.tenant, u.mailbox);
  for (const auto& rule : cfg.no_auth) add(rule.tenant, rule.mailbox);
  std::sort(out.begin(), out.end());
  return out;
}

std::string mailbox_filter_problem(const conf::Config& cfg, const std::string& tenant_filter,
                                   const std::string& mailbox_filter, const DoctorPlan& plan) {
  if (mailbox_filter.empty() || !plan.mailboxes.empty()) return {};
  const auto wanted = lower(mailbox_filter);
  const auto here = mapped_mailboxes(cfg, tenant_filter);
  if (std::find(here.begin(), here.end(), wanted) != here.end())
    return "mailbox " + mailbox_filter +
           " is mapped, but no listener serves the protocols its users use: nothing to check (add a listener for "
           "them, or check the users' protocols)";
  const auto everywhere = mapped_mailboxes(cfg, "");
  if (!tenant_filter.empty() && std::find(everywhere.begin(), everywhere.end(), wanted) != everywhere.end())
    return "mailbox " + mailbox_filter + " is not mapped in tenant " + tenant_filter +
           " (it is in another tenant's rules; drop --tenant or name that tenant)";
  std::string msg = "mailbox " + mailbox_filter + " is in no user or no_auth rule of the configuration";
  if (here.empty()) return msg + "; the configuration maps no mailboxes" +
                           (tenant_filter.empty() ? std::string() : " in tenant " + tenant_filter);
  msg += "; it maps " + std::string(tenant_filter.empty() ? "" : "tenant " + tenant_filter + "'s ") + "mailboxes: ";
  for (std::size_t i = 0; i < here.size(); ++i) msg += (i ? ", " : "") + here[i];
  return msg;
}

}  // namespace xr::relay
