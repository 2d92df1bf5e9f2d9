#pragma once
// RequestParser: incremental HTTP/1.1 request parsing, sans I/O, for the event-driven listener.
//
//   RequestParser p;
//   p.reset({.max_header_bytes = 64 << 10, .max_body_bytes = 8 << 20});
//   std::size_t used = p.feed(bytes);        // bytes not consumed stay with the caller
//   if (p.state() == ParseState::kHeaderDone) { ... maybe send 100 Continue ..., feed more }
//   if (p.state() == ParseState::kDone) p.take(request);
//
// The protocol is Boost.Beast's HTTP/1 parser (request line, header fields, Content-Length and
// chunked bodies, obs-fold, the limits below); this class only adapts it to opsready's Request
// and keeps Boost out of every other translation unit. It never reads a socket: the listener
// hands it whatever bytes arrived, so one slow client costs a buffer, not a thread.
//
// Limits: a header block larger than max_header_bytes is kHeaderTooLarge (431); a body (as
// sent, before any content coding is undone) larger than max_body_bytes is kBodyTooLarge (413),
// detected from Content-Length as soon as the header is in, or while a chunked body arrives.
// One parser per connection, reused with reset(); not thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "opsready/server/http_message.h"

namespace opsready::server {

struct ParseLimits {
  std::size_t max_header_bytes = 64u << 10;
  std::size_t max_body_bytes = 8u << 20;
};

enum class ParseState {
  kNeedMore,    // nothing complete yet: feed more bytes
  kHeaderDone,  // the header is complete (reported once), the body is still arriving
  kDone,        // a whole request: take() it
  kError,       // see error(); the connection cannot be used for another request
};

enum class ParseError {
  kNone,
  kBadRequest,      // 400
  kHeaderTooLarge,  // 431
  kBodyTooLarge,    // 413
  kBadVersion,      // 505 (e.g. an HTTP/2 preface)
};

class RequestParser {
 public:
  RequestParser();
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Starts a new request with these limits.
  void reset(const ParseLimits& limits);
  // Parses what it can of `bytes`; returns how many bytes it consumed (possibly 0 while a
  // header is incomplete: call again with those bytes and more).
  std::size_t feed(std::string_view bytes);
  [[nodiscard]] ParseState state() const { return state_; }
  [[nodiscard]] ParseError error() const { return error_; }
  [[nodiscard]] const std::string& error_message() const { return message_; }
  // True once any byte of this request has been consumed.
  [[nodiscard]] bool started() const { return started_; }

  // Once the header is done:
  [[nodiscard]] bool keep_alive() const;
  // 10 for HTTP/1.0, 11 for HTTP/1.1.
  [[nodiscard]] unsigned version() const;
  [[nodiscard]] bool expects_continue() const;
  [[nodiscard]] std::optional<std::uint64_t> content_length() const;
  [[nodiscard]] std::string_view method() const;
  [[nodiscard]] std::string_view target() const;
  [[nodiscard]] std::string_view header(std::string_view name) const;

  // Moves the parsed request (method, target, path, params, headers, body) into `req`. kDone only.
  void take(Request& req);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ParseState state_ = ParseState::kNeedMore;
  ParseError error_ = ParseError::kNone;
  std::string message_;
  bool started_ = false;
  bool header_reported_ = false;
};

}  // namespace opsready::server
