#pragma once
// Error and Result: every fallible call in opsready returns a value that says why it failed.
//
//   opsready::core::Result<Status> s = parse_status("degraded");
//   if (!s) log(s.error().message);
//
// `Error` is a plain value: a stable machine-readable `code` (a slug such as
// `unknown_status_word`), an optional `field` (a JSON pointer-like path such as
// `issues[2].severity`) and a human `message`. Thread-safe as any value type.

#include <expected>
#include <string>
#include <utility>

namespace opsready::core {

struct Error {
  std::string code;
  std::string message;
  std::string field;

  bool operator==(const Error&) const = default;

  // "field: message" when a field is known, else just the message.
  [[nodiscard]] std::string describe() const {
    return field.empty() ? message : field + ": " + message;
  }
};

template <typename T>
using Result = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(std::string code, std::string message,
                                                 std::string field = {}) {
  return std::unexpected<Error>(Error{std::move(code), std::move(message), std::move(field)});
}

}  // namespace opsready::core
