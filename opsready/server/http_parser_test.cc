#include "opsready/server/http_parser.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace opsready::server {
namespace {

constexpr ParseLimits kLimits{.max_header_bytes = 1024, .max_body_bytes = 64};

// Feeds `bytes` as the listener does: in pieces of `step` bytes, keeping what the parser did not
// consume in front of the next piece. Stops at kDone or kError; returns the bytes left over.
std::string feed_in_steps(RequestParser& p, std::string_view bytes, std::size_t step,
                          std::vector<ParseState>* states = nullptr) {
  std::string pending;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t n = std::min(step, bytes.size() - pos);
    pending.append(bytes.substr(pos, n));
    pos += n;
    pending.erase(0, p.feed(pending));
    if (states != nullptr) states->push_back(p.state());
    if (p.state() == ParseState::kDone || p.state() == ParseState::kError) break;
    // The listener feeds again right away when the header is done and bytes are left.
    if (p.state() == ParseState::kHeaderDone && !pending.empty()) {
      pending.erase(0, p.feed(pending));
      if (states != nullptr) states->push_back(p.state());
      if (p.state() == ParseState::kDone || p.state() == ParseState::kError) break;
    }
  }
  pending.append(bytes.substr(pos));
  return pending;
}

Request parse_whole(std::string_view bytes, std::size_t step = 1 << 20,
                    ParseLimits limits = kLimits) {
  RequestParser p;
  p.reset(limits);
  const std::string rest = feed_in_steps(p, bytes, step);
  EXPECT_EQ(p.state(), ParseState::kDone) << p.error_message();
  EXPECT_TRUE(rest.empty()) << rest;
  Request req;
  if (p.state() == ParseState::kDone) p.take(req);
  return req;
}

TEST(RequestParser, ParsesASimpleGet) {
  RequestParser p;
  p.reset(kLimits);
  EXPECT_FALSE(p.started());
  const std::string raw =
      "GET /api/v1/readiness%20now?service=fix%20gw&x=1&x=2 HTTP/1.1\r\n"
      "Host: localhost\r\nAccept: */*\r\nX-Trace: abc\r\n\r\n";
  EXPECT_EQ(p.feed(raw), raw.size());
  EXPECT_TRUE(p.started());
  ASSERT_EQ(p.state(), ParseState::kDone);
  EXPECT_EQ(p.error(), ParseError::kNone);
  EXPECT_EQ(p.method(), "GET");
  EXPECT_EQ(p.target(), "/api/v1/readiness%20now?service=fix%20gw&x=1&x=2");
  EXPECT_EQ(p.header("x-trace"), "abc");
  EXPECT_EQ(p.header("absent"), "");
  EXPECT_TRUE(p.keep_alive());
  EXPECT_FALSE(p.expects_continue());

  Request req;
  p.take(req);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/api/v1/readiness%20now?service=fix%20gw&x=1&x=2");
  EXPECT_EQ(req.path, "/api/v1/readiness now");
  const std::vector<std::pair<std::string, std::string>> params = {
      {"service", "fix gw"}, {"x", "1"}, {"x", "2"}};
  EXPECT_EQ(req.params, params);
  const std::vector<Header> headers = {
      {"Host", "localhost"}, {"Accept", "*/*"}, {"X-Trace", "abc"}};
  EXPECT_EQ(req.headers, headers);
  EXPECT_EQ(req.body, "");
}

TEST(RequestParser, TakeFillsEveryField) {
  const Request req = parse_whole(
      "POST /in?a=1 HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
      "hello");
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/in?a=1");
  EXPECT_EQ(req.path, "/in");
  EXPECT_EQ(req.param("a"), "1");
  EXPECT_EQ(req.header("content-type"), "text/plain");
  EXPECT_EQ(req.header("content-length"), "5");
  EXPECT_EQ(req.body, "hello");
}

TEST(RequestParser, ParsesABodyFedOneByteAtATime) {
  const std::string body = "{\"events\":[1,2,3]}";
  const std::string raw =
      "POST /api/v1/events HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  RequestParser p;
  p.reset(kLimits);
  std::vector<ParseState> states;
  EXPECT_EQ(feed_in_steps(p, raw, 1, &states), "");
  ASSERT_EQ(p.state(), ParseState::kDone);
  // The header is reported done exactly once, before the request is done.
  EXPECT_EQ(std::count(states.begin(), states.end(), ParseState::kHeaderDone), 1);
  EXPECT_EQ(states.back(), ParseState::kDone);
  Request req;
  p.take(req);
  EXPECT_EQ(req.body, body);
}

TEST(RequestParser, ReportsTheHeaderBeforeTheBody) {
  RequestParser p;
  p.reset(kLimits);
  const std::string head = "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
  EXPECT_EQ(p.feed(head), head.size());
  ASSERT_EQ(p.state(), ParseState::kHeaderDone);
  EXPECT_EQ(p.content_length(), 3u);
  EXPECT_EQ(p.method(), "PUT");
  EXPECT_EQ(p.feed("ab"), 2u);
  EXPECT_EQ(p.state(), ParseState::kNeedMore);
  EXPECT_EQ(p.feed("c"), 1u);
  ASSERT_EQ(p.state(), ParseState::kDone);
  Request req;
  p.take(req);
  EXPECT_EQ(req.body, "abc");
}

TEST(RequestParser, ParsesAHeaderSplitAcrossFeeds) {
  const std::string raw = "GET /split?k=v HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(200, 'v') +
                          "\r\nX-Folded: a\r\n\r\n";
  for (std::size_t step : {1u, 2u, 7u, 64u}) {
    const Request req = parse_whole(raw, step);
    EXPECT_EQ(req.path, "/split") << step;
    EXPECT_EQ(req.param("k"), "v") << step;
    EXPECT_EQ(req.header("x-long"), std::string(200, 'v')) << step;
    EXPECT_EQ(req.header("x-folded"), "a") << step;
  }
}

TEST(RequestParser, ParsesAChunkedBody) {
  const std::string raw =
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n"
      "1;ext=1\r\n \r\n"
      "5\r\nworld\r\n"
      "0\r\n\r\n";
  for (std::size_t step : {1u, 3u, 1024u}) {
    RequestParser p;
    p.reset(kLimits);
    EXPECT_EQ(feed_in_steps(p, raw, step), "") << step;
    ASSERT_EQ(p.state(), ParseState::kDone) << step << ": " << p.error_message();
    EXPECT_FALSE(p.content_length().has_value());
    Request req;
    p.take(req);
    EXPECT_EQ(req.body, "hello world") << step;
  }
}

TEST(RequestParser, StopsAtTheEndOfTheFirstPipelinedRequest) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi";
  const std::string second = "GET /b?n=2 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string both = first + second;
  RequestParser p;
  p.reset(kLimits);
  const std::size_t used = p.feed(both);
  EXPECT_EQ(used, first.size());
  ASSERT_EQ(p.state(), ParseState::kDone);
  EXPECT_EQ(p.feed("more"), 0u);  // nothing more once done
  Request a;
  p.take(a);
  EXPECT_EQ(a.path, "/a");
  EXPECT_EQ(a.body, "hi");

  p.reset(kLimits);
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.feed(std::string_view(both).substr(used)), second.size());
  ASSERT_EQ(p.state(), ParseState::kDone);
  Request b;
  p.take(b);
  EXPECT_EQ(b.method, "GET");
  EXPECT_EQ(b.path, "/b");
  EXPECT_EQ(b.param("n"), "2");
  EXPECT_EQ(b.body, "");
}

TEST(RequestParser, RefusesWhatItMustRefuse) {
  struct Case {
    const char* name;
    std::string raw;
    ParseError want;
    std::size_t step = 1 << 20;
  };
  const std::string big_header = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(2000, 'x');
  const Case cases[] = {
      {"header over max_header_bytes", big_header + "\r\n\r\n", ParseError::kHeaderTooLarge},
      {"header over max_header_bytes, never ending", big_header, ParseError::kHeaderTooLarge},
      {"header over max_header_bytes, fed in pieces", big_header + "\r\n\r\n",
       ParseError::kHeaderTooLarge, 100},
      {"Content-Length over max_body_bytes",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n", ParseError::kBodyTooLarge},
      {"chunked body over max_body_bytes",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "20\r\n" +
           std::string(32, 'a') + "\r\n20\r\n" + std::string(32, 'b') + "\r\n1\r\nc\r\n0\r\n\r\n",
       ParseError::kBodyTooLarge},
      {"garbage", "\x01\x02\x03 nonsense\r\n\r\n", ParseError::kBadRequest},
      {"no version", "GET /\r\n\r\n", ParseError::kBadRequest},
      {"bad Content-Length", "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
       ParseError::kBadRequest},
      {"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       ParseError::kBadRequest},
      {"space in header name", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", ParseError::kBadRequest},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ParseError::kBadVersion},
      {"HTTP/3.0", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", ParseError::kBadVersion},
      {"HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", ParseError::kBadVersion},
  };
  for (const auto& c : cases) {
    RequestParser p;
    p.reset(kLimits);
    feed_in_steps(p, c.raw, c.step);
    EXPECT_EQ(p.state(), ParseState::kError) << c.name;
    EXPECT_EQ(p.error(), c.want) << c.name << ": " << p.error_message();
    EXPECT_FALSE(p.error_message().empty()) << c.name;
    // An error is final.
    EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n\r\n"), 0u) << c.name;
    EXPECT_EQ(p.state(), ParseState::kError) << c.name;
  }
}

TEST(RequestParser, AcceptsABodyOfExactlyTheLimit) {
  const std::string body(kLimits.max_body_bytes, 'z');
  const Request req =
      parse_whole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\n\r\n" + body);
  EXPECT_EQ(req.body, body);
}

TEST(RequestParser, KeepAliveFollowsVersionAndConnection) {
  struct Case {
    const char* raw;
    bool want;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    RequestParser p;
    p.reset(kLimits);
    p.feed(c.raw);
    ASSERT_EQ(p.state(), ParseState::kDone) << c.raw;
    EXPECT_EQ(p.keep_alive(), c.want) << c.raw;
  }
}

TEST(RequestParser, ReportsTheVersion) {
  for (const auto& [raw, want] : {std::pair{"GET / HTTP/1.0\r\n\r\n", 10u},
                                  std::pair{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 11u}}) {
    RequestParser p;
    p.reset(kLimits);
    p.feed(raw);
    ASSERT_EQ(p.state(), ParseState::kDone) << raw;
    EXPECT_EQ(p.version(), want) << raw;
  }
}

TEST(RequestParser, ExpectsContinueOnlyFor100Continue) {
  struct Case {
    const char* expect;  // nullptr: no Expect header
    bool want;
  };
  const Case cases[] = {
      {nullptr, false}, {"100-continue", true}, {"100-Continue", true}, {"something-else", false}};
  for (const auto& c : cases) {
    std::string raw = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n";
    if (c.expect != nullptr) raw += std::string("Expect: ") + c.expect + "\r\n";
    raw += "\r\n";
    RequestParser p;
    p.reset(kLimits);
    EXPECT_EQ(p.feed(raw), raw.size());
    ASSERT_EQ(p.state(), ParseState::kHeaderDone);
    EXPECT_EQ(p.expects_continue(), c.want) << (c.expect ? c.expect : "(none)");
  }
}

TEST(RequestParser, ResetStartsAFreshRequestWithNewLimits) {
  RequestParser p;
  p.reset(kLimits);
  p.feed("\x01garbage\r\n\r\n");
  ASSERT_EQ(p.state(), ParseState::kError);
  p.reset({.max_header_bytes = 1024, .max_body_bytes = 4});
  EXPECT_EQ(p.state(), ParseState::kNeedMore);
  EXPECT_EQ(p.error(), ParseError::kNone);
  EXPECT_TRUE(p.error_message().empty());
  p.feed("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(p.error(), ParseError::kBodyTooLarge);
}

}  // namespace
}  // namespace opsready::server
