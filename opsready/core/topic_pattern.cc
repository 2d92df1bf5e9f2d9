#include "opsready/core/topic_pattern.h"

#include "opsready/core/text.h"

namespace opsready::core {
namespace {

bool is_literal_token(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

core::Result<TopicPattern> TopicPattern::parse(std::string_view text) {
  if (text.empty() || text.size() > 255) {
    return core::fail("invalid_topic_pattern", "a topic pattern has 1 to 255 characters");
  }
  TopicPattern p;
  p.text_ = std::string(text);
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const std::string_view token =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const bool last = dot == std::string_view::npos;
    if (token == "*") {
      p.literal_ = false;
    } else if (token == ">") {
      if (!last) {
        return core::fail("invalid_topic_pattern",
                          "'>' must be the last token of '" + p.text_ + "'");
      }
      p.literal_ = false;
    } else if (!is_literal_token(token)) {
      return core::fail("invalid_topic_pattern",
                        "token '" + std::string(token) + "' of '" + p.text_ +
                            "' is neither '*', '>' nor a word of [a-z0-9_-]");
    }
    p.tokens_.emplace_back(token);
    if (last) break;
    start = dot + 1;
  }
  return p;
}

bool TopicPattern::matches(std::string_view topic) const {
  if (literal_) return topic == text_;
  std::size_t start = 0;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (start > topic.size()) return false;  // the topic ran out of tokens
    const std::string& want = tokens_[i];
    if (want == ">") return start < topic.size();  // at least one more token
    const std::size_t dot = topic.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? topic.size() : dot;
    const std::string_view token = topic.substr(start, end - start);
    if (token.empty()) return false;
    if (want != "*" && token != want) return false;
    start = end + 1;  // one past the end when this was the last token
  }
  return start == topic.size() + 1;  // every topic token consumed
}

}  // namespace opsready::core
