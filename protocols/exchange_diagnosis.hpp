// What an Exchange Online reply most likely means for the admin: the reply
// texts of office365-facts.md mapped to the set-up step that is missing.
#pragma once

#include "protocols/smtp_reply.hpp"

#include <string>

namespace xr::smtp {

// Empty when the reply is not one we can explain.
std::string explain_exchange_reply(const Reply& reply);

}  // namespace xr::smtp
