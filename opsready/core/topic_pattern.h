#pragma once
// TopicPattern: a subscription pattern over dot-separated topics, with NATS wildcards, so the
// same pattern means the same thing on the in-process bus and on a NATS subject.
//
//   auto p = TopicPattern::parse("telemetry.operational.*").value();
//   p.matches("telemetry.operational.incident_response");  // true
//   p.matches("telemetry.operational.a.b");                // false: '*' is one token
//   TopicPattern::parse("telemetry.>")->matches("telemetry.ingest.health");  // true
//
// A token is `*` (exactly one topic token), `>` (one or more remaining tokens; last token
// only) or a literal of [a-z0-9_-] as in core::is_valid_topic. Partial wildcards ("tele*")
// are refused, as NATS treats them as literals and that surprises people. Plain value type.

#include <string>
#include <string_view>
#include <vector>

#include "opsready/core/error.h"

namespace opsready::core {

class TopicPattern {
 public:
  // Errors: code `invalid_topic_pattern`, message naming the offending token.
  [[nodiscard]] static core::Result<TopicPattern> parse(std::string_view text);

  // `topic` is expected to be a valid topic; an invalid one simply does not match.
  [[nodiscard]] bool matches(std::string_view topic) const;
  [[nodiscard]] const std::string& text() const { return text_; }
  // No wildcard: matches exactly one topic.
  [[nodiscard]] bool is_literal() const { return literal_; }

  bool operator==(const TopicPattern& other) const { return text_ == other.text_; }

 private:
  std::string text_;
  std::vector<std::string> tokens_;
  bool literal_ = true;
};

}  // namespace opsready::core
