#include "auth/password.hpp"

#include <crypt.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace xr::auth {
namespace {

// struct crypt_data is ~32 KiB: too big for the small stacks of worker
// threads, so it lives on the heap. Zeroed, as crypt_rn requires on first use,
// and wiped on release because it holds the password and derived state.
struct CryptScratch {
  CryptScratch() : data(std::make_unique<crypt_data>()) { std::memset(data.get(), 0, sizeof(crypt_data)); }
  ~CryptScratch() { explicit_bzero(data.get(), sizeof(crypt_data)); }
  CryptScratch(const CryptScratch&) = delete;
  CryptScratch& operator=(const CryptScratch&) = delete;
  std::unique_ptr<crypt_data> data;
};

// crypt(3) takes C strings: a password with a NUL byte would be silently
// truncated, so such input never matches and is never hashed.
bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// crypt_rn returns NULL (never the "*0" failure token) on error; the output is
// the setting followed by the hash, as long as a stored hash of the same setting.
const char* run_crypt(const std::string& phrase, const std::string& setting, CryptScratch& scratch) {
  return crypt_rn(phrase.c_str(), setting.c_str(), scratch.data.get(), sizeof(crypt_data));
}

// A manual constant-time compare: xr_password links only libxcrypt, and this
// loop touches every byte whatever the contents.
bool equal_constant_time(const char* a, const char* b, std::size_t n) {
  unsigned char diff = 0;
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool in_crypt_alphabet(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

}  // namespace

bool verify_password(std::string_view password, const std::string& hash) {
  if (hash.empty() || has_nul(password) || has_nul(hash)) return false;
  std::string phrase(password);
  CryptScratch scratch;
  const char* out = run_crypt(phrase, hash, scratch);
  explicit_bzero(phrase.data(), phrase.size());
  if (out == nullptr) return false;
  std::size_t len = std::strlen(out);
  // Lengths are public (they follow from the method); the bytes are compared
  // in constant time so timing does not reveal how much of the hash matched.
  if (len != hash.size()) return false;
  return equal_constant_time(out, hash.data(), len);
}

std::string hash_password(std::string_view password) {
  if (has_nul(password)) throw std::runtime_error("password contains a NUL byte");
  // count 0 = libxcrypt's default cost; nullptr rbytes = it reads the OS RNG.
  char* setting = crypt_gensalt_ra("$y$", 0, nullptr, 0);
  if (setting == nullptr) {
    throw std::runtime_error(std::string("crypt_gensalt failed: ") + std::strerror(errno));
  }
  std::string salt(setting);
  std::free(setting);
  std::string phrase(password);
  CryptScratch scratch;
  const char* out = run_crypt(phrase, salt, scratch);
  explicit_bzero(phrase.data(), phrase.size());
  if (out == nullptr) throw std::runtime_error(std::string("crypt failed: ") + std::strerror(errno));
  return out;
}

bool hash_is_valid(const std::string& hash, std::string* why) {
  auto fail = [&](const std::string& text) {
    if (why) *why = text;
    return false;
  };
  const std::string rehash = "; create a new one with `xoauth2-relay hash-password`";
  if (hash.empty()) return fail("the password hash is empty" + rehash);
  if (has_nul(hash)) return fail("the password hash contains a NUL byte" + rehash);
  switch (crypt_checksalt(hash.c_str())) {
    case CRYPT_SALT_OK:
      break;
    case CRYPT_SALT_INVALID:
      return fail("not a crypt(3) hash that libxcrypt recognises (expected \"$y$...\")" + rehash);
    case CRYPT_SALT_METHOD_DISABLED:
      return fail("this hashing method is disabled in this system's libxcrypt" + rehash);
    case CRYPT_SALT_METHOD_LEGACY:
      // DES, MD5 and friends are crackable on a laptop; a leaked config
      // file must not hand out device passwords.
      return fail("this is a legacy hash method (DES, MD5, SHA-1, ...) that is too weak" + rehash);
    default:
      return fail("libxcrypt considers this hash's settings too weak" + rehash);
  }
  // crypt_checksalt looks only at the setting prefix: "$y$j9T$salt" with the
  // hash part cut off would pass. Hashing a dummy phrase with it shows the
  // full length a hash of this setting has, and rejects bad parameters.
  // This costs one hash computation per user at load time (~15 ms).
  CryptScratch scratch;
  const char* out = run_crypt("not-a-password", hash, scratch);
  if (out == nullptr) return fail("the hash's parameters or salt are malformed" + rehash);
  std::size_t len = std::strlen(out);
  if (len != hash.size()) return fail("the hash is truncated or has extra characters" + rehash);
  std::size_t tail = hash.find_last_of('$');
  for (std::size_t i = tail == std::string::npos ? 0 : tail + 1; i < hash.size(); ++i) {
    if (!in_crypt_alphabet(hash[i])) {
      return fail("the hash contains a character crypt(3) never produces (quote it in YAML)" + rehash);
    }
  }
  return true;
}

}  // namespace xr::auth
