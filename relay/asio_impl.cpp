// Asio is built in separate-compilation mode: its implementation is compiled
// here once instead of in every translation unit that includes it.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
