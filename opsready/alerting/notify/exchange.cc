#include "opsready/alerting/notify/exchange.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

#include "opsready/core/text.h"

namespace opsready::alerting::notify {

// Retry-After (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date (IMF-fixdate, the one form
// senders must use) relative to `now`. Hand-written: libstdc++ 12 has no std::chrono::parse.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v,
                                                           core::TimePoint now) {
  v = core::trim(v);
  std::int64_t seconds = 0;
  if (const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
      ec == std::errc() && end == v.data() + v.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (v.size() != 29 || v.substr(25) != " GMT") return std::nullopt;
  const auto num = [&v](std::size_t pos, std::size_t len, int& out) {
    const auto [end, ec] = std::from_chars(v.data() + pos, v.data() + pos + len, out);
    return ec == std::errc() && end == v.data() + pos + len;
  };
  int day = 0;
  int year = 0;
  int hh = 0;
  int mm = 0;
  int ss = 0;
  const auto month = std::find(kMonths.begin(), kMonths.end(), v.substr(8, 3));
  if (month == kMonths.end() || !num(5, 2, day) || !num(12, 4, year) || !num(17, 2, hh) ||
      !num(20, 2, mm) || !num(23, 2, ss)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{
      std::chrono::year(year),
      std::chrono::month(static_cast<unsigned>(month - kMonths.begin() + 1)),
      std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  const auto at = std::chrono::sys_days(ymd) + std::chrono::hours(hh) + std::chrono::minutes(mm) +
                  std::chrono::seconds(ss);
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  return std::max(wait, std::chrono::milliseconds(0));
}

const std::string* Response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

Step classify(const Response& r, core::TimePoint now) {
  if (r.timed_out) return Retry{.reason = "timeout: " + r.error, .after = std::nullopt};
  if (r.status == 0) {
    return Retry{.reason = "connection error: " + (r.error.empty() ? "no answer" : r.error),
                 .after = std::nullopt};
  }
  const std::string code = std::to_string(r.status);
  if (r.status >= 200 && r.status < 300) return Done{};
  if (r.status == 429 || (r.status >= 500 && r.status < 600)) {
    const std::string* ra = r.header("retry-after");
    return Retry{.reason = "HTTP " + code,
                 .after = ra != nullptr ? parse_retry_after(*ra, now) : std::nullopt};
  }
  return Fail{.reason = "HTTP " + code};
}

Step classify_smtp(const Response& r) {
  if (r.timed_out) return Retry{.reason = "timeout: " + r.error, .after = std::nullopt};
  if (r.status == 0) {
    return Retry{.reason = "connection error: " + (r.error.empty() ? "no answer" : r.error),
                 .after = std::nullopt};
  }
  const std::string code = "SMTP " + std::to_string(r.status);
  if (r.status >= 200 && r.status < 400) return Done{};
  if (r.status >= 400 && r.status < 500) return Retry{.reason = code, .after = std::nullopt};
  return Fail{.reason = code + (r.error.empty() ? "" : ": " + r.error)};
}

}  // namespace opsready::alerting::notify
