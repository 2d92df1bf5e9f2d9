#pragma once
// Encodings the transports need and no installed library offers in this shape: Go's JSON
// output (Alertmanager's webhook bytes), Go's RFC 3339 time, rune-safe truncation with a
// marker, RFC 2047 encoded words, quoted-printable, form encoding, RFC 5322 dates, SMS segment
// counting. Base64 and HMAC-SHA256 come from OpenSSL.
//
//   std::string body = go_json(payload) + "\n";       // as Go's json.Encoder writes it
//   std::string subject = encode_header("Störung");   // "=?UTF-8?B?U3TDtnJ1bmc=?="
//
// Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"

namespace opsready::alerting::notify {

// The marker a cut field ends with.
inline constexpr std::string_view kTruncationMarker = " … (truncated)";

// `j` as Go's encoding/json prints it: compact, object members in the order given, '<', '>',
// '&', U+2028 and U+2029 escaped as \u003c ..., \b and \f as \u0008 and \u000c, invalid UTF-8
// replaced by U+FFFD.
[[nodiscard]] std::string go_json(const nlohmann::ordered_json& j);

// A time as Go's time.Time marshals to JSON in UTC (RFC 3339 with the fraction's trailing zeros
// cut); the zero time and TimePoint::max() (a firing alert's open end) print as
// "0001-01-01T00:00:00Z", which is what Alertmanager sends for an alert that still fires.
[[nodiscard]] std::string go_time(core::TimePoint t);

// Code points in `s` (invalid bytes count one each).
[[nodiscard]] std::size_t rune_count(std::string_view s);
// `s` if it has at most `max_runes` code points, else its head followed by `marker`, the whole
// at most `max_runes` code points, never splitting a code point. `cut` is set when it cut.
[[nodiscard]] std::string truncate_runes(std::string_view s, std::size_t max_runes, bool& cut,
                                         std::string_view marker = kTruncationMarker);

[[nodiscard]] std::string base64(std::string_view data);
// HMAC-SHA256 of `message` under `key`, as 64 lower-case hex digits.
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view message);
// SHA-256 of `data`, 64 lower-case hex digits.
[[nodiscard]] std::string sha256_hex(std::string_view data);

// A header value for an RFC 5322 message: as is when printable ASCII, else RFC 2047 encoded
// words (UTF-8, B encoding), each at most 75 characters, split between code points and folded
// with CRLF SP. CR and LF never pass through.
[[nodiscard]] std::string encode_header(std::string_view value);
// Quoted-printable (RFC 2045 §6.7) of UTF-8 text with CRLF line ends, soft line breaks keeping
// lines at most 76 characters.
[[nodiscard]] std::string quoted_printable(std::string_view text);
// "Sat, 05 Dec 2026 11:56:25 +0000" (RFC 5322 §3.3, UTC).
[[nodiscard]] std::string rfc5322_date(core::TimePoint t);

// Percent-encoding of a URL query value or path segment (RFC 3986 unreserved kept).
[[nodiscard]] std::string url_escape(std::string_view s);
// application/x-www-form-urlencoded (spaces as '+'), pairs in order.
[[nodiscard]] std::string form_encode(
    const std::vector<std::pair<std::string, std::string>>& pairs);

// SMS segments (3GPP TS 23.038): a text every character of which is in the GSM 03.38 default
// alphabet (or its extension table, two septets each) is sent in GSM-7, 160 septets in one
// segment, 153 per segment of a longer message; any other text in UCS-2, 70 UTF-16 units, 67
// per segment.
struct SmsFit {
  std::string text;  // cut to `max_segments` with the marker when longer
  bool gsm7 = true;  // the encoding of `text`
  std::size_t segments = 0;
  bool cut = false;
};
[[nodiscard]] SmsFit fit_sms(std::string_view text, std::size_t max_segments);

}  // namespace opsready::alerting::notify
