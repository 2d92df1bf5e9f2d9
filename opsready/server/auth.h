#pragma once
// BearerTokens: the set of tokens that may call opsready's ingest routes
// (POST /api/v1/events, POST /api/v2/alerts), checked in constant time.
//
//   BearerTokens tokens({"s3cret", "other"});        // empty set: authentication is off
//   switch (tokens.check(req.get_header_value("Authorization"))) { ... }
//
// Only SHA-256 digests of the tokens are kept. A presented token is hashed and compared
// against every digest with CRYPTO_memcmp, without stopping at a match, so the time taken
// depends neither on how much of a token matched nor on which token it was, nor on the
// tokens' lengths. Tokens are never logged or rendered. Immutable after construction;
// thread-safe.

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace opsready::server {

enum class AuthResult { kOff, kOk, kMissing, kInvalid };

class BearerTokens {
 public:
  BearerTokens() = default;
  explicit BearerTokens(const std::vector<std::string>& tokens);

  [[nodiscard]] bool enabled() const { return !digests_.empty(); }
  // `authorization` is the request's Authorization header value ("" when absent). The scheme
  // "Bearer" is matched case-insensitively (RFC 7235).
  [[nodiscard]] AuthResult check(std::string_view authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  std::vector<Digest> digests_;
};

}  // namespace opsready::server
