#include "pie/auth/ssh_key.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/bounded_file.hpp"
#include "pie/auth/openssl_util.hpp"
#include "value/base64.hpp"

namespace pg::pie::auth {

using namespace detail;

namespace {

std::string openssl_error() {
  const unsigned long e = ERR_peek_last_error();
  char buf[256] = {};
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf[0] ? buf : "unknown OpenSSL error";
}

// PEM passphrase callback: never prompts on a terminal (OpenSSL's default would).
struct Passphrase {
  const std::string& text;
  bool asked = false;
};
int passphrase_cb(char* buf, int size, int, void* u) {
  auto* p = static_cast<Passphrase*>(u);
  p->asked = true;
  if (p->text.empty() || p->text.size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, p->text.data(), p->text.size());
  return static_cast<int>(p->text.size());
}

Result<PkeyPtr> parse_pem(std::string_view text, const std::string& passphrase) {
  const bool encrypted = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
                         text.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
  if (encrypted && passphrase.empty()) return make_error("is encrypted and no passphrase was given");
  OpensslPtr<BIO, BIO_free_all> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return make_error("out of memory");
  Passphrase pass{passphrase};
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &pass);
  if (!key) {
    const auto why = openssl_error();
    if (encrypted) return make_error("cannot be decrypted with the given passphrase (wrong passphrase?)");
    return make_error("is not a readable PEM private key (" + why + ")");
  }
  return PkeyPtr(key);
}

Result<std::string> ec_curve(EVP_PKEY* k) {
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(k, name, sizeof name, &len) != 1) return make_error("EC key without a named curve");
  const std::string_view n(name, len);
  if (n == "prime256v1" || n == "P-256" || n == "secp256r1") return std::string("nistp256");
  if (n == "secp384r1" || n == "P-384") return std::string("nistp384");
  return make_error("ECDSA curve '" + std::string(n) + "' is not supported (use P-256 or P-384)");
}

/// The SSH type name and public key blob of a supported key; refuses everything else.
Result<std::pair<std::string, std::string>> describe(EVP_PKEY* k) {
  std::string blob;
  if (EVP_PKEY_is_a(k, "ED25519")) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1 || len != 32) return make_error("cannot read the Ed25519 public key");
    put_string(blob, "ssh-ed25519");
    put_string(blob, std::string_view(reinterpret_cast<const char*>(raw), len));
    return std::pair{std::string("ssh-ed25519"), std::move(blob)};
  }
  if (EVP_PKEY_is_a(k, "RSA")) {
    const int bits = EVP_PKEY_get_bits(k);
    if (bits < 2048)
      return make_error("is an RSA key of " + std::to_string(bits) + " bits; Pie needs at least 2048");
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    const bool ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
                    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) == 1;
    BnPtr nn(n), ee(e);
    if (!ok) return make_error("cannot read the RSA public key");
    put_string(blob, "ssh-rsa");
    put_mpint(blob, ee.get());
    put_mpint(blob, nn.get());
    return std::pair{std::string("ssh-rsa"), std::move(blob)};
  }
  if (EVP_PKEY_is_a(k, "EC")) {
    auto curve = ec_curve(k);
    if (!curve) return make_error(curve.error());
    // OpenSSH writes points uncompressed; so does this blob, whatever the file held.
    EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
    unsigned char point[256];
    std::size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point, &len) != 1)
      return make_error("cannot read the ECDSA public key");
    const std::string type = "ecdsa-sha2-" + *curve;
    put_string(blob, type);
    put_string(blob, *curve);
    put_string(blob, std::string_view(reinterpret_cast<const char*>(point), len));
    return std::pair{type, std::move(blob)};
  }
  return make_error(std::string("key type ") + EVP_PKEY_get0_type_name(k) +
                    " is not supported (use Ed25519, ECDSA P-256 or P-384, or RSA of at least 2048 bits)");
}

std::string sha256_fingerprint(std::string_view blob) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(blob.data(), blob.size(), md, &len, EVP_sha256(), nullptr);
  std::string b64 = base64_encode(std::string_view(reinterpret_cast<const char*>(md), len));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();  // ssh-keygen prints it unpadded
  return "SHA256:" + b64;
}

std::string mode_text(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

}  // namespace

SshKey::SshKey(std::shared_ptr<evp_pkey_st> key, std::string type, std::string blob)
    : key_(std::move(key)), type_(std::move(type)), blob_(std::move(blob)), fingerprint_(sha256_fingerprint(blob_)) {}

Result<bool> check_private_file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return make_error("'" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error("'" + path + "' is not a regular file");
  if (st.st_mode & 077)
    return make_error("'" + path + "' has mode " + mode_text(st.st_mode) +
                      ": a private key must not be accessible by group or others (chmod 600 '" + path + "')");
  return true;
}

Result<std::shared_ptr<const SshKey>> SshKey::load_file(const std::string& path, const std::string& passphrase) {
  if (auto ok = check_private_file_mode(path); !ok) return make_error(ok.error());
  auto read = read_bounded_file(path, kMaxSecretFileBytes);
  if (!read) return make_error(read.error());
  std::string text = std::move(read).value();
  auto key = parse(text, passphrase, path);
  OPENSSL_cleanse(text.data(), text.size());
  return key;
}

Result<std::shared_ptr<const SshKey>> SshKey::parse(std::string_view text, const std::string& passphrase,
                                                    const std::string& name) {
  // "'f' is encrypted ...", "'f': truncated ...": a sentence about the file either way.
  const auto fail = [&](const std::string& why) {
    const bool verb = why.starts_with("is ") || why.starts_with("holds ") || why.starts_with("cannot ");
    return make_error("'" + name + "'" + (verb ? " " : ": ") + why);
  };
  Result<PkeyPtr> key = make_error("");
  if (text.find("-----BEGIN OPENSSH PRIVATE KEY-----") != std::string_view::npos) {
    key = parse_openssh_private(text);
    if (!key) return fail(key.error());
  } else if (text.find("PRIVATE KEY-----") != std::string_view::npos) {
    key = parse_pem(text, passphrase);
    if (!key) return fail(key.error());
  } else if (text.starts_with("ssh-") || text.starts_with("ecdsa-") ||
             text.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos) {
    return fail("is a public key; the private key file is needed");
  } else {
    return fail("is not a private key (expected an OpenSSH or PEM private key file)");
  }
  auto d = describe(key->get());
  if (!d) return fail(d.error());
  std::shared_ptr<evp_pkey_st> owned(key->release(), EVP_PKEY_free);
  return std::shared_ptr<const SshKey>(std::make_shared<SshKey>(std::move(owned), d->first, d->second));
}

Result<std::string> SshKey::sign(std::string_view message) const {
  const EVP_MD* md = nullptr;  // Ed25519 signs the message itself
  if (type_ == "ssh-rsa" || type_ == "ecdsa-sha2-nistp256") md = EVP_sha256();
  else if (type_ == "ecdsa-sha2-nistp384") md = EVP_sha384();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  // RSA keys sign with PKCS#1 v1.5 padding, OpenSSL's default for them.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size()) != 1)
    return make_error("cannot sign with the " + type_ + " key: " + openssl_error());
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, msg, message.size()) != 1)
    return make_error("cannot sign with the " + type_ + " key: " + openssl_error());
  sig.resize(len);  // DER ECDSA signatures vary in length
  return sig;
}

std::string SshKey::public_key_line() const { return type_ + " " + base64_encode(blob_); }

}  // namespace pg::pie::auth
