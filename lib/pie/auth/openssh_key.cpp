// openssh-key-v1 private key files (the format of `ssh-keygen` without -m), as described in
// OpenSSH's PROTOCOL.key: magic, cipher, kdf, kdf options, key count, public keys, then the
// private section (two equal check words, the key, a comment, padding 1, 2, 3, ...).
#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include <string>

#include "pie/auth/openssl_util.hpp"
#include "value/base64.hpp"

namespace pg::pie::auth::detail {

namespace {

constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kMagic{"openssh-key-v1\0", 15};

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

BnPtr to_bn(std::string_view mpint) {
  return BnPtr(BN_bin2bn(bytes(mpint), static_cast<int>(mpint.size()), nullptr));
}

PkeyPtr from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* out = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_KEYPAIR, params.get()) != 1) return nullptr;
  return PkeyPtr(out);
}

Result<PkeyPtr> ed25519(WireReader& r) {
  auto pub = r.string();
  auto priv = r.string();  // 32-byte seed followed by the 32-byte public key
  if (!pub || !priv || pub->size() != 32 || priv->size() != 64 || priv->substr(32) != *pub)
    return make_error("malformed ssh-ed25519 private key");
  PkeyPtr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(*priv), 32));
  if (!k) return make_error("OpenSSL rejected the Ed25519 key");
  return k;
}

Result<PkeyPtr> rsa(WireReader& r) {
  // n, e, d, iqmp, p, q; OpenSSL also wants d mod (p-1) and d mod (q-1).
  std::string_view f[6];
  for (auto& x : f) {
    auto s = r.string();
    if (!s || s->empty()) return make_error("malformed ssh-rsa private key");
    x = *s;
  }
  BnPtr n = to_bn(f[0]), e = to_bn(f[1]), d = to_bn(f[2]), iqmp = to_bn(f[3]), p = to_bn(f[4]), q = to_bn(f[5]);
  BnPtr dp(BN_new()), dq(BN_new()), p1(BN_new()), q1(BN_new());
  BnCtxPtr ctx(BN_CTX_new());
  if (!n || !e || !d || !iqmp || !p || !q || !dp || !dq || !p1 || !q1 || !ctx || !BN_sub(p1.get(), p.get(), BN_value_one()) ||
      !BN_sub(q1.get(), q.get(), BN_value_one()) || !BN_mod(dp.get(), d.get(), p1.get(), ctx.get()) ||
      !BN_mod(dq.get(), d.get(), q1.get(), ctx.get()))
    return make_error("cannot compute the RSA key's CRT parameters");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, p.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, q.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, dp.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, dq.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp.get()) != 1)
    return make_error("cannot build the RSA key's parameters");
  auto k = from_params("RSA", bld.get());
  if (!k) return make_error("OpenSSL rejected the RSA key");
  return k;
}

Result<PkeyPtr> ecdsa(WireReader& r, std::string_view curve, const char* group) {
  auto c = r.string();
  auto point = r.string();
  auto priv = r.string();
  if (!c || !point || !priv || *c != curve || priv->empty()) return make_error("malformed ECDSA private key");
  BnPtr d = to_bn(*priv);
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!d || !bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point->data(), point->size()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1)
    return make_error("cannot build the EC key's parameters");
  auto k = from_params("EC", bld.get());
  if (!k) return make_error("OpenSSL rejected the ECDSA key");
  return k;
}

// Wipes the decoded file (it holds the private key) when parsing ends, whatever the outcome.
struct Wiped {
  std::string s;
  ~Wiped() { OPENSSL_cleanse(s.data(), s.size()); }
};

}  // namespace

Result<PkeyPtr> parse_openssh_private(std::string_view text) {
  const auto b = text.find(kBegin);
  const auto e = text.find(kEnd);
  if (b == std::string_view::npos || e == std::string_view::npos || e < b)
    return make_error("not an OpenSSH private key (no BEGIN/END OPENSSH PRIVATE KEY lines)");
  auto decoded = base64_decode(text.substr(b + kBegin.size(), e - b - kBegin.size()));
  if (!decoded) return make_error("OpenSSH private key body is not valid base64: " + decoded.error());
  Wiped blob{std::move(decoded).value()};
  if (blob.s.compare(0, kMagic.size(), kMagic) != 0) return make_error("not an openssh-key-v1 private key");
  WireReader r(std::string_view(blob.s).substr(kMagic.size()));
  auto cipher = r.string();
  auto kdf = r.string();
  auto kdf_options = r.string();
  auto count = r.u32();
  if (!cipher || !kdf || !kdf_options || !count) return make_error("truncated OpenSSH private key");
  if (*cipher != "none")
    return make_error("is an encrypted OpenSSH key (cipher " + std::string(*cipher) + ", kdf " + std::string(*kdf) +
                      "), which OpenSSL cannot decrypt: convert it to encrypted PEM with "
                      "`ssh-keygen -p -m PEM -f FILE` (RSA and ECDSA keys), or remove its passphrase with "
                      "`ssh-keygen -p -N '' -f FILE` and keep the file mode 0600");
  if (*count != 1) return make_error("holds " + std::to_string(*count) + " keys; expected exactly one");
  auto public_blob = r.string();
  auto private_section = r.string();
  if (!public_blob || !private_section) return make_error("truncated OpenSSH private key");

  WireReader p(*private_section);
  auto check1 = p.u32();
  auto check2 = p.u32();
  if (!check1 || !check2 || *check1 != *check2) return make_error("corrupt OpenSSH private key (check words differ)");
  auto type = p.string();
  if (!type) return make_error("truncated OpenSSH private key");
  WireReader pub(*public_blob);
  if (auto pub_type = pub.string(); !pub_type || *pub_type != *type)
    return make_error("corrupt OpenSSH private key (public and private key types differ)");

  if (*type == "ssh-ed25519") return ed25519(p);
  if (*type == "ssh-rsa") return rsa(p);
  if (*type == "ecdsa-sha2-nistp256") return ecdsa(p, "nistp256", "P-256");
  if (*type == "ecdsa-sha2-nistp384") return ecdsa(p, "nistp384", "P-384");
  return make_error("key type '" + std::string(*type) +
                    "' is not supported (use Ed25519, ECDSA P-256 or P-384, or RSA of at least 2048 bits)");
}

}  // namespace pg::pie::auth::detail
