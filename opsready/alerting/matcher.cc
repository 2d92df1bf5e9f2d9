#include "opsready/alerting/matcher.h"

#include <re2/re2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

namespace opsready::alerting {
namespace {

// Go's `\s` in Alertmanager's matcher regex: [\t\n\f\r ].
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_operator_char(char c) { return c == '=' || c == '!' || c == '~'; }

// Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::unexpected<core::Error> fail_at(std::size_t position, std::string code, std::string reason) {
  return core::fail(std::move(code), "position " + std::to_string(position) + ": " + reason);
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// One matcher from `text`, which starts at byte `base` of the caller's input (for positions).
core::Result<Matcher> parse_one(std::string_view text, std::size_t base) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n && is_space(text[i])) ++i;
  if (i == n) return fail_at(base + i, "matcher_empty", "expected a matcher, found nothing");

  const std::size_t name_begin = i;
  while (i < n && !is_space(text[i]) && !is_operator_char(text[i])) ++i;
  const std::string_view name = text.substr(name_begin, i - name_begin);
  if (name.empty()) {
    return fail_at(base + name_begin, "matcher_empty_label_name",
                   "label name missing before the operator");
  }
  if (!is_valid_matcher_name(name)) {
    return fail_at(
        base + name_begin, "matcher_invalid_label_name",
        "invalid label name " + quote(name) + " (a label name matches [a-zA-Z_:][a-zA-Z0-9_:]*)");
  }

  while (i < n && is_space(text[i])) ++i;
  MatchType type{};
  const std::string_view rest = text.substr(i);
  // `=~` before `=`: otherwise `a=~b` would read as `a = "~b"`.
  if (rest.starts_with("=~")) {
    type = MatchType::kRegex;
  } else if (rest.starts_with("!=")) {
    type = MatchType::kNotEqual;
  } else if (rest.starts_with("!~")) {
    type = MatchType::kNotRegex;
  } else if (rest.starts_with("=")) {
    type = MatchType::kEqual;
  } else {
    return fail_at(base + i, "matcher_missing_operator",
                   "expected one of =, !=, =~, !~ after label name " + quote(name));
  }
  i += alerting::to_string(type).size();

  while (i < n && is_space(text[i])) ++i;
  std::size_t end = n;
  while (end > i && is_space(text[end - 1])) --end;
  const std::size_t value_begin = i;
  std::string_view raw = text.substr(i, end - i);

  bool quoted = false;
  std::size_t raw_base = base + value_begin;
  if (raw.starts_with('"')) {
    quoted = true;
    raw.remove_prefix(1);
    ++raw_base;
  }

  std::string value;
  value.reserve(raw.size());
  bool closed = false;
  for (std::size_t k = 0; k < raw.size(); ++k) {
    const char c = raw[k];
    if (c == '\\') {
      // A backslash escapes `\`, `"` and `n`; elsewhere (and as the last byte) it is literal.
      if (k + 1 < raw.size()) {
        const char next = raw[k + 1];
        if (next == 'n') {
          value.push_back('\n');
          ++k;
          continue;
        }
        if (next == '"' || next == '\\') {
          value.push_back(next);
          ++k;
          continue;
        }
      }
      value.push_back('\\');
      continue;
    }
    if (c == '"') {
      if (quoted && k + 1 == raw.size()) {
        closed = true;
        continue;
      }
      return fail_at(raw_base + k, "matcher_unescaped_quote",
                     "unescaped double quote in the value of " + quote(name) +
                         " (write \\\" for a literal quote)");
    }
    value.push_back(c);
  }
  if (quoted && !closed) {
    return fail_at(base + end, "matcher_unescaped_quote",
                   "the value of " + quote(name) + " opens a double quote that is never closed");
  }

  auto m = Matcher::create(type, std::string(name), std::move(value));
  if (!m) {
    // create() reports no position; the value is where the problem lies.
    return fail_at(base + value_begin, m.error().code, m.error().message);
  }
  return m;
}

std::string escape_value(std::string_view v) {
  std::string out;
  out.reserve(v.size() + 2);
  for (const char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(MatchType type) {
  switch (type) {
    case MatchType::kEqual:
      return "=";
    case MatchType::kNotEqual:
      return "!=";
    case MatchType::kRegex:
      return "=~";
    case MatchType::kNotRegex:
      return "!~";
  }
  return "=";
}

bool is_valid_matcher_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front())) return false;
  for (const char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

Matcher::Matcher(MatchType type, std::string name, std::string value,
                 std::shared_ptr<const re2::RE2> regex)
    : type_(type), name_(std::move(name)), value_(std::move(value)), regex_(std::move(regex)) {}

core::Result<Matcher> Matcher::create(MatchType type, std::string name, std::string value) {
  if (name.empty()) return core::fail("matcher_empty_label_name", "label name is empty");
  if (!is_valid_matcher_name(name)) {
    return core::fail(
        "matcher_invalid_label_name",
        "invalid label name " + quote(name) + " (a label name matches [a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  if (!is_valid_utf8(value)) {
    return core::fail("matcher_invalid_utf8", "the value of " + quote(name) + " is not UTF-8");
  }
  std::shared_ptr<const re2::RE2> regex;
  if (type == MatchType::kRegex || type == MatchType::kNotRegex) {
    re2::RE2::Options options;
    options.set_log_errors(false);  // the error is returned, not printed to stderr
    auto compiled = std::make_shared<const re2::RE2>("^(?:" + value + ")$", options);
    if (!compiled->ok()) {
      return core::fail("matcher_bad_regex", "invalid regular expression " + quote(value) +
                                                 " for " + quote(name) + ": " + compiled->error());
    }
    regex = std::move(compiled);
  }
  return Matcher(type, std::move(name), std::move(value), std::move(regex));
}

bool Matcher::matches_value(std::string_view v) const {
  switch (type_) {
    case MatchType::kEqual:
      return v == value_;
    case MatchType::kNotEqual:
      return v != value_;
    case MatchType::kRegex:
      return re2::RE2::PartialMatch(v, *regex_);
    case MatchType::kNotRegex:
      return !re2::RE2::PartialMatch(v, *regex_);
  }
  return false;
}

bool Matcher::matches(const core::LabelSet& labels) const {
  const auto it = labels.find(name_);
  return matches_value(it == labels.end() ? std::string_view() : std::string_view(it->second));
}

std::string Matcher::to_string() const {
  std::string out = name_;
  out += alerting::to_string(type_);
  out += '"';
  out += escape_value(value_);
  out += '"';
  return out;
}

bool Matcher::operator<(const Matcher& other) const {
  return std::tie(name_, value_, type_) < std::tie(other.name_, other.value_, other.type_);
}

bool matches(const Matchers& matchers, const core::LabelSet& labels) {
  for (const Matcher& m : matchers) {
    if (!m.matches(labels)) return false;
  }
  return true;
}

std::string to_string(const Matchers& matchers) {
  std::string out = "{";
  for (std::size_t i = 0; i < matchers.size(); ++i) {
    if (i > 0) out += ',';
    out += matchers[i].to_string();
  }
  out += '}';
  return out;
}

core::Result<Matcher> parse_matcher(std::string_view text) { return parse_one(text, 0); }

core::Result<Matchers> parse_matchers(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;

  const bool open = begin < end && text[begin] == '{';
  const bool close = end > begin + (open ? 1 : 0) && text[end - 1] == '}';
  if (open && !close) {
    return fail_at(end, "matcher_unbalanced_braces",
                   "'{' at position " + std::to_string(begin) + " is never closed by '}'");
  }
  if (close && !open) {
    return fail_at(end - 1, "matcher_unbalanced_braces",
                   "'}' without an opening '{' (quote the value if the brace belongs to it)");
  }
  if (open) {
    ++begin;
    --end;
  }

  // Split on commas outside double quotes; `\"` does not open or close a quote.
  struct Token {
    std::size_t begin;
    std::size_t end;
  };
  std::vector<Token> tokens;
  bool inside_quotes = false;
  bool escaped = false;
  std::size_t token_begin = begin;
  for (std::size_t i = begin; i < end; ++i) {
    const char c = text[i];
    if (c == ',' && !inside_quotes) {
      tokens.push_back({token_begin, i});
      token_begin = i + 1;
      escaped = false;
      continue;
    }
    if (c == '"') {
      if (!escaped) inside_quotes = !inside_quotes;
      escaped = false;
    } else if (c == '\\') {
      escaped = !escaped;
    } else {
      escaped = false;
    }
  }
  // The text after the last comma; blank there is the one trailing comma that is allowed.
  bool blank_tail = true;
  for (std::size_t i = token_begin; i < end; ++i) {
    if (!is_space(text[i])) {
      blank_tail = false;
      break;
    }
  }
  if (!blank_tail) tokens.push_back({token_begin, end});

  Matchers out;
  out.reserve(tokens.size());
  for (const Token& t : tokens) {
    auto m = parse_one(text.substr(t.begin, t.end - t.begin), t.begin);
    if (!m) {
      if (m.error().code == "matcher_empty") {
        return fail_at(t.begin, "matcher_empty",
                       "empty matcher (only one trailing comma is allowed)");
      }
      return std::unexpected(std::move(m.error()));
    }
    out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace opsready::alerting
