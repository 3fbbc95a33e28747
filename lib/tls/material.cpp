#include "tls/material.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/bounded_file.hpp"
#include "common/openssl_owner.hpp"
#include "value/utf8.hpp"

namespace pg::tls {

namespace {

using BioPtr = OpensslPtr<BIO, BIO_free_all>;
using X509Ptr = OpensslPtr<X509, X509_free>;
using PkeyPtr = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using BnPtr = OpensslPtr<BIGNUM, BN_free>;

/// The last OpenSSL error as a short sentence part ("" when there is none); clears the queue.
std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return {};
  const char* r = ERR_reason_error_string(e);
  return r ? std::string(": ") + r : std::string{};
}

BioPtr mem_bio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_text(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return n > 0 ? std::string(p, static_cast<std::size_t>(n)) : std::string{};
}

/// Every certificate in a PEM text (at most kMaxCertificates); an error names what is wrong.
Result<std::vector<X509Ptr>> read_certificates(const std::string& pem, const std::string& file) {
  auto bio = mem_bio(pem);
  std::vector<X509Ptr> out;
  ERR_clear_error();
  while (out.size() <= kMaxCertificates) {
    X509Ptr c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!c) break;
    out.push_back(std::move(c));
  }
  const unsigned long e = ERR_peek_last_error();
  const bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
  if (out.size() > kMaxCertificates)
    return make_error("'" + file + "' holds more than " + std::to_string(kMaxCertificates) + " certificates");
  if (e != 0 && !at_end) return make_error("'" + file + "' is not a PEM certificate file" + openssl_reason());
  ERR_clear_error();
  if (out.empty()) return make_error("'" + file + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  return out;
}

std::string pem_of(const std::vector<X509Ptr>& certs) {
  BioPtr b(BIO_new(BIO_s_mem()));
  for (const auto& c : certs) PEM_write_bio_X509(b.get(), c.get());
  return bio_text(b.get());
}

std::string summary_of(X509* leaf) {
  std::string cn = subject_cn(leaf);
  std::string out = "subject CN=" + (cn.empty() ? std::string("(none)") : cn);
  if (BnPtr bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)}) {
    if (char* hex = BN_bn2hex(bn.get())) {
      out += ", serial " + std::string(hex);
      OPENSSL_free(hex);
    }
  }
  BioPtr b(BIO_new(BIO_s_mem()));
  if (ASN1_TIME_print(b.get(), X509_get0_notAfter(leaf)) == 1) out += ", expires " + bio_text(b.get());
  return out;
}

struct PasswordState {
  const std::string* password = nullptr;
  bool asked = false;
};

int password_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* st = static_cast<PasswordState*>(u);
  st->asked = true;
  if (!st->password || st->password->empty() || size <= 0) return -1;
  const auto n = std::min<std::size_t>(st->password->size(), static_cast<std::size_t>(size));
  std::memcpy(buf, st->password->data(), n);
  return static_cast<int>(n);
}

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

Material::~Material() {
  if (!key_pem.empty()) OPENSSL_cleanse(key_pem.data(), key_pem.size());
}

std::string subject_cn(const x509_st* cert) {
  if (!cert) return {};
  const X509_NAME* name = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (at < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, at) >= 0) return {};  // none, or ambiguous
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return {};
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  if (cn.empty() || cn.size() > kMaxCommonNameBytes || !value::utf8_valid(cn)) return {};
  if (std::any_of(cn.begin(), cn.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return {};
  return cn;
}

std::string subject_cn_of_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  X509Ptr c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return subject_cn(c.get());
}

std::variant<std::shared_ptr<const Material>, LoadError> load(const Files& files) {
  using F = LoadError::Field;
  auto m = std::make_shared<Material>();
  // The certificate chain: the leaf first, not expired.
  auto cert_text = read_bounded_file(files.cert_file, kMaxCertFileBytes);
  if (!cert_text) return LoadError{F::Cert, cert_text.error()};
  auto chain = read_certificates(*cert_text, files.cert_file);
  if (!chain) return LoadError{F::Cert, chain.error()};
  X509* leaf = chain->front().get();
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0)
    return LoadError{F::Cert, "'" + files.cert_file + "': the certificate (" + summary_of(leaf) + ") has expired"};
  m->cert_chain_pem = pem_of(*chain);
  m->summary = summary_of(leaf);

  // The private key, decrypted if need be; it must belong to the leaf.
  std::string password;
  if (!files.key_password_file.empty()) {
    auto p = read_bounded_file(files.key_password_file, kMaxSecretFileBytes);
    if (!p) return LoadError{F::KeyPassword, p.error()};
    password = std::move(*p);
    if (auto nl = password.find_first_of("\r\n"); nl != std::string::npos) {
      OPENSSL_cleanse(password.data() + nl, password.size() - nl);
      password.resize(nl);
    }
    if (password.empty()) return LoadError{F::KeyPassword, "'" + files.key_password_file + "' is empty"};
  }
  auto key_text = read_bounded_file(files.key_file, kMaxSecretFileBytes);
  if (!key_text) {
    wipe(password);
    return LoadError{F::Key, key_text.error()};
  }
  PasswordState st{&password};
  ERR_clear_error();
  PkeyPtr key;
  {
    auto bio = mem_bio(*key_text);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, password_cb, &st));
  }
  wipe(*key_text);
  const bool had_password = !password.empty();
  wipe(password);
  if (!key) {
    ERR_clear_error();
    if (st.asked && !had_password)
      return LoadError{F::Key, "'" + files.key_file + "' is an encrypted private key: set tls.key_password_file"};
    if (st.asked)
      return LoadError{F::KeyPassword, "the private key in '" + files.key_file + "' cannot be decrypted with the password in '" +
                                           files.key_password_file + "' (wrong password?)"};
    return LoadError{F::Key, "'" + files.key_file + "' holds no PEM private key (-----BEGIN PRIVATE KEY-----)"};
  }
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return LoadError{F::Key, "the private key in '" + files.key_file + "' does not match the certificate in '" +
                                 files.cert_file + "' (" + m->summary + ")"};
  }
  {
    BioPtr b(BIO_new(BIO_s_secmem()));
    if (!b || PEM_write_bio_PrivateKey(b.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
      return LoadError{F::Key, "'" + files.key_file + "': the private key cannot be re-encoded" + openssl_reason()};
    m->key_pem = bio_text(b.get());
  }

  // The CAs client certificates must chain to.
  if (!files.client_ca_file.empty()) {
    auto ca_text = read_bounded_file(files.client_ca_file, kMaxCertFileBytes);
    if (!ca_text) return LoadError{F::ClientCa, ca_text.error()};
    auto cas = read_certificates(*ca_text, files.client_ca_file);
    if (!cas) return LoadError{F::ClientCa, cas.error()};
    m->client_ca_pem = pem_of(*cas);
  }
  m->require_client_cert = files.require_client_cert;
  return std::shared_ptr<const Material>(std::move(m));
}

}  // namespace pg::tls
