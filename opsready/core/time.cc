#include "opsready/core/time.h"

#include <array>
#include <cstdint>

namespace opsready::core {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t y;
  unsigned m;
  unsigned d;
};

constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

constexpr bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) {
  constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::unexpected<Error> bad_time(std::string_view text, std::string_view why) {
  return fail("invalid_timestamp",
              "invalid RFC 3339 timestamp '" + std::string(text) + "': " + std::string(why));
}

void put2(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

Result<TimePoint> parse_rfc3339(std::string_view text) {
  const std::string_view s = text;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day)) {
    return bad_time(text, "expected YYYY-MM-DD");
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
    return bad_time(text, "expected 'T' between date and time");
  }
  if (!digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second)) {
    return bad_time(text, "expected hh:mm:ss");
  }
  if (month < 1 || month > 12) return bad_time(text, "month out of range");
  if (day < 1 || static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month))) {
    return bad_time(text, "day out of range");
  }
  // A leap second (60) is folded onto the next second, as most systems do.
  if (hour > 23 || minute > 59 || second > 60) return bad_time(text, "time out of range");

  std::size_t pos = 19;
  std::int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    std::int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad_time(text, "empty fraction");
  }
  if (pos >= s.size()) return bad_time(text, "missing offset ('Z' or +hh:mm)");
  std::int64_t offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad_time(text, "bad offset (expected +hh:mm)");
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad_time(text, "missing offset ('Z' or +hh:mm)");
  }
  if (pos != s.size()) return bad_time(text, "trailing characters");

  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return TimePoint(std::chrono::seconds(secs) + Duration(nanos));
}

std::string format_rfc3339(TimePoint t) {
  const std::int64_t ns_total = t.time_since_epoch().count();
  std::int64_t secs = ns_total / 1'000'000'000;
  std::int64_t nanos = ns_total % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    secs -= 1;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  const Civil c = civil_from_days(days);
  std::string out;
  out.reserve(32);
  const std::string year = std::to_string(c.y);
  out.append(year.size() < 4 ? 4 - year.size() : 0, '0');
  out += year;
  out.push_back('-');
  put2(out, c.m);
  out.push_back('-');
  put2(out, c.d);
  out.push_back('T');
  put2(out, static_cast<unsigned>(rem / 3600));
  out.push_back(':');
  put2(out, static_cast<unsigned>(rem % 3600 / 60));
  out.push_back(':');
  put2(out, static_cast<unsigned>(rem % 60));
  if (nanos != 0) {
    int digits_out = 9;
    std::int64_t v = nanos;
    if (v % 1'000'000 == 0) {
      v /= 1'000'000;
      digits_out = 3;
    } else if (v % 1'000 == 0) {
      v /= 1'000;
      digits_out = 6;
    }
    std::string frac = std::to_string(v);
    out.push_back('.');
    out.append(static_cast<std::size_t>(digits_out) - frac.size(), '0');
    out += frac;
  }
  out.push_back('Z');
  return out;
}

Result<Duration> parse_duration(std::string_view text) {
  const std::string_view s = text;
  if (s == "0") return Duration::zero();
  if (s.empty()) return fail("invalid_duration", "empty duration");
  std::size_t pos = 0;
  Duration total{};
  while (pos < s.size()) {
    const std::size_t start = pos;
    std::int64_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n > 1'000'000'000'000LL) return fail("invalid_duration", "duration too large");
      n = n * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == start) {
      return fail("invalid_duration", "invalid duration '" + std::string(text) +
                                          "' (expected e.g. 30s, 5m, 1h30m, 250ms)");
    }
    const std::size_t ustart = pos;
    while (pos < s.size() && s[pos] >= 'a' && s[pos] <= 'z') ++pos;
    const std::string_view unit = s.substr(ustart, pos - ustart);
    using namespace std::chrono;
    if (unit == "ms") {
      total += milliseconds(n);
    } else if (unit == "s") {
      total += seconds(n);
    } else if (unit == "m") {
      total += minutes(n);
    } else if (unit == "h") {
      total += hours(n);
    } else if (unit == "d") {
      total += hours(24 * n);
    } else if (unit == "w") {
      total += hours(24 * 7 * n);
    } else {
      return fail("invalid_duration", "invalid duration '" + std::string(text) +
                                          "': unknown unit '" + std::string(unit) +
                                          "' (use ms, s, m, h, d or w)");
    }
  }
  return total;
}

std::string format_duration(Duration d) {
  using namespace std::chrono;
  if (d == Duration::zero()) return "0s";
  std::string out;
  if (d < Duration::zero()) {
    out.push_back('-');
    d = -d;
  }
  auto ms = duration_cast<milliseconds>(d).count();
  struct Unit {
    std::int64_t ms;
    const char* name;
  };
  constexpr std::array<Unit, 6> kUnits = {{{604'800'000, "w"},
                                           {86'400'000, "d"},
                                           {3'600'000, "h"},
                                           {60'000, "m"},
                                           {1'000, "s"},
                                           {1, "ms"}}};
  for (const auto& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  if (out.empty() || out == "-") out += "0s";
  return out;
}

}  // namespace opsready::core
