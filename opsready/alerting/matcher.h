#pragma once
// Matcher: an Alertmanager label matcher (`name OP value`, OP one of `=`, `!=`, `=~`, `!~`), and
// Matchers, a list of them that an alert must all satisfy. Routes, inhibit rules and silences
// select alerts with these.
//
//   core::Result<Matchers> ms = parse_matchers(R"({severity="critical", service=~"ingest|bus"})");
//   if (!ms) return ms.error();                  // "position 22: ..." with a slug in .code
//   bool hit = matches(*ms, alert.labels);        // every matcher holds (AND)
//   std::string canonical = to_string(*ms);       // {severity="critical",service=~"ingest|bus"}
//
// Semantics are Alertmanager's (pkg/labels): a label the alert lacks matches as the empty
// string, so `foo=""` matches alerts without `foo`, `foo!=""` requires it, `foo=~".*"` matches
// every alert. Regular expressions are RE2 (the engine Go's regexp follows) compiled once, at
// creation, anchored at both ends as `^(?:value)$`.
//
// The parser takes Alertmanager's classic matcher syntax (pkg/labels/parse.go): braces
// optional, commas between matchers (one trailing comma allowed), whitespace around every
// token, values quoted or not, inside a value `\"`, `\\` and `\n` are escapes and any other
// backslash is literal. Where the classic parser is lax opsready is strict, as Alertmanager's
// newer UTF-8 parser is: braces come in pairs (`{a=b` and `a=b}` are errors, not a value
// ending in `}`). Label names follow the classic parser: [a-zA-Z_:][a-zA-Z0-9_:]*.
//
// Plain value types. A Matcher's compiled regex is immutable and shared between copies, so
// copies are cheap; matching is const and allocation-free. Safe to read from any thread once
// built; not safe to assign to while another thread reads it (as any value).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/core/alert.h"
#include "opsready/core/error.h"

namespace re2 {
class RE2;
}

namespace opsready::alerting {

enum class MatchType { kEqual, kNotEqual, kRegex, kNotRegex };

// "=", "!=", "=~", "!~".
[[nodiscard]] std::string_view to_string(MatchType type);

// A label name as Alertmanager's classic matcher parser accepts it: [a-zA-Z_:][a-zA-Z0-9_:]*.
[[nodiscard]] bool is_valid_matcher_name(std::string_view name);

// One label matcher. Built only through create() (or the parsers), so that the compiled regex
// always belongs to value(): the fields are read through accessors for that reason.
class Matcher {
 public:
  // Validates the name and, for the regex types, compiles `^(?:value)$` with RE2.
  // Errors: `matcher_invalid_label_name`, `matcher_empty_label_name`, `matcher_bad_regex`
  // (RE2's own reason in the message), `matcher_invalid_utf8`.
  [[nodiscard]] static core::Result<Matcher> create(MatchType type, std::string name,
                                                    std::string value);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] MatchType type() const { return type_; }
  [[nodiscard]] const std::string& value() const { return value_; }

  // Whether the label value `v` satisfies the matcher.
  [[nodiscard]] bool matches_value(std::string_view v) const;
  // Whether `labels` satisfies the matcher; a missing label is the empty string.
  [[nodiscard]] bool matches(const core::LabelSet& labels) const;

  // Alertmanager's canonical form: name, operator, the value in double quotes with `\`, `"`
  // and line feed escaped (`\\`, `\"`, `\n`): `severity=~"crit.*"`. parse_matcher() reads it
  // back to an equal matcher.
  [[nodiscard]] std::string to_string() const;

  // Equal when name, type and value are (the regex follows from them).
  [[nodiscard]] bool operator==(const Matcher& other) const {
    return type_ == other.type_ && name_ == other.name_ && value_ == other.value_;
  }
  // Alertmanager's sort order (labels.Matchers.Less): name, then value, then type.
  [[nodiscard]] bool operator<(const Matcher& other) const;

 private:
  Matcher(MatchType type, std::string name, std::string value,
          std::shared_ptr<const re2::RE2> regex);

  MatchType type_ = MatchType::kEqual;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> regex_;  // set for kRegex / kNotRegex only
};

// A conjunction of matchers: an alert is selected when every one holds (an empty list selects
// every alert).
using Matchers = std::vector<Matcher>;

[[nodiscard]] bool matches(const Matchers& matchers, const core::LabelSet& labels);
// `{a="b",c=~"d.*"}` (Alertmanager's labels.Matchers.String: comma, no space, in list order).
[[nodiscard]] std::string to_string(const Matchers& matchers);

// One matcher, e.g. `severity = "critical"`, `job=~ingest.*`, `env!=""`. No braces, no comma.
// Errors name the position (0-based byte offset into `text`) and the reason, with code
// `matcher_missing_operator`, `matcher_empty_label_name`, `matcher_invalid_label_name`,
// `matcher_unescaped_quote`, `matcher_bad_regex`, `matcher_invalid_utf8`.
[[nodiscard]] core::Result<Matcher> parse_matcher(std::string_view text);

// A comma-separated list, optionally in braces: `{a="b", c=~"d.*",}`, `a=b,c!=d`, `{}` and ``
// (no matchers). Besides parse_matcher's errors: `matcher_unbalanced_braces` and
// `matcher_empty` (an empty entry, as in `a=b,,c=d` or `,`). Positions are offsets into `text`.
[[nodiscard]] core::Result<Matchers> parse_matchers(std::string_view text);

}  // namespace opsready::alerting
