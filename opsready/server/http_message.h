#pragma once
// Request and Response: the HTTP/1.1 messages opsready's handlers see, independent of the
// library that parses them (server/http_parser.h) and of the event loop that carries them
// (server/http_listener.h).
//
//   void handler(const Request& req, Responder res) {
//     if (!req.has_param("since")) return res.send(Response::text(400, "need since\n"));
//     res.send(Response::json(200, R"({"ok":true})"));
//   }
//
// Header names compare case-insensitively (RFC 9110 §5.1). The query string is split into
// decoded parameters (percent-decoding, '+' as space) in order; a repeated name keeps every
// value and param() returns the first. The body is the decoded body: chunked transfer coding
// and `Content-Encoding: gzip` are undone before a handler runs. Plain values.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace opsready::server {

struct Header {
  std::string name;
  std::string value;

  bool operator==(const Header&) const = default;
};

// Case-insensitive ASCII comparison of header names and tokens.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

struct Request {
  std::string method;  // "GET", "POST", ... ("HEAD" is served by the GET route)
  std::string target;  // the request-target as sent
  std::string path;    // the target's path, percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<Header> headers;
  std::string body;
  std::string remote;  // the client's address, e.g. "127.0.0.1"
  // The captures of a path template's `{name}` segments (Listener::route), percent-decoded.
  std::vector<std::pair<std::string, std::string>> path_params;

  // The first value of header `name`; "" when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
  [[nodiscard]] bool has_header(std::string_view name) const;
  [[nodiscard]] bool has_param(std::string_view name) const;
  // The first value of query parameter `name`; "" when absent.
  [[nodiscard]] std::string param(std::string_view name) const;
  // The capture of path segment `{name}`; "" when absent.
  [[nodiscard]] std::string path_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type;  // omitted when empty (and the body is empty)
  std::string body;
  std::vector<Header> headers;  // extra headers; the listener adds Content-Length, Date, ...

  void set_header(std::string name, std::string value);

  [[nodiscard]] static Response text(int status, std::string body,
                                     std::string content_type = "text/plain; charset=utf-8");
  [[nodiscard]] static Response json(int status, std::string body,
                                     std::string content_type = "application/json");
};

// Splits "a=1&b=x%20y" into decoded pairs (percent-decoding, '+' as space); malformed escapes
// are kept as they are.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q);
// Percent-decodes a path ('+' stays '+').
[[nodiscard]] std::string decode_path(std::string_view path);
// The reason phrase of a status code ("OK", "Not Found", ...); "Unknown" for others.
[[nodiscard]] std::string_view reason_phrase(int status);

}  // namespace opsready::server
