#include "opsready/app/config_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::app::config {

Reader::Reader(Sink error, Sink warning) : error_(std::move(error)), warning_(std::move(warning)) {}

void Reader::error(const YAML::Node& at, std::string message) {
  ++errors_;
  if (error_) error_(at, std::move(message));
}

void Reader::warning(const YAML::Node& at, std::string message) {
  if (warning_) warning_(at, std::move(message));
}

bool Reader::read(const YAML::Node& map, const std::string& path, const Table& table) {
  if (!map.IsNull() && !map.IsMap()) {
    error(map, path + " must be a mapping");
    return false;
  }
  const std::string where = path.empty() ? "the top level" : path;
  // The key and value nodes of each key given, the first of a key given twice.
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> given;
  if (map.IsMap()) {
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      const bool known =
          std::any_of(table.begin(), table.end(), [&key](const Field& f) { return f.key == key; });
      if (!known) {
        std::string list;
        for (const auto& f : table) {
          if (f.replaced_by.empty()) list += (list.empty() ? "" : ", ") + f.key;
        }
        error(kv.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      } else if (!given.try_emplace(key, kv.first, kv.second).second) {
        error(kv.first, "key '" + key + "' is given twice in " + where);
      }
    }
  }
  for (const auto& f : table) {
    if (f.required && !given.contains(f.key)) error(map, where + " needs '" + f.key + "'");
  }
  for (const auto& f : table) {
    const auto it = given.find(f.key);
    if (it == given.end()) continue;
    const std::string child = path.empty() ? f.key : path + "." + f.key;
    seen_.insert(child);
    if (!f.replaced_by.empty()) renamed_.push_back({child, f.replaced_by, it->second.first});
    if (f.read) f.read(*this, it->second.second, child);
  }
  return true;
}

void Reader::finish() {
  for (const auto& r : renamed_) {
    if (seen_.contains(r.replaced_by)) {
      error(r.at, "'" + r.path + "' is the deprecated name of '" + r.replaced_by + "'; set only '" +
                      r.replaced_by + "'");
    } else {
      warning(r.at, "'" + r.path + "' is deprecated; write it as '" + r.replaced_by +
                        "' (the same keys)");
    }
  }
  renamed_.clear();
}

std::optional<std::string> Reader::scalar(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) {
    error(n, path + " must be a single value");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> Reader::boolean(const YAML::Node& n, const std::string& path) {
  auto s = scalar(n, path);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  error(n, path + " must be true or false, got '" + *s + "'");
  return std::nullopt;
}

std::optional<double> Reader::number(const YAML::Node& n, const std::string& path) {
  auto s = scalar(n, path);
  if (!s) return std::nullopt;
  std::string t = core::to_lower(core::trim(*s));
  if (!t.empty() && t.front() == '+') t.erase(0, 1);
  bool negative = false;
  if (!t.empty() && t.front() == '-') {
    negative = true;
    t.erase(0, 1);
  }
  double v = 0;
  if (t == ".inf" || t == "inf") {
    v = std::numeric_limits<double>::infinity();
  } else {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || std::isnan(v) ||
        t.starts_with("inf") || t.starts_with("nan")) {
      error(n, path + " must be a number, got '" + *s + "'");
      return std::nullopt;
    }
  }
  return negative ? -v : v;
}

std::optional<long long> Reader::integer(const YAML::Node& n, const std::string& path,
                                         long long min, long long max) {
  auto s = scalar(n, path);
  if (!s) return std::nullopt;
  long long v = 0;
  std::size_t used = 0;
  try {
    v = std::stoll(*s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s->size()) {
    error(n, path + " must be an integer, got '" + *s + "'");
    return std::nullopt;
  }
  if (v < min || v > max) {
    error(n, path + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

std::optional<std::uint64_t> Reader::whole(const YAML::Node& n, const std::string& path,
                                           std::uint64_t max) {
  auto s = scalar(n, path);
  if (!s) return std::nullopt;
  const std::string_view t = core::trim(*s);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || v > max) {
    error(n,
          path + " must be a whole number from 0 to " + std::to_string(max) + ", got '" + *s + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<core::Duration> Reader::duration(const YAML::Node& n, const std::string& path) {
  auto s = scalar(n, path);
  if (!s) return std::nullopt;
  auto d = core::parse_duration(*s);
  if (!d) {
    error(n, path + ": " + d.error().message);
    return std::nullopt;
  }
  return *d;
}

std::optional<core::Status> Reader::status(const YAML::Node& n, const std::string& path) {
  auto s = scalar(n, path);
  if (!s) return std::nullopt;
  auto st = core::parse_status(*s);
  if (!st) {
    error(n, path + ": " + st.error().message);
    return std::nullopt;
  }
  return *st;
}

std::optional<std::vector<core::Status>> Reader::statuses(const YAML::Node& n,
                                                          const std::string& path) {
  if (!n.IsSequence()) {
    error(n, path + " must be a list of statuses, e.g. [fail]");
    return std::nullopt;
  }
  std::vector<core::Status> out;
  bool ok = true;
  for (const auto& item : n) {
    if (auto st = status(item, path)) {
      out.push_back(*st);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<core::TimePoint> Reader::timestamp(const YAML::Node& n, const std::string& path) {
  auto s = scalar(n, path);
  if (!s) return std::nullopt;
  auto t = core::parse_rfc3339(*s);
  if (!t) {
    error(n, path + ": " + t.error().message);
    return std::nullopt;
  }
  return *t;
}

// ---- Known keys ----

std::vector<std::string> known_keys(const Table& table) {
  std::vector<std::string> out;
  for (const auto& f : table) {
    out.push_back(f.key);
    if (!f.below) continue;
    for (const auto& k : f.below()) out.push_back(f.key + k);
  }
  return out;
}

namespace {

std::vector<std::string> prefixed(std::string_view first, std::string_view each,
                                  const std::vector<std::string>& inside) {
  std::vector<std::string> out;
  if (!first.empty()) out.emplace_back(first);
  for (const auto& k : inside) out.push_back(std::string(each) + k);
  return out;
}

}  // namespace

std::vector<std::string> mapping_keys(const std::vector<std::string>& inside) {
  return prefixed("", ".", inside);
}

std::vector<std::string> item_keys(const std::vector<std::string>& inside) {
  return prefixed("[]", "[].", inside);
}

std::vector<std::string> name_keys(const std::vector<std::string>& inside) {
  return prefixed(".*", ".*.", inside);
}

// ---- Checks ----

Check<core::Duration> positive() {
  return [](const core::Duration& d, const std::string& path) -> std::optional<std::string> {
    if (d <= core::Duration::zero()) return path + " must be positive";
    return std::nullopt;
  };
}

Check<core::Duration> at_least(core::Duration min) {
  return [min](const core::Duration& d, const std::string& path) -> std::optional<std::string> {
    if (d < min) return path + " must be at least " + core::format_duration(min);
    return std::nullopt;
  };
}

Check<core::Duration> between(core::Duration min, core::Duration max) {
  return
      [min, max](const core::Duration& d, const std::string& path) -> std::optional<std::string> {
        if (d < min || d > max) {
          return path + " must be between " + core::format_duration(min) + " and " +
                 core::format_duration(max);
        }
        return std::nullopt;
      };
}

Check<std::string> not_empty() {
  return [](const std::string& s, const std::string& path) -> std::optional<std::string> {
    if (s.empty()) return path + " must not be empty";
    return std::nullopt;
  };
}

namespace {

// The first failing check's message, reported at `at`; true when every check passes.
template <typename T>
bool passes(Reader& r, const YAML::Node& at, const T& value, const std::string& path,
            const std::vector<Check<T>>& checks) {
  for (const auto& check : checks) {
    if (auto message = check(value, path)) {
      r.error(at, std::move(*message));
      return false;
    }
  }
  return true;
}

template <typename Out>
Field duration_into(std::string key, Out& out, std::vector<Check<core::Duration>> checks) {
  return {std::move(key), [&out, checks = std::move(checks)](Reader& r, const YAML::Node& n,
                                                             const std::string& path) {
            auto d = r.duration(n, path);
            if (d && passes(r, n, *d, path, checks)) out = *d;
          }};
}

template <typename Out>
Field text_into(std::string key, Out& out, std::vector<Check<std::string>> checks) {
  return {std::move(key), [&out, checks = std::move(checks)](Reader& r, const YAML::Node& n,
                                                             const std::string& path) {
            auto s = r.scalar(n, path);
            if (s && passes(r, n, *s, path, checks)) out = *s;
          }};
}

}  // namespace

// ---- Fields of one value ----

Field flag(std::string key, bool& out) {
  return {std::move(key), [&out](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.boolean(n, path)) out = *v;
          }};
}

Field number(std::string key, double& out) {
  return {std::move(key), [&out](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.number(n, path)) out = *v;
          }};
}

Field duration(std::string key, core::Duration& out, std::vector<Check<core::Duration>> checks) {
  return duration_into(std::move(key), out, std::move(checks));
}

Field duration(std::string key, std::optional<core::Duration>& out,
               std::vector<Check<core::Duration>> checks) {
  return duration_into(std::move(key), out, std::move(checks));
}

Field text(std::string key, std::string& out, std::vector<Check<std::string>> checks) {
  return text_into(std::move(key), out, std::move(checks));
}

Field text(std::string key, std::filesystem::path& out, std::vector<Check<std::string>> checks) {
  return text_into(std::move(key), out, std::move(checks));
}

Field status(std::string key, core::Status& out) {
  return {std::move(key), [&out](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.status(n, path)) out = *v;
          }};
}

Field status(std::string key, std::optional<core::Status>& out) {
  return {std::move(key), [&out](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.status(n, path)) out = *v;
          }};
}

Field statuses(std::string key, std::vector<core::Status>& out) {
  return {std::move(key), [&out](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.statuses(n, path)) out = std::move(*v);
          }};
}

Field statuses(std::string key, std::optional<std::vector<core::Status>>& out) {
  return {std::move(key), [&out](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.statuses(n, path)) out = std::move(*v);
          }};
}

Field timestamp(std::string key, std::optional<core::TimePoint>& out) {
  return {std::move(key), [&out](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.timestamp(n, path)) out = *v;
          }};
}

// ---- Fields of many values ----

Field strings(std::string key, std::vector<std::string>& out, ListRule rule) {
  return {std::move(key),
          [&out, rule = std::move(rule)](Reader& r, const YAML::Node& n, const std::string& path) {
            if (!n.IsSequence() || (rule.non_empty && n.size() == 0)) {
              r.error(n, path + " must be " + rule.expected);
              return;
            }
            std::vector<std::string> items;
            for (const auto& item : n) {
              auto s = r.scalar(item, path);
              if (s && passes(r, item, *s, path, rule.item_checks)) items.push_back(*s);
            }
            out = std::move(items);
          }};
}

Field section(std::string key, std::function<Table()> table) {
  return {std::move(key),
          [table](Reader& r, const YAML::Node& n, const std::string& path) {
            r.read(n, path, table());
          },
          false,
          {},
          [table] { return mapping_keys(known_keys(table())); }};
}

Field list(std::string key, std::string expected, ItemFn item, KeysFn below) {
  return {std::move(key),
          [expected = std::move(expected), item = std::move(item)](Reader& r, const YAML::Node& n,
                                                                   const std::string& path) {
            if (!n.IsSequence()) {
              r.error(n, path + " must be " + expected);
              return;
            }
            for (std::size_t i = 0; i < n.size(); ++i) item(r, n[i], path, i);
          },
          false,
          {},
          std::move(below)};
}

Field entries(std::string key, std::string expected, EntryFn entry, KeysFn below) {
  return {std::move(key),
          [expected = std::move(expected), entry = std::move(entry)](Reader& r, const YAML::Node& n,
                                                                     const std::string& path) {
            if (n.IsNull()) return;
            if (!n.IsMap()) {
              r.error(n, path + " must be " + expected);
              return;
            }
            for (const auto& kv : n) {
              const std::string name = kv.first.Scalar();
              entry(r, name, kv.second, path + "." + name);
            }
          },
          false,
          {},
          std::move(below)};
}

// ---- Modifiers ----

Field custom(std::string key, ReadFn read, KeysFn below) {
  return {std::move(key), std::move(read), false, {}, std::move(below)};
}

Field handled(std::string key) { return {std::move(key), {}}; }

Field required(Field f) {
  f.required = true;
  return f;
}

Field deprecated(Field f, std::string replaced_by) {
  f.replaced_by = std::move(replaced_by);
  return f;
}

}  // namespace opsready::app::config
