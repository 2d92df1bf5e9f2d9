#include "opsready/server/http_parser.h"

#include <array>
#include <cstddef>
#include <memory_resource>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace opsready::server {

namespace http = boost::beast::http;

struct RequestParser::Impl {
  // A request's header fields are allocated from this arena (one allocation each otherwise),
  // released when the next request starts; most headers fit in the initial block.
  alignas(std::max_align_t) std::array<std::byte, 2048> initial{};
  std::pmr::monotonic_buffer_resource arena{initial.data(), initial.size()};
  using Parser = http::request_parser<http::string_body, std::pmr::polymorphic_allocator<char>>;
  std::optional<Parser> parser;
};

RequestParser::RequestParser() : impl_(std::make_unique<Impl>()) {}
RequestParser::~RequestParser() = default;

void RequestParser::reset(const ParseLimits& limits) {
  impl_->parser.reset();
  impl_->arena.release();
  auto& p =
      impl_->parser.emplace(std::piecewise_construct, std::make_tuple(),
                            std::make_tuple(std::pmr::polymorphic_allocator<char>(&impl_->arena)));
  p.eager(true);
  p.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(limits.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  p.body_limit(static_cast<std::uint64_t>(limits.max_body_bytes));
  state_ = ParseState::kNeedMore;
  error_ = ParseError::kNone;
  message_.clear();
  started_ = false;
  header_reported_ = false;
}

std::size_t RequestParser::feed(std::string_view bytes) {
  if (state_ == ParseState::kDone || state_ == ParseState::kError || bytes.empty()) return 0;
  started_ = true;
  auto& p = *impl_->parser;
  boost::beast::error_code ec;
  const std::size_t used = p.put(boost::asio::const_buffer(bytes.data(), bytes.size()), ec);
  if (ec == http::error::need_more) ec = {};
  if (ec) {
    state_ = ParseState::kError;
    message_ = ec.message();
    if (ec == http::error::header_limit) {
      error_ = ParseError::kHeaderTooLarge;
    } else if (ec == http::error::body_limit) {
      error_ = ParseError::kBodyTooLarge;
    } else if (ec == http::error::bad_version) {
      error_ = ParseError::kBadVersion;
    } else {
      error_ = ParseError::kBadRequest;
    }
    return used;
  }
  if (p.is_done()) {
    state_ = ParseState::kDone;
  } else if (p.is_header_done() && !header_reported_) {
    header_reported_ = true;
    state_ = ParseState::kHeaderDone;
  } else {
    state_ = ParseState::kNeedMore;
  }
  return used;
}

bool RequestParser::keep_alive() const { return impl_->parser->keep_alive(); }

unsigned RequestParser::version() const { return impl_->parser->get().version(); }

bool RequestParser::expects_continue() const {
  const auto& h = impl_->parser->get();
  const auto it = h.find(http::field::expect);
  if (it == h.end()) return false;
  return iequals(std::string_view(it->value().data(), it->value().size()), "100-continue");
}

std::optional<std::uint64_t> RequestParser::content_length() const {
  const auto n = impl_->parser->content_length();
  if (!n) return std::nullopt;
  return *n;
}

std::string_view RequestParser::method() const {
  const auto m = impl_->parser->get().method_string();
  return {m.data(), m.size()};
}

std::string_view RequestParser::target() const {
  const auto t = impl_->parser->get().target();
  return {t.data(), t.size()};
}

std::string_view RequestParser::header(std::string_view name) const {
  const auto& h = impl_->parser->get();
  const auto it = h.find(boost::beast::string_view(name.data(), name.size()));
  if (it == h.end()) return {};
  return {it->value().data(), it->value().size()};
}

void RequestParser::take(Request& req) {
  auto& msg = impl_->parser->get();
  const auto m = msg.method_string();
  req.method.assign(m.data(), m.size());
  const auto t = msg.target();
  req.target.assign(t.data(), t.size());
  const std::string_view target(req.target);
  const auto q = target.find('?');
  req.path = decode_path(target.substr(0, q));
  req.params.clear();
  if (q != std::string_view::npos) req.params = parse_query(target.substr(q + 1));
  req.headers.clear();
  req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& f : msg) {
    const auto n = f.name_string();
    const auto v = f.value();
    req.headers.push_back({std::string(n.data(), n.size()), std::string(v.data(), v.size())});
  }
  req.body = std::move(msg.body());
}

}  // namespace opsready::server
