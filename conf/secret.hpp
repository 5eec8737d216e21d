// A value that must never reach a log line, an error message or test output.
// It has no stream operator and no implicit conversion: reading it takes an
// explicit reveal(), which is easy to grep for.
#pragma once

#include <string>
#include <utility>

namespace xr::conf {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  Secret(Secret&&) noexcept = default;
  Secret& operator=(Secret&&) noexcept = default;
  ~Secret() { wipe(); }

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret& o) const { return value_ == o.value_; }

 private:
  void wipe() {
    // volatile so the compiler does not drop the stores on a dying object
    volatile char* p = value_.data();
    for (std::size_t i = 0; i < value_.size(); ++i) p[i] = 0;
  }
  std::string value_;
};

}  // namespace xr::conf
