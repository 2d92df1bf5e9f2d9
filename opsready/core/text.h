#pragma once
// Small text helpers shared by every layer: trimming, case folding, reason-code slugs
// (spec section 0.2) and topic syntax.

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace opsready::core {

[[nodiscard]] std::string_view trim(std::string_view s);
[[nodiscard]] std::string to_lower(std::string_view s);
[[nodiscard]] std::string to_upper(std::string_view s);  // ASCII letters only, as to_lower
// The items with `sep` between them: join({"a", "b"}, ", ") == "a, b".
[[nodiscard]] std::string join(const std::vector<std::string>& items, std::string_view sep);

// One slug part: lower-cased, every run outside [a-z0-9] becomes '_', leading and trailing
// '_' stripped; an empty result becomes "unknown".
[[nodiscard]] std::string slug_part(std::string_view part);
// Parts slugged one by one and joined with '_':
//   reason_code({"component", "incident_response", "fail"}) == "component_incident_response_fail"
[[nodiscard]] std::string reason_code(std::initializer_list<std::string_view> parts);

// A topic is one or more dot-separated tokens; a token is non-empty and made of [a-z0-9_-],
// e.g. "telemetry.ingest.health". Subscription patterns (bus issue) add wildcards on top.
[[nodiscard]] bool is_valid_topic(std::string_view topic);

// Text inside a Markdown table cell or list item: a '|' would end the cell and a newline the
// row, so they become "\|" and "<br>" (CRLF counts as one newline). Every Markdown renderer
// (readiness, the CI summary, incident reports) uses this one.
[[nodiscard]] std::string markdown_inline(std::string_view s);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view s);

}  // namespace opsready::core
