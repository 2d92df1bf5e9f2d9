#include "opsready/server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

#include "opsready/core/text.h"

namespace opsready::server {
namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    // Only fails when OpenSSL itself is unusable (no SHA-256 provider): refuse to run open.
    throw std::runtime_error("SHA-256 is unavailable in OpenSSL");
  }
  return out;
}

}  // namespace

BearerTokens::BearerTokens(const std::vector<std::string>& tokens) {
  digests_.reserve(tokens.size());
  for (const auto& t : tokens) {
    if (!t.empty()) digests_.push_back(sha256(t));
  }
}

AuthResult BearerTokens::check(std::string_view authorization) const {
  if (digests_.empty()) return AuthResult::kOff;
  constexpr std::string_view kScheme = "bearer ";
  const std::string_view header = core::trim(authorization);
  if (header.size() <= kScheme.size() ||
      core::to_lower(header.substr(0, kScheme.size())) != kScheme) {
    return AuthResult::kMissing;
  }
  const std::string_view token = core::trim(header.substr(kScheme.size()));
  if (token.empty()) return AuthResult::kMissing;
  const auto presented = sha256(token);
  int matched = 0;
  for (const auto& d : digests_) {
    matched |= CRYPTO_memcmp(presented.data(), d.data(), d.size()) == 0 ? 1 : 0;
  }
  return matched ? AuthResult::kOk : AuthResult::kInvalid;
}

}  // namespace opsready::server
