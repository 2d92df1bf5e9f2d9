#pragma once
// The declarative reader behind every section of opsready's YAML configuration file. A section
// is a table of fields — key, target, checks — and the same table drives the reading and the
// unknown-key check, so each key is written once.
//
//   config::Reader reader(on_error, on_warning);
//   reader.read(node, "bus.spool",
//               {config::text("dir", bus.spool_dir, {config::not_empty()}),
//                config::choice("fsync", bus.spool_fsync,
//                               {{"always", "always"}, {"interval", "interval"}}),
//                config::duration("fsync_interval", bus.spool_fsync_interval,
//                                 {config::positive()}),
//                config::integer("max_bytes", bus.spool_max_bytes, 1 << 20, 1LL << 50)});
//   reader.finish();  // deprecated names: a warning, or an error when the new name is set too
//
// How a mapping is read (Reader::read): keys not in the table are reported first
// ("unknown key 'x' in bus.spool (known: dir, fsync, ...)", the table's order), then missing
// required keys, then each present field in the table's order, so a field may rely on the ones
// declared before it. A key with nothing under it (`nats:`) reads as an empty mapping. A value
// that is wrong is reported with its full path ("bus.spool.max_bytes must be between ...") and
// leaves the target untouched; reading goes on, so one run lists every problem. Diagnostics go
// to the sinks with the node they concern, from which the caller takes file:line.
//
// The same tables list the keys (known_keys()): each field names the keys below its value
// (Field::below), which section() and items() fill in from their tables; a field that reads a
// nested value itself passes them to custom(), list() or entries().
//
//   config::known_keys(table);  // {"nats", "nats.servers", ..., "spool", "spool.dir", ...}
//
// Tables hold references to their targets: build a table just before reading it (a
// std::function<Table()> defers that for a nested section). Control plane only; a Reader is
// used by one thread.

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "opsready/core/clock.h"
#include "opsready/core/snapshot.h"

namespace opsready::app::config {

// Receives one diagnostic: the node it concerns (for file:line) and the message.
using Sink = std::function<void(const YAML::Node& at, std::string message)>;

class Reader;

// Reads one field's value; `path` is its full name ("bus.nats.batch"), for messages.
using ReadFn =
    std::function<void(Reader& reader, const YAML::Node& value, const std::string& path)>;

// The keys below a field's value, as paths relative to it: ".key" for a key of a mapping, "[]"
// for the items of a list of mappings ("[].key" for their keys), ".*" for names the user
// chooses (".*.key"). Lists of single values have no keys below them.
using KeysFn = std::function<std::vector<std::string>()>;

struct Field {
  std::string key;
  ReadFn read;  // empty: the caller reads this key itself (it is still a known key)
  bool required = false;
  // Not empty: `key` is the deprecated name of this path. Still read, left out of the known
  // keys listed in messages; Reader::finish() warns, or fails when both names are set.
  std::string replaced_by;
  // The keys below this one, for known_keys(); empty: none (a single value, or a list of them).
  KeysFn below;
};

using Table = std::vector<Field>;

// A check of a parsed value: nullopt when it passes, else the whole message.
template <typename T>
using Check = std::function<std::optional<std::string>(const T& value, const std::string& path)>;

class Reader {
 public:
  explicit Reader(Sink error, Sink warning = {});

  void error(const YAML::Node& at, std::string message);
  void warning(const YAML::Node& at, std::string message);
  [[nodiscard]] std::size_t error_count() const { return errors_; }

  // Reads `map` by `table`. `path` names the section in messages ("" for the top level). False
  // (reported as "PATH must be a mapping") when `map` is neither a mapping nor empty.
  bool read(const YAML::Node& map, const std::string& path, const Table& table);

  // Reports each deprecated name that was used: a warning, or an error when its replacement
  // was set as well. Call once, after the whole document.
  void finish();

  // The parsers the fields use, for custom fields: each reports what is wrong and returns
  // nullopt.
  std::optional<std::string> scalar(const YAML::Node& n, const std::string& path);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& path);
  // A number; YAML's .inf (or inf) is accepted, it disables a threshold.
  std::optional<double> number(const YAML::Node& n, const std::string& path);
  std::optional<long long> integer(const YAML::Node& n, const std::string& path, long long min,
                                   long long max);
  std::optional<std::uint64_t> whole(const YAML::Node& n, const std::string& path,
                                     std::uint64_t max);
  std::optional<core::Duration> duration(const YAML::Node& n, const std::string& path);
  std::optional<core::Status> status(const YAML::Node& n, const std::string& path);
  std::optional<std::vector<core::Status>> statuses(const YAML::Node& n, const std::string& path);
  std::optional<core::TimePoint> timestamp(const YAML::Node& n, const std::string& path);

 private:
  struct Renamed {
    std::string path;
    std::string replaced_by;
    YAML::Node at;
  };

  Sink error_;
  Sink warning_;
  std::size_t errors_ = 0;
  std::set<std::string> seen_;  // the path of every field read, for Renamed
  std::vector<Renamed> renamed_;
};

// ---- Known keys ----

// Every key `table` accepts and every key below them, as dotted paths in the table's order:
// "spool", "spool.dir", ...; the items of a list of mappings are "[]" ("windows[]",
// "windows[].long"), names the user chooses "*" ("dimensions.*", "dimensions.*.service").
// Deprecated names are listed too: they still load.
[[nodiscard]] std::vector<std::string> known_keys(const Table& table);

// The keys below a value, for Field::below, from the keys inside it (known_keys() of its table,
// or another list of paths): as a mapping (".key"), as the items of a list ("[]", "[].key"), as
// the values of names the user chooses (".*", ".*.key").
[[nodiscard]] std::vector<std::string> mapping_keys(const std::vector<std::string>& inside);
[[nodiscard]] std::vector<std::string> item_keys(const std::vector<std::string>& inside);
[[nodiscard]] std::vector<std::string> name_keys(const std::vector<std::string>& inside = {});

// ---- Checks ----

[[nodiscard]] Check<core::Duration> positive();
[[nodiscard]] Check<core::Duration> at_least(core::Duration min);
[[nodiscard]] Check<core::Duration> between(core::Duration min, core::Duration max);
[[nodiscard]] Check<std::string> not_empty();

// ---- Fields of one value ----

[[nodiscard]] Field flag(std::string key, bool& out);  // true | false
[[nodiscard]] Field number(std::string key, double& out);
[[nodiscard]] Field duration(std::string key, core::Duration& out,
                             std::vector<Check<core::Duration>> checks = {});
[[nodiscard]] Field duration(std::string key, std::optional<core::Duration>& out,
                             std::vector<Check<core::Duration>> checks = {});
[[nodiscard]] Field text(std::string key, std::string& out,
                         std::vector<Check<std::string>> checks = {});
[[nodiscard]] Field text(std::string key, std::filesystem::path& out,
                         std::vector<Check<std::string>> checks = {});
[[nodiscard]] Field status(std::string key, core::Status& out);
[[nodiscard]] Field status(std::string key, std::optional<core::Status>& out);
[[nodiscard]] Field statuses(std::string key, std::vector<core::Status>& out);
[[nodiscard]] Field statuses(std::string key, std::optional<std::vector<core::Status>>& out);
[[nodiscard]] Field timestamp(std::string key, std::optional<core::TimePoint>& out);  // RFC 3339

// Any whole number the unsigned target holds ("... must be a whole number from 0 to N").
template <std::unsigned_integral Int>
[[nodiscard]] Field whole(std::string key, Int& out) {
  return {std::move(key), [&out](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.whole(n, path, std::numeric_limits<Int>::max())) {
              out = static_cast<Int>(*v);
            }
          }};
}

// An integer from min to max ("... must be between MIN and MAX").
template <std::integral T>
[[nodiscard]] Field integer(std::string key, T& out, long long min, long long max) {
  return {std::move(key),
          [&out, min, max](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.integer(n, path, min, max)) out = static_cast<T>(*v);
          }};
}

template <std::integral T>
[[nodiscard]] Field integer(std::string key, std::optional<T>& out, long long min, long long max) {
  return {std::move(key),
          [&out, min, max](Reader& r, const YAML::Node& n, const std::string& path) {
            if (auto v = r.integer(n, path, min, max)) out = static_cast<T>(*v);
          }};
}

// One of a few words ("... must be always, interval or never, got 'x'").
template <typename T>
[[nodiscard]] Field choice(std::string key, T& out,
                           std::vector<std::pair<std::string, T>> options) {
  return {std::move(key), [&out, options = std::move(options)](Reader& r, const YAML::Node& n,
                                                               const std::string& path) {
            const auto word = r.scalar(n, path);
            if (!word) return;
            std::string names;
            for (std::size_t i = 0; i < options.size(); ++i) {
              if (options[i].first == *word) {
                out = options[i].second;
                return;
              }
              names += (i == 0 ? "" : i + 1 == options.size() ? " or " : ", ") + options[i].first;
            }
            r.error(n, path + " must be " + names + ", got '" + *word + "'");
          }};
}

// ---- Fields of many values ----

struct ListRule {
  std::string expected = "a list";              // "PATH must be <expected>" when it is not one
  bool non_empty = false;                       // an empty list is reported the same way
  std::vector<Check<std::string>> item_checks;  // with the list's path; a failing item is left out
};

// A list of single values, replacing the default list.
[[nodiscard]] Field strings(std::string key, std::vector<std::string>& out, ListRule rule = {});

// A nested mapping read by its own table; `table` is called only when the key is present.
[[nodiscard]] Field section(std::string key, std::function<Table()> table);

// A list of mappings, each read by `table(item)` into a T, replacing `out` as a whole; items
// are named PATH[INDEX]. An item that is not a mapping is reported and left out.
template <typename T>
[[nodiscard]] Field items(std::string key, std::vector<T>& out, std::string expected,
                          std::function<Table(T&)> table) {
  return {std::move(key),
          [&out, expected = std::move(expected), table](Reader& r, const YAML::Node& n,
                                                        const std::string& path) {
            if (!n.IsSequence()) {
              r.error(n, path + " must be " + expected);
              return;
            }
            std::vector<T> all;
            for (std::size_t i = 0; i < n.size(); ++i) {
              T item{};
              if (r.read(n[i], path + "[" + std::to_string(i) + "]", table(item))) {
                all.push_back(std::move(item));
              }
            }
            out = std::move(all);
          },
          false,
          {},
          [table] {
            T item{};
            return item_keys(known_keys(table(item)));
          }};
}

// A list whose items `item` reads ("PATH must be <expected>" when it is not a list).
using ItemFn = std::function<void(Reader& reader, const YAML::Node& item, const std::string& path,
                                  std::size_t index)>;
// `below` is Field::below: for a list of mappings, item_keys(known_keys(<the items' table>)).
[[nodiscard]] Field list(std::string key, std::string expected, ItemFn item, KeysFn below = {});

// A mapping of names chosen by the user (metrics, dimensions) whose values `entry` reads, with
// the path "PATH.<name>" ("PATH must be <expected>" when it is not a mapping).
using EntryFn = std::function<void(Reader& reader, const std::string& name, const YAML::Node& value,
                                   const std::string& path)>;
// `below` is Field::below: name_keys(), with the keys inside each value when it is a mapping.
[[nodiscard]] Field entries(std::string key, std::string expected, EntryFn entry,
                            KeysFn below = {});

// The field for a target of a plain type, chosen by its type: bool → flag, double → number,
// unsigned → whole, durations, strings, lists of strings, statuses, timestamps.
template <typename T>
[[nodiscard]] Field value(std::string key, T& out) {
  if constexpr (std::same_as<T, bool>) {
    return flag(std::move(key), out);
  } else if constexpr (std::same_as<T, double>) {
    return number(std::move(key), out);
  } else if constexpr (std::unsigned_integral<T>) {
    return whole(std::move(key), out);
  } else if constexpr (std::same_as<T, core::Duration> ||
                       std::same_as<T, std::optional<core::Duration>>) {
    return duration(std::move(key), out);
  } else if constexpr (std::same_as<T, std::string>) {
    return text(std::move(key), out);
  } else if constexpr (std::same_as<T, std::vector<std::string>>) {
    return strings(std::move(key), out);
  } else if constexpr (std::same_as<T, core::Status> ||
                       std::same_as<T, std::optional<core::Status>>) {
    return status(std::move(key), out);
  } else {
    static_assert(std::same_as<T, std::optional<core::TimePoint>>, "no field for this type");
    return timestamp(std::move(key), out);
  }
}

// ---- Modifiers ----

// `below` is Field::below, for a field that reads a nested value itself.
[[nodiscard]] Field custom(std::string key, ReadFn read, KeysFn below = {});
[[nodiscard]] Field handled(std::string key);  // known, read by the caller
[[nodiscard]] Field required(Field f);         // "PATH needs 'key'" when absent
// `f.key` is the old name of `replaced_by` (a full path): read as before, with a warning.
[[nodiscard]] Field deprecated(Field f, std::string replaced_by);

}  // namespace opsready::app::config
