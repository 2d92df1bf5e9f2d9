#pragma once
// gzip (RFC 1952) for message bodies: request bodies and NATS messages sent with
// `Content-Encoding: gzip`, and HTTP responses to clients that accept it.
//
//   std::string text;
//   if (auto ok = core::gunzip(body, limit, text); !ok) reply_400(ok.error().message);
//   std::string packed = core::gzip(text);
//
// zlib does the work; these only bound it. gunzip refuses more than `limit` bytes of output
// (a decompression bomb costs at most `limit` bytes of memory) and trailing garbage. Pure
// functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "opsready/core/error.h"

namespace opsready::core {

// Inflates `in` into `out` (cleared first). Errors: "bad_gzip", "too_large".
[[nodiscard]] Result<void> gunzip(std::string_view in, std::size_t limit, std::string& out);
// `in` gzip-compressed at zlib's default level (6) in one pass.
[[nodiscard]] std::string gzip(std::string_view in);

}  // namespace opsready::core
