// A value that must never reach a log line, an error message or test output.
// It has no stream operator and no implicit conversion: reading it takes an
// explicit reveal(), which is easy to grep for.
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <utility>

namespace xr::conf {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret& o) {
    if (this != &o) {
      wipe();
      value_ = o.value_;
    }
    return *this;
  }
  // A short string lives inside the object and a move copies it: the
  // source's copy is wiped too.
  Secret(Secret&& o) noexcept : value_(std::move(o.value_)) { o.wipe(); }
  Secret& operator=(Secret&& o) noexcept {
    if (this != &o) {
      wipe();
      value_ = std::move(o.value_);
      o.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret& o) const { return value_ == o.value_; }

 private:
  // The whole buffer, not just size(): resize() within capacity does not
  // reallocate, so every byte the string owns is overwritten.
  void wipe() noexcept {
    value_.resize(value_.capacity());
    OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
  }
  std::string value_;
};

}  // namespace xr::conf
