#include "opsready/server/http_message.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace opsready::server {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(ParseQuery, DecodesSplitsAndKeepsOrder) {
  struct Case {
    const char* name;
    std::string query;
    Params want;
  };
  const Case cases[] = {
      {"empty", "", {}},
      {"one pair", "a=1", {{"a", "1"}}},
      {"two pairs in order", "b=2&a=1", {{"b", "2"}, {"a", "1"}}},
      {"percent-decoding", "x=a%20b%2Fc", {{"x", "a b/c"}}},
      {"lower-case hex", "x=%2f%3d", {{"x", "/="}}},
      {"plus is a space", "q=up+and+down", {{"q", "up and down"}}},
      {"encoded plus stays plus", "q=1%2B1", {{"q", "1+1"}}},
      {"decoded name", "a%5Bb%5D=1", {{"a[b]", "1"}}},
      {"repeated name keeps every value", "a=1&a=2&a=3", {{"a", "1"}, {"a", "2"}, {"a", "3"}}},
      {"name without value", "flag&a=1", {{"flag", ""}, {"a", "1"}}},
      {"empty value", "a=", {{"a", ""}}},
      {"empty name", "=v", {{"", "v"}}},
      {"empty parts skipped", "&&a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
      {"only ampersands", "&&&", {}},
      {"second '=' belongs to the value", "a=b=c", {{"a", "b=c"}}},
      {"malformed escape kept", "a=%zz", {{"a", "%zz"}}},
      {"half escape kept", "a=%4", {{"a", "%4"}}},
      {"lone percent kept", "a=%", {{"a", "%"}}},
      {"escape at the very end", "a=%41", {{"a", "A"}}},
      {"malformed then good escape", "a=%%41", {{"a", "%A"}}},
      {"escaped ampersand is not a separator", "a=1%262", {{"a", "1&2"}}},
      {"NUL byte decoded", "a=%00", {{"a", std::string(1, '\0')}}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse_query(c.query), c.want) << c.name << ": " << c.query;
  }
}

TEST(DecodePath, PercentDecodesButKeepsPlus) {
  struct Case {
    std::string path;
    std::string want;
  };
  const Case cases[] = {
      {"/", "/"},
      {"/api/v1/events", "/api/v1/events"},
      {"/a%20b", "/a b"},
      {"/a+b", "/a+b"},
      {"/%7Euser", "/~user"},
      {"/a%2Fb", "/a/b"},
      {"/bad%zzescape", "/bad%zzescape"},
      {"/trailing%", "/trailing%"},
      {"/trailing%4", "/trailing%4"},
      {"/end%41", "/endA"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_path(c.path), c.want) << c.path;
}

TEST(Iequals, ComparesAsciiCaseInsensitively) {
  struct Case {
    std::string a, b;
    bool want;
  };
  const Case cases[] = {
      {"", "", true},
      {"Content-Length", "content-length", true},
      {"CONTENT-LENGTH", "content-length", true},
      {"gzip", "GZip", true},
      {"gzip", "gzip ", false},
      {"gzip", "gzi", false},
      {"a", "b", false},
      {"[", "{", false},  // '[' and '{' differ by 0x20 but are not letters
      {"@", "`", false},
      {"Z", "z", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(iequals(c.a, c.b), c.want) << "'" << c.a << "' vs '" << c.b << "'";
    EXPECT_EQ(iequals(c.b, c.a), c.want) << "symmetric: '" << c.b << "' vs '" << c.a << "'";
  }
}

TEST(Request, HeaderLookupIsCaseInsensitiveAndReturnsTheFirst) {
  Request req;
  req.headers = {{"Content-Type", "application/json"},
                 {"X-Multi", "first"},
                 {"x-multi", "second"},
                 {"Empty", ""}};
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(req.header("X-MULTI"), "first");
  EXPECT_EQ(req.header("missing"), "");
  EXPECT_TRUE(req.has_header("x-multi"));
  EXPECT_TRUE(req.has_header("empty"));
  EXPECT_EQ(req.header("empty"), "");
  EXPECT_FALSE(req.has_header("missing"));
}

TEST(Request, ParamReturnsTheFirstValueAndNamesAreCaseSensitive) {
  Request req;
  req.params = parse_query("since=1&since=2&Flag");
  EXPECT_TRUE(req.has_param("since"));
  EXPECT_EQ(req.param("since"), "1");
  EXPECT_TRUE(req.has_param("Flag"));
  EXPECT_EQ(req.param("Flag"), "");
  EXPECT_FALSE(req.has_param("flag"));
  EXPECT_EQ(req.param("absent"), "");
}

TEST(Response, SetHeaderReplacesCaseInsensitively) {
  Response res = Response::text(201, "made\n");
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(res.body, "made\n");
  res.set_header("Vary", "Accept");
  res.set_header("vary", "Accept-Encoding");
  res.set_header("Allow", "GET");
  const std::vector<Header> want = {{"Vary", "Accept-Encoding"}, {"Allow", "GET"}};
  EXPECT_EQ(res.headers, want);

  const Response json = Response::json(422, "{}", "application/problem+json");
  EXPECT_EQ(json.status, 422);
  EXPECT_EQ(json.content_type, "application/problem+json");
  EXPECT_EQ(Response::json(200, "{}").content_type, "application/json");
}

TEST(ReasonPhrase, NamesTheCodesTheServerAnswers) {
  struct Case {
    int status;
    const char* want;
  };
  const Case cases[] = {
      {100, "Continue"},
      {200, "OK"},
      {204, "No Content"},
      {400, "Bad Request"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {413, "Content Too Large"},
      {415, "Unsupported Media Type"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
      {505, "HTTP Version Not Supported"},
      {299, "Unknown"},
      {0, "Unknown"},
      {-1, "Unknown"},
  };
  for (const auto& c : cases) EXPECT_EQ(reason_phrase(c.status), c.want) << c.status;
}

}  // namespace
}  // namespace opsready::server
