// The config loader (conf::load_config_from_string): arbitrary YAML. The
// config "lives" in an empty temporary directory, so relative paths in it
// point at nothing (absolute ones are only opened: regular files only, and
// never written).
// Properties: never throws or crashes; a config comes back exactly when
// there are no errors; every error formats.
#include "conf/config.hpp"
#include "fuzz_common.hpp"

#include <stdlib.h>
#include <unistd.h>

using namespace xr;

namespace {

const std::string& config_path() {
  static const std::string path = [] {
    char dir[] = "/tmp/xr-fuzz-config.XXXXXX";
    if (!::mkdtemp(dir)) fuzz::fail("mkdtemp");
    static std::string made = dir;
    std::atexit([] { ::rmdir(made.c_str()); });  // the loader never writes: it stays empty
    return made + "/relay.yaml";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  const conf::LoadResult r = conf::load_config_from_string(yaml, config_path());
  XR_FUZZ_CHECK(r.config.has_value() == r.errors.empty());
  for (const auto& e : r.errors) XR_FUZZ_CHECK(!e.format().empty());
  return 0;
}
