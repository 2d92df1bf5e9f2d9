#include "opsready/alerting/notify/encoding.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "opsready/core/time.h"

namespace opsready::alerting::notify {
namespace {

// The length of the UTF-8 sequence starting at s[i] (1 for an invalid byte).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xe  ? 3
                  : (c >> 3) == 0x1e ? 4
                                     : 1;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 1;
  }
  return n;
}

// The code point of the sequence at s[i] of length n (an invalid byte decodes to U+FFFD).
char32_t decode(std::string_view s, std::size_t i, std::size_t n) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (n == 1) return c < 0x80 ? c : 0xfffd;
  char32_t cp = c & (0xff >> (n + 1));
  for (std::size_t k = 1; k < n; ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  return cp;
}

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

// GSM 03.38: the default alphabet (one septet) and its extension table (escape + one septet).
constexpr std::u32string_view kGsmBasic =
    U"@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    U"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
constexpr std::u32string_view kGsmExtension = U"\f^{}\\[~]|€";

}  // namespace

std::string go_json(const nlohmann::ordered_json& j) {
  const std::string in = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(in.size() + 16);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\\' && i + 1 < in.size()) {
      const char e = in[++i];
      if (e == 'b') {
        out += "\\u0008";
      } else if (e == 'f') {
        out += "\\u000c";
      } else {
        out += '\\';
        out += e;
      }
    } else if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < in.size() && in[i + 1] == '\x80' &&
               (in[i + 2] == '\xa8' || in[i + 2] == '\xa9')) {
      out += in[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string go_time(core::TimePoint t) {
  if (t == core::TimePoint::max()) return "0001-01-01T00:00:00Z";
  std::string s = core::format_rfc3339(t);
  const auto dot = s.find('.');
  if (dot == std::string::npos) return s;
  std::size_t end = s.size() - 1;  // the 'Z'
  std::size_t last = end;
  while (last > dot + 1 && s[last - 1] == '0') --last;
  if (last == dot + 1) last = dot;
  return s.substr(0, last) + "Z";
}

std::size_t rune_count(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); i += utf8_length(s, i)) ++n;
  return n;
}

std::string truncate_runes(std::string_view s, std::size_t max_runes, bool& cut,
                           std::string_view marker) {
  cut = false;
  if (rune_count(s) <= max_runes) return std::string(s);
  cut = true;
  const std::size_t marker_runes = rune_count(marker);
  if (marker_runes >= max_runes) {
    std::string out;
    for (std::size_t i = 0, n = 0; i < marker.size() && n < max_runes; ++n) {
      const std::size_t len = utf8_length(marker, i);
      out.append(marker.substr(i, len));
      i += len;
    }
    return out;
  }
  std::size_t i = 0;
  for (std::size_t n = 0; n < max_runes - marker_runes; ++n) i += utf8_length(s, i);
  return std::string(s.substr(0, i)) + std::string(marker);
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), md.data(), &len);
  return hex(md.data(), len);
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
  return hex(md.data(), md.size());
}

// RFC 2047 by hand: no installed library encodes header words (libcurl's MIME API does, but
// only while sending, and the message must be a pure function of the notification).
std::string encode_header(std::string_view value) {
  std::string clean(value);
  std::replace(clean.begin(), clean.end(), '\r', ' ');
  std::replace(clean.begin(), clean.end(), '\n', ' ');
  if (std::all_of(clean.begin(), clean.end(), [](char c) { return c >= 0x20 && c <= 0x7e; })) {
    return clean;
  }
  // "=?UTF-8?B?" + 60 base64 characters + "?=" is 72: 45 bytes a word.
  constexpr std::size_t kBytesPerWord = 45;
  std::string out;
  std::size_t start = 0;
  while (start < clean.size()) {
    std::size_t end = start;
    while (end < clean.size()) {
      const std::size_t len = utf8_length(clean, end);
      if (end + len - start > kBytesPerWord) break;
      end += len;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(clean).substr(start, end - start)) + "?=";
    start = end;
  }
  return out;
}

// Quoted-printable by hand for the same reason as encode_header().
std::string quoted_printable(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  std::size_t start = 0;
  bool first = true;
  while (start <= text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (!first) out += "\r\n";
    first = false;
    std::size_t col = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      std::string piece;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        piece = static_cast<char>(c);
      } else {
        piece = {'=', kDigits[c >> 4], kDigits[c & 0xf]};
      }
      if (col + piece.size() > 75) {
        out += "=\r\n";
        col = 0;
      }
      out += piece;
      col += piece.size();
    }
    if (nl == text.size()) break;
    start = nl + 1;
  }
  return out;
}

std::string rfc5322_date(core::TimePoint t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(t - days));
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%s, %02u %s %04d %02d:%02d:%02d +0000",
                kDays[std::chrono::weekday(days).c_encoding()], unsigned(ymd.day()),
                kMonths[unsigned(ymd.month()) - 1], int(ymd.year()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf.data();
}

std::string url_escape(std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += {'%', kDigits[c >> 4], kDigits[c & 0xf]};
    }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  const auto enc = [](const std::string& s) {
    std::string e = url_escape(s);
    std::string r;
    for (std::size_t i = 0; i < e.size(); ++i) {
      if (e.compare(i, 3, "%20") == 0) {
        r += '+';
        i += 2;
      } else {
        r += e[i];
      }
    }
    return r;
  };
  for (const auto& [k, v] : pairs) out += (out.empty() ? "" : "&") + enc(k) + "=" + enc(v);
  return out;
}

SmsFit fit_sms(std::string_view text, std::size_t max_segments) {
  max_segments = std::max<std::size_t>(max_segments, 1);
  struct Char {
    std::size_t bytes;  // UTF-8 length in `text`
    std::size_t gsm;    // septets, 0 when not in GSM 03.38
    std::size_t ucs2;   // UTF-16 units
  };
  const auto chars_of = [](std::string_view s) {
    std::vector<Char> out;
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t len = utf8_length(s, i);
      const char32_t cp = decode(s, i, len);
      const std::size_t gsm = kGsmBasic.find(cp) != std::u32string_view::npos       ? 1
                              : kGsmExtension.find(cp) != std::u32string_view::npos ? 2
                                                                                    : 0;
      out.push_back({len, gsm, cp > 0xffff ? 2U : 1U});
      i += len;
    }
    return out;
  };
  const auto measure = [](const std::vector<Char>& cs, bool& gsm7) {
    gsm7 = std::all_of(cs.begin(), cs.end(), [](const Char& c) { return c.gsm > 0; });
    std::size_t units = 0;
    for (const Char& c : cs) units += gsm7 ? c.gsm : c.ucs2;
    return units;
  };
  const auto segments = [](std::size_t units, bool gsm7) -> std::size_t {
    const std::size_t single = gsm7 ? 160 : 70;
    const std::size_t multi = gsm7 ? 153 : 67;
    return units <= single ? 1 : (units + multi - 1) / multi;
  };
  SmsFit fit;
  const std::vector<Char> cs = chars_of(text);
  const std::size_t units = measure(cs, fit.gsm7);
  fit.segments = segments(units, fit.gsm7);
  if (fit.segments <= max_segments) {
    fit.text = std::string(text);
    return fit;
  }
  constexpr std::string_view kMarker = " ... (truncated)";
  const std::size_t capacity =
      max_segments == 1 ? (fit.gsm7 ? 160 : 70) : max_segments * (fit.gsm7 ? 153 : 67);
  std::size_t marker_units = 0;
  for (const Char& c : chars_of(kMarker)) marker_units += c.gsm;  // GSM-7 and ASCII: 1 each
  std::size_t used = 0;
  std::size_t bytes = 0;
  for (const Char& c : cs) {
    const std::size_t u = fit.gsm7 ? c.gsm : c.ucs2;
    if (used + u + marker_units > capacity) break;
    used += u;
    bytes += c.bytes;
  }
  fit.text = std::string(text.substr(0, bytes)) + std::string(kMarker);
  fit.cut = true;
  fit.segments = segments(measure(chars_of(fit.text), fit.gsm7), fit.gsm7);
  return fit;
}

}  // namespace opsready::alerting::notify
