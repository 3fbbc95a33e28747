#include "auth.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <toml++/toml.h>

#include "pie/auth/openssl_util.hpp"

#include <array>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pie_sim::auth {

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The OpenSSL handles and the SSH wire reader are the gateway's own (lib/pie/auth/): the
// simulator checks what the client signs with the same parsing of the same formats.
using pg::pie::auth::detail::BnPtr;
using pg::pie::auth::detail::MdCtxPtr;
using pg::pie::auth::detail::ParamBldPtr;
using pg::pie::auth::detail::ParamPtr;
using pg::pie::auth::detail::PkeyCtxPtr;
using pg::pie::auth::detail::PkeyPtr;
using pg::pie::auth::detail::WireReader;

PkeyPtr from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* out = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return PkeyPtr(out);
}

pg::Result<PkeyPtr> rsa_key(WireReader& r) {
  auto e = r.string();
  auto n = r.string();
  if (!e || !n || !r.rest().empty() || e->empty() || n->empty()) return pg::make_error("malformed ssh-rsa key blob");
  if ((static_cast<unsigned char>((*e)[0]) & 0x80) || (static_cast<unsigned char>((*n)[0]) & 0x80))
    return pg::make_error("ssh-rsa key with a negative number");
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr));
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_e || !bn_n || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return pg::make_error("cannot build RSA parameters");
  auto key = from_params("RSA", bld.get());
  if (!key) return pg::make_error("OpenSSL rejected the RSA key");
  if (EVP_PKEY_get_bits(key.get()) < 2048) return pg::make_error("RSA keys must have at least 2048 bits");
  return key;
}

pg::Result<PkeyPtr> ec_key(WireReader& r, std::string_view want_curve, const char* group) {
  auto curve = r.string();
  auto point = r.string();
  if (!curve || !point || !r.rest().empty() || *curve != want_curve) return pg::make_error("malformed ECDSA key blob");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point->data(), point->size()) != 1)
    return pg::make_error("cannot build EC parameters");
  auto key = from_params("EC", bld.get());
  if (!key) return pg::make_error("OpenSSL rejected the EC key");
  return key;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kB64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

pg::Result<PublicKey> PublicKey::parse(std::string_view line) {
  auto trim = [](std::string_view& s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  };
  trim(line);
  const auto sp = line.find_first_of(" \t");
  if (sp == std::string_view::npos) return pg::make_error("expected '<type> <base64> [comment]'");
  const std::string_view type = line.substr(0, sp);
  line.remove_prefix(sp);
  trim(line);
  const auto b64 = line.substr(0, line.find_first_of(" \t\r\n"));
  auto blob = base64_decode(b64);
  if (!blob) return pg::make_error("public key is not valid base64");
  WireReader r(*blob);
  auto inner_type = r.string();
  if (!inner_type || *inner_type != type) return pg::make_error("key type does not match its blob");

  pg::Result<PkeyPtr> key = pg::make_error("unsupported key type '" + std::string(type) + "'");
  if (type == "ssh-ed25519") {
    auto raw = r.string();
    if (!raw || raw->size() != 32 || !r.rest().empty()) return pg::make_error("malformed ssh-ed25519 key blob");
    PkeyPtr k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw->data()), raw->size()));
    if (!k) return pg::make_error("OpenSSL rejected the Ed25519 key");
    key = std::move(k);
  } else if (type == "ssh-rsa") {
    key = rsa_key(r);
  } else if (type == "ecdsa-sha2-nistp256") {
    key = ec_key(r, "nistp256", "P-256");
  } else if (type == "ecdsa-sha2-nistp384") {
    key = ec_key(r, "nistp384", "P-384");
  }
  if (!key) return pg::make_error(key.error());
  PublicKey out;
  out.key_ = std::shared_ptr<EVP_PKEY>(std::move(key).value().release(), EVP_PKEY_free);
  out.type_ = std::string(type);
  return out;
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  const EVP_MD* md = nullptr;  // Ed25519 takes no digest
  if (type_ == "ssh-rsa" || type_ == "ecdsa-sha2-nistp256") md = EVP_sha256();
  else if (type_ == "ecdsa-sha2-nistp384") md = EVP_sha384();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

pg::Result<AuthorizedUsers> AuthorizedUsers::load_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return pg::make_error("cannot read authorized users file '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  auto users = parse(ss.str());
  if (!users) return pg::make_error(path + ": " + users.error());
  return users;
}

pg::Result<AuthorizedUsers> AuthorizedUsers::parse(std::string_view text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return pg::make_error(std::string("invalid TOML: ") + std::string(e.description()));
  }
  // Pie's layout nests users under [users.<name>.keys]; detect it, else use the short form.
  const toml::table* users = &root;
  if (const auto* u = root["users"].as_table()) {
    bool nested = !u->empty();
    for (const auto& [name, v] : *u)
      nested = nested && v.is_table() && v.as_table()->contains("keys") && (*v.as_table())["keys"].is_table();
    if (nested) users = u;
  }
  AuthorizedUsers out;
  for (const auto& [name, v] : *users) {
    const toml::table* keys = v.as_table();
    if (!keys) return pg::make_error("user '" + std::string(name.str()) + "' must be a table of named keys");
    if (users != &root) keys = (*keys)["keys"].as_table();
    auto& list = out.users_[std::string(name.str())];
    for (const auto& [key_name, key_value] : *keys) {
      const auto* line = key_value.as_string();
      if (!line) return pg::make_error("key '" + std::string(key_name.str()) + "' must be a string");
      auto key = PublicKey::parse(line->get());
      if (!key)
        return pg::make_error("key '" + std::string(key_name.str()) + "' of user '" + std::string(name.str()) +
                              "': " + key.error());
      list.push_back(std::move(key).value());
    }
  }
  return out;
}

bool AuthorizedUsers::verify(std::string_view user, std::string_view challenge, std::string_view signature) const {
  auto it = users_.find(user);
  if (it == users_.end()) return false;
  for (const auto& key : it->second)
    if (key.verify(challenge, signature)) return true;
  return false;
}

}  // namespace pie_sim::auth
