#include "relay/session/client_origin.hpp"

#include "relay/session_support.hpp"

namespace xr::relay {

ClientOrigin ClientOrigin::of(const tcp::socket& socket) { return {peer_of(socket), ip_of(socket), {}}; }

}  // namespace xr::relay
