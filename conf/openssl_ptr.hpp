#pragma once
// Owning pointers for OpenSSL objects, shared by the modules that read or make
// certificates and keys (conf/pem_check, auth/client_assertion, relay/cli's
// self-signed certificate): one deleter template instead of one struct per
// type in each file.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace xr::ossl {

template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};

using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>>;

}  // namespace xr::ossl
