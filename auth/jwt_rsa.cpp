#include "auth/jwt_rsa.hpp"

#include "protocols/base64.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>

namespace xr::auth {

conf::Secret sign_rsa_jwt(EVP_PKEY* key, RsaJwtAlg alg, const std::string& header_json,
                          const std::string& claims_json) {
  const std::string input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1)
    throw std::runtime_error("cannot set up RSA signing");
  if (alg == RsaJwtAlg::ps256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
    throw std::runtime_error("cannot set up RSA-PSS signing");
  if (alg == RsaJwtAlg::rs256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
    throw std::runtime_error("cannot set up RSA PKCS#1 signing");
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1)
    throw std::runtime_error("cannot sign the assertion");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size()) != 1)
    throw std::runtime_error("cannot sign the assertion");
  sig.resize(len);
  return conf::Secret(input + "." + base64url_encode(sig));
}

ossl::PkeyPtr rsa_key_from_pem(const std::string& pem, const std::string& what) {
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // A passphrase prompt would hang a daemon: an empty callback makes an
  // encrypted key fail instead.
  auto no_pass = [](char*, int, int, void*) { return 0; };
  ossl::PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) throw std::runtime_error(what + " holds no unencrypted PEM private key");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) throw std::runtime_error(what + " is not an RSA key");
  return key;
}

}  // namespace xr::auth
