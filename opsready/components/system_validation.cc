#include "opsready/components/system_validation.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using core::Status;
using nlohmann::json;

constexpr std::string_view kCodeCheck = "system_validation.check:";
constexpr std::string_view kCodeReliability = "system_validation.reliability:";
constexpr std::string_view kCodeGate = "system_validation.gate:";
constexpr std::size_t kSummaryNames = 10;  // failing check names the summary lists

// ---- Words --------------------------------------------------------------------------------

// The module's own wire vocabulary (§0.1): pass / warn / fail.
std::string_view sv_word(Status s) {
  return s == Status::kOk ? "pass" : s == Status::kWarn ? "warn" : "fail";
}

// §3.1 status words, case-insensitive, trimmed.
std::optional<Status> parse_sv_word(std::string_view text) {
  const std::string w = core::to_lower(core::trim(text));
  for (const char* p : {"pass", "passed", "ok", "green", "healthy"}) {
    if (w == p) return Status::kOk;
  }
  for (const char* p : {"warn", "warning", "partial", "degraded"}) {
    if (w == p) return Status::kWarn;
  }
  for (const char* p : {"fail", "failed", "error", "critical"}) {
    if (w == p) return Status::kFail;
  }
  return std::nullopt;
}

constexpr std::string_view kWordsHelp =
    "pass/passed/ok/green/healthy, warn/warning/partial/degraded or "
    "fail/failed/error/critical";

// A check verdict: a boolean by the one boolean rule, or a status word (only pass words pass).
std::optional<bool> verdict_of(const json& v) {
  if (v.is_string()) {
    if (auto s = parse_sv_word(v.get_ref<const std::string&>())) return *s == Status::kOk;
  }
  return document_bool(v);
}

double hours(core::Duration d) { return core::to_seconds(d) / 3600.0; }

// §3.1 success-rate normalisation of an explicit value: > 1 is a percentage, capped at 1;
// none for a negative value (the caller falls back to passed / total).
std::optional<double> normalise_rate(double r) {
  if (r > 1.0) r /= 100.0;
  if (r >= 0) return std::min(r, 1.0);
  return std::nullopt;
}

// A metadata value as Markdown text: strings as they are, anything else as compact JSON.
std::string plain(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Python truthiness of a metadata value, for the Markdown's optional lines.
bool truthy(const json* v) {
  if (v == nullptr || v->is_null()) return false;
  if (v->is_string() || v->is_array() || v->is_object()) return !v->empty();
  if (v->is_boolean()) return v->get<bool>();
  return v->get<double>() != 0;
}

// ---- Reading documents --------------------------------------------------------------------

struct Check {
  std::string name;
  bool passed = false;
  std::optional<std::string> message;  // none when absent or empty
  json metadata;                       // null: none (the report's other keys of the check)
};

// What both document forms carry, once read.
struct Parsed {
  std::optional<core::TimePoint> time;  // timestamp / generated_at
  std::vector<Check> checks;
  std::uint64_t total = 0;
  std::uint64_t passed = 0;
  std::uint64_t failed = 0;
  double success_rate = 0;
  Status computed = Status::kWarn;  // §3.2 step 1, from the counts alone
  Status status = Status::kWarn;    // report: escalated by its words; evaluated: its status
  std::optional<std::string> validator;
  std::optional<std::string> version;
  std::optional<std::string> summary_message;
  const json* metadata = nullptr;  // the document's metadata object
};

bool is_evaluated(const json& doc) { return doc.is_object() && doc.contains("generated_at"); }

core::Result<std::optional<std::uint64_t>> whole(const Doc& d, std::string_view key) {
  auto n = d.number(key);
  if (!n) return std::unexpected(n.error());
  if (!*n) return std::optional<std::uint64_t>();
  const double v = **n;
  if (v < 0 || v != std::floor(v) || v > 9.0e15) {
    return std::unexpected(d.error(key, "must be a whole number ≥ 0"));
  }
  return std::optional<std::uint64_t>(static_cast<std::uint64_t>(v));
}

// §3.1 counts and rate, §3.2 step 1.
core::Result<void> read_counts(const Doc& d, Parsed& p) {
  std::uint64_t counted = 0;
  for (const Check& c : p.checks) counted += c.passed ? 1 : 0;
  const std::uint64_t n = p.checks.size();
  auto total = whole(d, "total_checks");
  if (!total) return std::unexpected(total.error());
  p.total = std::max(total->value_or(n), n);
  auto passed = whole(d, "passed_checks");
  if (!passed) return std::unexpected(passed.error());
  p.passed = passed->value_or(counted);
  if (p.passed > p.total) {
    return std::unexpected(d.error(
        "passed_checks", "exceeds the total number of checks (" + std::to_string(p.total) + ")"));
  }
  p.failed = p.total - p.passed;
  auto failed = whole(d, "failed_checks");
  if (!failed) return std::unexpected(failed.error());
  if (*failed && **failed != p.failed) {
    return std::unexpected(d.error("failed_checks", "contradicts total_checks - passed_checks (" +
                                                        std::to_string(p.failed) + ")"));
  }
  auto rate = d.number("success_rate");
  if (!rate) return std::unexpected(rate.error());
  std::optional<double> explicit_rate;
  if (*rate) explicit_rate = normalise_rate(**rate);
  if (explicit_rate) {
    p.success_rate = *explicit_rate;
  } else if (p.total == 0) {
    p.success_rate = 0;
  } else {
    p.success_rate =
        std::clamp(static_cast<double>(p.passed) / static_cast<double>(p.total), 0.0, 1.0);
  }
  if (p.total == 0) {
    p.computed = Status::kWarn;
  } else if (p.passed == p.total) {
    p.computed = Status::kOk;
  } else if (p.passed > 0) {
    p.computed = Status::kWarn;
  } else {
    p.computed = Status::kFail;
  }
  return {};
}

// A status word of the report; none when absent or blank.
core::Result<std::optional<Status>> read_word(const Doc& d, std::string_view key) {
  auto s = d.string(key);
  if (!s) return std::unexpected(s.error());
  if (!*s || core::trim(**s).empty()) return std::optional<Status>();
  if (auto w = parse_sv_word(**s)) return w;
  return std::unexpected(
      d.error(key, "unknown status word '" + **s + "' (expected " + std::string(kWordsHelp) + ")"));
}

core::Result<std::optional<std::string>> read_message(const Doc& d) {
  auto m = d.text("message");
  if (!m) return std::unexpected(m.error());
  if (*m && m->value().empty()) return std::optional<std::string>();
  return m;
}

// passed / status of a check object: either may be a boolean or a status word; they must agree.
core::Result<bool> read_verdict(const Doc& cd) {
  const json* pv = cd.get("passed");
  const json* sv = cd.get("status");
  if (pv == nullptr && sv == nullptr) {
    return std::unexpected(
        cd.error("", "a check needs passed (a boolean) or status (a status word)"));
  }
  std::optional<bool> a;
  std::optional<bool> b;
  const std::string help = "must be a boolean or a status word (" + std::string(kWordsHelp) + ")";
  if (pv != nullptr && !(a = verdict_of(*pv))) return std::unexpected(cd.error("passed", help));
  if (sv != nullptr && !(b = verdict_of(*sv))) return std::unexpected(cd.error("status", help));
  if (a && b && *a != *b) return std::unexpected(cd.error("status", "contradicts passed"));
  return a ? *a : *b;
}

// The check's other keys: its metadata (§3.1).
json other_keys(const json& item, std::initializer_list<std::string_view> consumed) {
  json metadata;
  for (auto it = item.begin(); it != item.end(); ++it) {
    const std::string& key = it.key();
    if (std::find(consumed.begin(), consumed.end(), key) != consumed.end()) continue;
    if (metadata.is_null()) metadata = json::object();
    metadata.get_ref<json::object_t&>().emplace(key, it.value());
  }
  return metadata;
}

// The keys of one check object, found in one pass.
struct CheckKeys {
  const json* name = nullptr;
  const json* check = nullptr;
  const json* passed = nullptr;
  const json* status = nullptr;
  const json* message = nullptr;
  const json* metadata = nullptr;
  bool unknown = false;  // a key none of the above
};

CheckKeys check_keys(const json& item, bool names) {
  CheckKeys k;
  for (const auto& [key, value] : item.get_ref<const json::object_t&>()) {
    const json* v = value.is_null() ? nullptr : &value;
    if (names && key == "name") {
      k.name = v;
    } else if (names && key == "check") {
      k.check = v;
    } else if (key == "passed") {
      k.passed = v;
    } else if (key == "status") {
      k.status = v;
    } else if (key == "message") {
      k.message = v;
    } else if (key == "metadata") {
      k.metadata = v;
    } else {
      k.unknown = true;
    }
  }
  return k;
}

// The fast path of a report's check object: plain values only (a string name, a JSON boolean
// passed, a status word, a string message). False sends the check to the Doc reader, which
// accepts the rest of the reading rules and names the offending field.
bool fast_verdict(const CheckKeys& k, Check& c) {
  std::optional<bool> a;
  std::optional<bool> b;
  if (k.passed != nullptr) {
    if (!k.passed->is_boolean()) return false;
    a = k.passed->get<bool>();
  }
  if (k.status != nullptr) {
    if (!k.status->is_string()) return false;
    const auto w = parse_sv_word(k.status->get_ref<const std::string&>());
    if (!w) return false;
    b = *w == Status::kOk;
  }
  if ((!a && !b) || (a && b && *a != *b)) return false;
  c.passed = a ? *a : *b;
  if (k.message != nullptr) {
    if (!k.message->is_string()) return false;
    if (!k.message->get_ref<const std::string&>().empty()) {
      c.message = k.message->get<std::string>();
    }
  }
  return true;
}

bool fast_report_check(const json& item, bool list_form, Check& c) {
  const CheckKeys k = check_keys(item, list_form);
  if (list_form) {
    for (const json* n : {k.name, k.check}) {
      if (n == nullptr) continue;
      if (!n->is_string()) return false;
      if (!n->get_ref<const std::string&>().empty()) {
        c.name = n->get<std::string>();
        break;
      }
    }
    if (c.name.empty()) c.name = "unknown";
  }
  if (!fast_verdict(k, c)) return false;
  if (k.unknown || item.contains("metadata")) {
    c.metadata = list_form ? other_keys(item, {"name", "check", "passed", "status", "message"})
                           : other_keys(item, {"passed", "status", "message"});
  }
  return true;
}

core::Result<void> read_checks(const Doc& d, std::string_view key, const json& results,
                               std::vector<Check>& out) {
  out.reserve(results.size());
  const std::string base = d.path_of(key);
  if (results.is_object()) {
    const Doc rd(results, base);
    for (auto it = results.begin(); it != results.end(); ++it) {
      const json& v = it.value();
      Check c{.name = it.key()};
      if (v.is_boolean()) {
        c.passed = v.get<bool>();
      } else if (v.is_object()) {
        if (fast_report_check(v, false, c)) {
          out.push_back(std::move(c));
          continue;
        }
        const Doc cd(v, rd.path_of(c.name));
        auto passed = read_verdict(cd);
        if (!passed) return std::unexpected(passed.error());
        c.passed = *passed;
        auto message = read_message(cd);
        if (!message) return std::unexpected(message.error());
        c.message = std::move(*message);
        c.metadata = other_keys(v, {"passed", "status", "message"});
      } else if (auto b = verdict_of(v)) {
        c.passed = *b;
      } else {
        return std::unexpected(
            rd.error(c.name, "must be a boolean, a status word or an object with passed/status"));
      }
      out.push_back(std::move(c));
    }
    return {};
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& item = results[i];
    Check c;
    if (item.is_object() && fast_report_check(item, true, c)) {
      out.push_back(std::move(c));
      continue;
    }
    c = Check{};
    const std::string path = base + "[" + std::to_string(i) + "]";
    if (!item.is_object()) {
      return core::fail("invalid_document", "a check must be an object", path);
    }
    const Doc cd(item, path);
    for (const char* k : {"name", "check"}) {
      auto name = cd.text(k);
      if (!name) return std::unexpected(name.error());
      if (*name && !(*name)->empty()) {
        c.name = std::move(**name);
        break;
      }
    }
    if (c.name.empty()) c.name = "unknown";
    auto passed = read_verdict(cd);
    if (!passed) return std::unexpected(passed.error());
    c.passed = *passed;
    auto message = read_message(cd);
    if (!message) return std::unexpected(message.error());
    c.message = std::move(*message);
    c.metadata = other_keys(item, {"name", "check", "passed", "status", "message"});
    out.push_back(std::move(c));
  }
  return {};
}

core::Result<Parsed> read_report(const json& doc, const std::string& base) {
  const Doc d(doc, base);
  if (auto ok = d.only({"timestamp", "results", "checks", "total_checks", "passed_checks",
                        "failed_checks", "success_rate", "summary", "status", "validator",
                        "version", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  Parsed p;
  auto time = d.time("timestamp");
  if (!time) return std::unexpected(time.error());
  p.time = *time;
  // `results`, falling back to `checks` when it is absent or empty.
  const auto list_at = [&](std::string_view key) -> core::Result<const json*> {
    const json* v = d.get(key);
    if (v != nullptr && !v->is_object() && !v->is_array()) {
      return std::unexpected(
          d.error(key, "must be an object (name → verdict) or a list of check objects"));
    }
    return v;
  };
  std::string_view key = "results";
  auto results = list_at(key);
  if (!results) return std::unexpected(results.error());
  if (*results == nullptr || (*results)->empty()) {
    key = "checks";
    results = list_at(key);
    if (!results) return std::unexpected(results.error());
  }
  if (*results != nullptr) {
    if (auto ok = read_checks(d, key, **results, p.checks); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (auto ok = read_counts(d, p); !ok) return std::unexpected(ok.error());
  p.status = p.computed;
  auto summary = d.object("summary");
  if (!summary) return std::unexpected(summary.error());
  if (*summary) {
    if (auto ok = (*summary)->only({"status", "message"}); !ok) return std::unexpected(ok.error());
    auto word = read_word(**summary, "status");
    if (!word) return std::unexpected(word.error());
    if (*word) p.status = core::escalate(p.status, **word);
    auto message = (*summary)->text("message");
    if (!message) return std::unexpected(message.error());
    if (*message && !(*message)->empty()) p.summary_message = std::move(*message);
  }
  auto word = read_word(d, "status");
  if (!word) return std::unexpected(word.error());
  if (*word) p.status = core::escalate(p.status, **word);
  auto validator = d.text("validator");
  if (!validator) return std::unexpected(validator.error());
  p.validator = std::move(*validator);
  auto version = d.text("version");
  if (!version) return std::unexpected(version.error());
  p.version = std::move(*version);
  auto metadata = d.object("metadata");
  if (!metadata) return std::unexpected(metadata.error());
  if (*metadata) p.metadata = &(*metadata)->json();
  return p;
}

core::Result<Parsed> read_evaluated(const json& doc, const std::string& base) {
  const Doc d(doc, base);
  if (auto ok = d.only({"status", "generated_at", "total_checks", "passed_checks", "failed_checks",
                        "success_rate", "checks", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  Parsed p;
  auto status = required_status(d, "status");
  if (!status) return std::unexpected(status.error());
  p.status = *status;
  auto time = d.time("generated_at");
  if (!time) return std::unexpected(time.error());
  if (!*time) return std::unexpected(d.error("generated_at", "must be a time, got null"));
  p.time = *time;
  auto checks = d.array("checks");
  if (!checks) return std::unexpected(checks.error());
  if (*checks != nullptr) {
    const json& items = **checks;
    p.checks.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].is_object()) {
        // Fast path: a string name, a JSON boolean, a string message, an object metadata.
        const CheckKeys k = check_keys(items[i], true);
        if (!k.unknown && k.check == nullptr && k.status == nullptr &&
            (k.name == nullptr || k.name->is_string()) && k.passed != nullptr &&
            k.passed->is_boolean() && (k.message == nullptr || k.message->is_string()) &&
            (k.metadata == nullptr || k.metadata->is_object())) {
          Check c{.name = k.name ? k.name->get<std::string>() : "unknown",
                  .passed = k.passed->get<bool>()};
          if (k.message && !k.message->get_ref<const std::string&>().empty()) {
            c.message = k.message->get<std::string>();
          }
          p.checks.push_back(std::move(c));
          continue;
        }
      }
      const std::string path = d.path_of("checks") + "[" + std::to_string(i) + "]";
      if (!items[i].is_object()) {
        return core::fail("invalid_document", "a check must be an object", path);
      }
      const Doc cd(items[i], path);
      if (auto ok = cd.only({"name", "passed", "message", "metadata"}); !ok) {
        return std::unexpected(ok.error());
      }
      Check c;
      auto name = cd.text("name");
      if (!name) return std::unexpected(name.error());
      c.name = name->value_or("unknown");
      auto passed = cd.boolean("passed");
      if (!passed) return std::unexpected(passed.error());
      if (!*passed) return std::unexpected(cd.error("passed", "required field is missing"));
      c.passed = **passed;
      auto message = read_message(cd);
      if (!message) return std::unexpected(message.error());
      c.message = std::move(*message);
      if (auto m = cd.object("metadata"); !m) return std::unexpected(m.error());
      p.checks.push_back(std::move(c));
    }
  }
  if (auto ok = read_counts(d, p); !ok) return std::unexpected(ok.error());
  auto metadata = d.object("metadata");
  if (!metadata) return std::unexpected(metadata.error());
  if (*metadata) {
    const Doc& md = **metadata;
    p.metadata = &md.json();
    for (const auto& [k, out] :
         {std::pair{"validator", &p.validator}, std::pair{"summary_message", &p.summary_message}}) {
      if (const json* v = md.get(k); truthy(v)) *out = plain(*v);
    }
    auto reliability = md.object("reliability");
    if (!reliability) return std::unexpected(reliability.error());
    if (*reliability) {
      auto rs = (*reliability)->string("status");
      if (!rs) return std::unexpected(rs.error());
      if (*rs) {
        if (auto st = core::parse_status(**rs); !st) {
          return std::unexpected((*reliability)->error("status", st.error().message));
        }
      }
      if (auto sh = (*reliability)->number("stale_hours"); !sh) {
        return std::unexpected(sh.error());
      }
      if (auto issues = (*reliability)->strings("issues"); !issues) {
        return std::unexpected(issues.error());
      }
    }
  }
  return p;
}

// A history entry {timestamp|generated_at, status, success_rate}: exactly those keys.
bool is_entry(const json& item) {
  if (!item.is_object() || item.size() != 3) return false;
  return item.contains("status") && item.contains("success_rate") && item.contains("timestamp");
}

core::Result<SystemValidationRun> read_entry(const json& item, const std::string& base) {
  const Doc d(item, base);
  SystemValidationRun run;
  auto time = d.time("timestamp");
  if (!time) return std::unexpected(time.error());
  if (!*time) return std::unexpected(d.error("timestamp", "required field is missing"));
  run.timestamp = **time;
  auto word = d.string("status");
  if (!word) return std::unexpected(word.error());
  if (!*word) return std::unexpected(d.error("status", "required field is missing"));
  if (auto w = parse_sv_word(**word)) {
    run.status = *w;
  } else if (auto st = core::parse_status(**word)) {
    run.status = *st;
  } else {
    return std::unexpected(d.error("status", "unknown status word '" + **word + "'"));
  }
  auto rate = d.number("success_rate");
  if (!rate) return std::unexpected(rate.error());
  std::optional<double> r;
  if (*rate) r = normalise_rate(**rate);
  if (!r) return std::unexpected(d.error("success_rate", "must be a rate ≥ 0 (0..1 or 0..100)"));
  run.success_rate = *r;
  return run;
}

core::Result<SystemValidationRun> run_at(const json& doc, const std::string& base,
                                         std::optional<core::TimePoint> now) {
  const bool evaluated = is_evaluated(doc);
  auto p = evaluated ? read_evaluated(doc, base) : read_report(doc, base);
  if (!p) return std::unexpected(p.error());
  if (!p->time && !now) {
    return core::fail("invalid_document", "a history item needs its timestamp",
                      base.empty() ? "timestamp" : base + ".timestamp");
  }
  return SystemValidationRun{
      .timestamp = p->time ? *p->time : *now, .status = p->status, .success_rate = p->success_rate};
}

// The runs of a history list; errors name "history[i]...".
core::Result<std::vector<SystemValidationRun>> runs_of(std::span<const json> items) {
  std::vector<SystemValidationRun> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string path = "history[" + std::to_string(i) + "]";
    const json& item = items[i];
    if (!item.is_object()) {
      return core::fail("invalid_document", "a history item must be an object", path);
    }
    auto run = is_entry(item) ? read_entry(item, path) : run_at(item, path, std::nullopt);
    if (!run) return std::unexpected(run.error());
    out.push_back(*run);
  }
  return out;
}

// ---- Reliability (§3.3) -------------------------------------------------------------------

struct Reliability {
  Status status = Status::kOk;
  int fail_streak = 0;
  int warn_streak = 0;
  std::size_t samples = 0;
  std::optional<double> average;
  double stale_hours = 0;
  core::TimePoint latest{};
  Findings findings{std::string(kSystemValidationName)};
};

void add_reliability(Reliability& r, std::string_view rule, Status severity, std::string message,
                     json detail) {
  r.status = core::escalate(r.status, severity);
  r.findings.add("reliability", severity, std::move(message),
                 std::string(kCodeReliability) + std::string(rule), std::move(detail));
}

// `history`: the earlier runs (oldest first), already within the window and max_history.
Reliability reliability(const SystemValidationConfig& c,
                        std::span<const SystemValidationRun> history,
                        const SystemValidationRun& current, core::TimePoint now) {
  // An earlier run with the current run's timestamp is the same run (a redelivery, or the
  // report itself in a --history file): the current one replaces it.
  std::vector<SystemValidationRun> ordered;
  ordered.reserve(history.size() + 1);
  const auto split = std::lower_bound(
      history.begin(), history.end(), current.timestamp,
      [](const SystemValidationRun& run, core::TimePoint t) { return run.timestamp < t; });
  auto rest = split;
  while (rest != history.end() && rest->timestamp == current.timestamp) ++rest;
  ordered.insert(ordered.end(), history.begin(), split);
  ordered.push_back(current);
  ordered.insert(ordered.end(), rest, history.end());

  Reliability r;
  r.latest = ordered.back().timestamp;
  const core::Duration age = now - r.latest;
  if (-age > c.future_tolerance) {
    add_reliability(
        r, "future_dated", Status::kWarn,
        "Latest system validation snapshot dated " + fixed(hours(-age), 1) +
            "h in the future (tolerance " + core::format_duration(c.future_tolerance) + ")",
        {{"future_hours", hours(-age)}, {"tolerance_hours", hours(c.future_tolerance)}});
  }
  r.stale_hours = std::max(hours(age), 0.0);
  const auto stale = [&](std::string_view level, core::Duration limit, Status severity) {
    add_reliability(r, "stale", severity,
                    "Latest system validation snapshot stale " + fixed(r.stale_hours, 1) + "h (" +
                        std::string(level) + ">" + fixed(hours(limit), 1) + "h)",
                    {{"stale_hours", r.stale_hours}, {"limit_hours", hours(limit)}});
  };
  if (c.reliability_stale_fail && age > *c.reliability_stale_fail) {
    stale("fail", *c.reliability_stale_fail, Status::kFail);
  } else if (c.reliability_stale_warn && age > *c.reliability_stale_warn) {
    stale("warn", *c.reliability_stale_warn, Status::kWarn);
  }

  for (auto it = ordered.rbegin(); it != ordered.rend() && it->status == Status::kFail; ++it) {
    ++r.fail_streak;
  }
  for (auto it = ordered.rbegin(); it != ordered.rend() && it->status == Status::kWarn; ++it) {
    ++r.warn_streak;
  }
  const auto streak_hit = [](int streak, std::uint32_t limit) {
    return limit > 0 && streak >= static_cast<int>(limit);
  };
  const std::string fails = std::to_string(r.fail_streak) + " consecutive FAIL snapshots";
  if (streak_hit(r.fail_streak, c.reliability_fail_fail_streak)) {
    add_reliability(r, "fail_streak", Status::kFail, fails, {{"fail_streak", r.fail_streak}});
  } else if (streak_hit(r.fail_streak, c.reliability_warn_fail_streak)) {
    add_reliability(r, "fail_streak", Status::kWarn, fails, {{"fail_streak", r.fail_streak}});
  }
  if (streak_hit(r.warn_streak, c.reliability_warn_warn_streak) && r.fail_streak == 0) {
    add_reliability(r, "warn_streak", Status::kWarn,
                    std::to_string(r.warn_streak) + " consecutive WARN snapshots",
                    {{"warn_streak", r.warn_streak}});
  }

  double sum = 0;
  const bool all = c.reliability_window <= core::Duration::zero();
  const core::TimePoint cutoff = now - c.reliability_window;
  for (const SystemValidationRun& run : ordered) {
    if (all || run.timestamp >= cutoff) {
      ++r.samples;
      sum += run.success_rate;
    }
  }
  if (r.samples == 0) {
    add_reliability(r, "window_empty", Status::kWarn,
                    "No system validation runs within reliability window", nullptr);
  } else {
    r.average = sum / static_cast<double>(r.samples);
    const auto below = [&](std::string_view level, double threshold, Status severity) {
      add_reliability(r, "average_success_rate", severity,
                      "Average success rate " + percent(*r.average, 0) + " below " +
                          std::string(level) + " threshold " + percent(threshold, 0),
                      {{"average_success_rate", *r.average}, {"threshold", threshold}});
    };
    if (*r.average < c.reliability_fail_success_rate) {
      below("fail", c.reliability_fail_success_rate, Status::kFail);
    } else if (*r.average < c.reliability_warn_success_rate) {
      below("warn", c.reliability_warn_success_rate, Status::kWarn);
    }
  }
  return r;
}

json optional_hours(const std::optional<core::Duration>& d) {
  return d ? json(hours(*d)) : json(nullptr);
}

json reliability_dict(const SystemValidationConfig& c, const Reliability& r, core::TimePoint now) {
  return {{"status", sv_word(r.status)},
          {"evaluated_at", core::format_rfc3339(now)},
          {"window_hours", hours(c.reliability_window)},
          {"samples_considered", r.samples},
          {"fail_streak", r.fail_streak},
          {"warn_streak", r.warn_streak},
          {"average_success_rate", r.average ? json(*r.average) : json(nullptr)},
          {"stale_hours", r.stale_hours},
          {"issues", r.findings.messages()},
          {"latest_timestamp", core::format_rfc3339(r.latest)},
          {"metadata",
           {{"warn_success_rate", c.reliability_warn_success_rate},
            {"fail_success_rate", c.reliability_fail_success_rate},
            {"warn_fail_streak", c.reliability_warn_fail_streak},
            {"fail_fail_streak", c.reliability_fail_fail_streak},
            {"warn_warn_streak", c.reliability_warn_warn_streak},
            {"stale_warn_hours", optional_hours(c.reliability_stale_warn)},
            {"stale_fail_hours", optional_hours(c.reliability_stale_fail)},
            {"future_tolerance_hours", hours(c.future_tolerance)},
            {"max_history", c.max_history}}}};
}

// ---- Checks, gate, summary, Markdown ------------------------------------------------------

// One issue per failing check: warn, or fail when no check passed (the check's part of the
// computed status; the snapshot's reliability does not make a check worse).
Status check_severity(const Parsed& p) {
  return p.computed == Status::kFail ? Status::kFail : Status::kWarn;
}

void add_check_issues(const Parsed& p, std::vector<core::Issue>& out) {
  const std::string runbook = runbook_path(kSystemValidationName) + "#check";
  const core::Severity severity = core::severity_for(check_severity(p));
  std::unordered_map<std::string, int> seen;
  for (const Check& c : p.checks) {
    if (c.passed) continue;
    std::string code = std::string(kCodeCheck) + slug(c.name);
    if (const int n = ++seen[code]; n > 1) code += ":" + std::to_string(n);
    std::string message = "Validation check failed: " + c.name;
    if (c.message) message += " – " + *c.message;
    out.push_back(core::Issue{.code = std::move(code),
                              .severity = severity,
                              .message = std::move(message),
                              .runbook = runbook});
  }
}

struct Gate {
  Findings findings{std::string(kSystemValidationName)};
  std::vector<std::string> reasons;       // the spec's blocking reasons, in order
  std::vector<std::string> reason_codes;  // and their codes
  std::vector<std::string> warnings;      // non-blocking
  std::vector<std::string> warning_codes;

  void add(Status severity, std::string message, std::string reason_code, bool issue = true) {
    auto& texts = severity == Status::kFail ? reasons : warnings;
    auto& codes = severity == Status::kFail ? reason_codes : warning_codes;
    texts.push_back(message);
    codes.push_back(reason_code);
    if (issue) {
      findings.add("gate", severity, std::move(message), std::string(kCodeGate) + reason_code,
                   {{"reason_code", reason_code}});
    }
  }
};

// §3.6 on the snapshot so far (`status`: before the gate); `reliability`: its summary, or null.
Gate gate(const SystemValidationConfig& c, Status status, const Parsed& p,
          const json* reliability) {
  Gate g;
  if (status == Status::kFail) {
    // The component's own fail status blocks the readiness gate; no issue of its own.
    g.add(Status::kFail, "System validation status is FAIL", "status_fail", false);
  } else if (c.block_on_warn && status == Status::kWarn) {
    g.add(Status::kFail, "System validation status is WARN and block_on_warn is enabled",
          "status_warn_blocked");
  }
  if (p.success_rate < c.min_success_rate) {
    g.add(Status::kFail,
          "Success rate " + percent(p.success_rate, 1) + " below minimum " +
              percent(c.min_success_rate, 1),
          "success_rate_below_min");
  }
  if (!c.required_checks.empty()) {
    std::unordered_map<std::string, const Check*> by_name;
    by_name.reserve(p.checks.size());
    for (const Check& check : p.checks) by_name[core::to_lower(check.name)] = &check;
    for (const std::string& required : c.required_checks) {
      const auto it = by_name.find(core::to_lower(required));
      if (it == by_name.end()) {
        g.add(Status::kFail, "Required check missing from snapshot: " + required,
              core::reason_code({"required_check", "missing", required}));
      } else if (!it->second->passed) {
        g.add(Status::kFail, "Required check failed: " + it->second->name,
              core::reason_code({"required_check", "failed", it->second->name}));
      }
    }
  }
  if (c.consider_reliability) {
    if (reliability != nullptr && reliability->is_object()) {
      std::optional<Status> rs;
      if (const auto it = reliability->find("status");
          it != reliability->end() && it->is_string()) {
        if (auto st = core::parse_status(it->get<std::string>())) rs = *st;
      }
      if (rs == Status::kFail) {
        g.add(Status::kFail, "System validation reliability status is FAIL",
              "reliability_status_fail");
      } else if (rs == Status::kWarn) {
        if (c.reliability_block_on_warn) {
          g.add(Status::kFail, "System validation reliability status is WARN",
                "reliability_status_warn_blocked");
        } else {
          g.add(Status::kWarn, "System validation reliability status is WARN",
                "reliability_status_warn");
        }
      }
      const auto sh = reliability->find("stale_hours");
      const std::optional<double> stale_hours =
          sh == reliability->end() ? std::nullopt : document_number(*sh);
      if (stale_hours && c.reliability_max_stale &&
          *stale_hours > hours(*c.reliability_max_stale)) {
        g.add(Status::kFail,
              "Reliability snapshot stale " + fixed(*stale_hours, 1) + " hours exceeds limit " +
                  fixed(hours(*c.reliability_max_stale), 1) + " hours",
              "reliability_snapshot_stale");
      }
    } else {
      g.add(Status::kWarn, "System validation reliability metadata unavailable",
            "reliability_metadata_unavailable");
    }
  }
  return g;
}

json gate_dict(const SystemValidationConfig& c, const Gate& g, Status status) {
  json out = {{"status", sv_word(core::escalate(status, g.findings.worst()))},
              {"should_block", !g.reasons.empty()},
              {"reasons", g.reasons},
              {"reason_codes", g.reason_codes},
              {"warnings", g.warnings},
              {"warning_codes", g.warning_codes},
              {"min_success_rate", c.min_success_rate},
              {"block_on_warn", c.block_on_warn},
              {"required_checks", c.required_checks},
              {"consider_reliability", c.consider_reliability}};
  if (c.consider_reliability) {
    out["reliability_block_on_warn"] = c.reliability_block_on_warn;
    if (c.reliability_max_stale) {
      out["reliability_max_stale_hours"] = hours(*c.reliability_max_stale);
    }
  }
  return out;
}

// §7.1's system_validation summary, the failing names capped, plus the reliability word.
std::string summary_of(const Parsed& p, std::optional<Status> reliability) {
  std::string s = std::to_string(p.passed) + "/" + std::to_string(p.total) +
                  " checks passed (success=" + percent(p.success_rate, 0) + ")";
  std::vector<const std::string*> names;
  for (const Check& c : p.checks) {
    if (!c.passed) names.push_back(&c.name);
  }
  if (!names.empty()) {
    const std::size_t shown = std::min(names.size(), kSummaryNames);
    std::partial_sort(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(shown),
                      names.end(),
                      [](const std::string* a, const std::string* b) { return *a < *b; });
    s += "; failing checks: ";
    for (std::size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + *names[i];
    if (names.size() > shown) s += ", … (+" + std::to_string(names.size() - shown) + " more)";
  }
  if (reliability && *reliability != Status::kOk) {
    s += "; reliability " + std::string(sv_word(*reliability));
  }
  return s;
}

// §3.5, plus the gate's findings before the checks.
std::string markdown_of(Status status, const Parsed& p, core::TimePoint generated_at,
                        const json* reliability, const Gate& g) {
  std::string out;
  out.reserve(256 + p.checks.size() * 40);
  const auto line = [&](std::string_view text) {
    if (!out.empty()) out += '\n';
    out += text;
  };
  line("**System validation – status: " + std::string(sv_word(status)) + "**");
  line("- Generated at: " + core::format_rfc3339(generated_at));
  line("- Checks passed: " + std::to_string(p.passed) + "/" + std::to_string(p.total));
  line("- Success rate: " + percent(p.success_rate, 2));
  bool any_failing = false;
  for (const Check& c : p.checks) {
    if (c.passed) continue;
    out += any_failing ? ", " : "\n- Failing checks: ";
    out += c.name.empty() ? "unknown" : core::markdown_inline(c.name);
    any_failing = true;
  }
  if (p.validator && !p.validator->empty()) {
    line("- Validator: " + core::markdown_inline(*p.validator));
  }
  if (p.summary_message) line("- Summary: " + core::markdown_inline(*p.summary_message));
  if (reliability != nullptr && reliability->is_object()) {
    const auto field = [&](const char* key) -> const json* {
      const auto it = reliability->find(key);
      return it == reliability->end() ? nullptr : &*it;
    };
    if (const json* v = field("status"); truthy(v)) {
      line("- Reliability status: " + core::markdown_inline(plain(*v)));
    }
    if (const json* v = field("stale_hours"); v != nullptr && v->is_number()) {
      line("- Snapshot staleness (hours): " + fixed(v->get<double>(), 1));
    }
    if (const json* v = field("average_success_rate"); v != nullptr && v->is_number()) {
      line("- Reliability average success rate: " + percent(v->get<double>(), 2));
    }
    for (const auto& [key, label] : {std::pair{"fail_streak", "- Consecutive FAIL streak: "},
                                     std::pair{"warn_streak", "- Consecutive WARN streak: "}}) {
      if (const json* v = field(key);
          v != nullptr && v->is_number_integer() && v->get<std::int64_t>() > 0) {
        line(label + std::to_string(v->get<std::int64_t>()));
      }
    }
    if (const json* v = field("issues"); v != nullptr && v->is_array() && !v->empty()) {
      line("");
      line("**Reliability issues:**");
      for (const json& issue : *v) line("- " + core::markdown_inline(plain(issue)));
    }
  }
  if (!g.findings.empty()) {
    line("");
    line("**Gate:**");
    for (const Finding& f : g.findings.all()) {
      line(std::string(f.severity == Status::kFail ? "- Blocking: " : "- Warning: ") +
           core::markdown_inline(f.message));
    }
  }
  if (!p.checks.empty()) {
    line("");
    line("**Checks:**");
    for (const Check& c : p.checks) {
      out += c.passed ? "\n- ✅ " : "\n- ❌ ";
      out += core::markdown_inline(c.name);
      if (c.message) {
        out += ": ";
        out += core::markdown_inline(*c.message);
      }
    }
  }
  return out;
}

// The as_dict of the checks, moving each check's name, message and metadata (the last use).
json checks_dict(std::vector<Check>& checks) {
  json out = json::array();
  auto& items = out.get_ref<json::array_t&>();
  items.reserve(checks.size());
  for (Check& c : checks) {
    json item(json::value_t::object);
    auto& o = item.get_ref<json::object_t&>();
    o.emplace("name", std::move(c.name));
    o.emplace("passed", c.passed);
    if (c.message) o.emplace("message", std::move(*c.message));
    if (c.metadata.is_object() && !c.metadata.empty()) o.emplace("metadata", std::move(c.metadata));
    items.push_back(std::move(item));
  }
  return out;
}

// ---- The two forms --------------------------------------------------------------------------

core::Result<Evaluated> evaluate_report(const SystemValidationConfig& c, const json& doc,
                                        std::span<const SystemValidationRun> history,
                                        core::TimePoint now, SystemValidationRun* run_out) {
  auto parsed = read_report(doc, "");
  if (!parsed) return std::unexpected(parsed.error());
  Parsed& p = *parsed;
  const core::TimePoint generated_at = p.time.value_or(now);
  const SystemValidationRun run{
      .timestamp = generated_at, .status = p.status, .success_rate = p.success_rate};
  if (run_out != nullptr) *run_out = run;
  Reliability rel = reliability(c, history, run, now);
  const Status status = core::escalate(p.status, rel.status);

  // Metadata (§3.4): the report's own metadata first, the evaluation's keys over it.
  json md = p.metadata != nullptr ? *p.metadata : json::object();
  if (p.validator) md["validator"] = *p.validator;
  if (p.version) md["version"] = *p.version;
  if (p.summary_message) md["summary_message"] = *p.summary_message;
  json failing = json::array();
  json names = json::array();
  for (const Check& x : p.checks) {
    if (x.passed) continue;
    json item(json::value_t::object);
    auto& o = item.get_ref<json::object_t&>();
    o.emplace("name", x.name);
    o.emplace("message", x.message ? json(*x.message) : json(nullptr));
    o.emplace("metadata", x.metadata.is_object() ? x.metadata : json(json::value_t::object));
    failing.get_ref<json::array_t&>().push_back(std::move(item));
    names.get_ref<json::array_t&>().emplace_back(x.name);
  }
  if (!names.empty()) {
    md["failing_checks"] = std::move(failing);
    md["failing_check_names"] = std::move(names);
  }
  if (p.total > 0) md["check_status_breakdown"] = {{"passed", p.passed}, {"failed", p.failed}};
  md["reliability"] = reliability_dict(c, rel, now);
  if (!rel.findings.empty()) md["reliability_issues"] = rel.findings.messages();
  rel.findings.write_metadata(md);
  md["computed_status"] = sv_word(p.status);
  md["reliability_status"] = sv_word(rel.status);

  Evaluated e;
  core::ComponentSnapshot& s = e.snapshot;
  s.component = std::string(kSystemValidationName);
  s.status = status;
  s.observed_at = generated_at;
  s.summary = summary_of(p, rel.status);
  add_check_issues(p, s.issues);
  if (!s.issues.empty()) s.status = core::escalate(s.status, check_severity(p));
  rel.findings.write_to(s);
  const Gate g = gate(c, s.status, p, &md["reliability"]);
  g.findings.write_to(s);
  e.markdown = markdown_of(status, p, generated_at, &md["reliability"], g);

  s.metadata = md;
  s.metadata["gate"] = gate_dict(c, g, status);
  s.metadata["source"] = "report";
  e.report = {{"status", sv_word(status)}, {"generated_at", core::format_rfc3339(generated_at)},
              {"total_checks", p.total},   {"passed_checks", p.passed},
              {"failed_checks", p.failed}, {"success_rate", p.success_rate}};
  e.report["checks"] = checks_dict(p.checks);
  e.report["metadata"] = std::move(md);
  return e;
}

core::Result<Evaluated> evaluate_snapshot(const SystemValidationConfig& c, const json& doc,
                                          core::TimePoint now, SystemValidationRun* run_out) {
  auto parsed = read_evaluated(doc, "");
  if (!parsed) return std::unexpected(parsed.error());
  const Parsed& p = *parsed;
  const json* reliability = nullptr;
  std::optional<Status> reliability_status;
  if (p.metadata != nullptr) {
    if (const auto it = p.metadata->find("reliability");
        it != p.metadata->end() && it->is_object()) {
      reliability = &*it;
      if (const auto st = it->find("status"); st != it->end() && st->is_string()) {
        if (auto w = core::parse_status(st->get<std::string>())) reliability_status = *w;
      }
    }
  }
  auto e = from_evaluated(kSystemValidationName, kSystemValidationName, doc, now,
                          summary_of(p, reliability_status));
  if (!e) return std::unexpected(e.error());
  if (run_out != nullptr) {
    *run_out = {.timestamp = *p.time, .status = p.status, .success_rate = p.success_rate};
  }
  core::ComponentSnapshot& s = e->snapshot;
  std::vector<core::Issue> issues;
  add_check_issues(p, issues);
  if (!issues.empty()) {
    s.status = core::escalate(s.status, check_severity(p));
    s.issues.insert(s.issues.begin(), std::make_move_iterator(issues.begin()),
                    std::make_move_iterator(issues.end()));
  }
  // The document's own date, against the clock (the staleness rules ran where it was made).
  Reliability future;
  if (const core::Duration ahead = *p.time - now; ahead > c.future_tolerance) {
    add_reliability(
        future, "future_dated", Status::kWarn,
        "Latest system validation snapshot dated " + fixed(hours(ahead), 1) +
            "h in the future (tolerance " + core::format_duration(c.future_tolerance) + ")",
        {{"future_hours", hours(ahead)}, {"tolerance_hours", hours(c.future_tolerance)}});
  }
  future.findings.write_to(s);
  const Status before_gate = s.status;
  const Gate g = gate(c, before_gate, p, reliability);
  g.findings.write_to(s);
  if (!s.metadata.contains("reliability_status") && reliability_status) {
    s.metadata["reliability_status"] = sv_word(*reliability_status);
  }
  s.metadata["gate"] = gate_dict(c, g, before_gate);
  e->markdown = markdown_of(p.status, p, *p.time, reliability, g);
  return e;
}

// Sorted by timestamp; of runs with the same timestamp (the same run), the last given.
std::vector<SystemValidationRun> sorted_unique(std::span<const SystemValidationRun> runs) {
  std::vector<SystemValidationRun> sorted(runs.begin(), runs.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const SystemValidationRun& a, const SystemValidationRun& b) {
                     return a.timestamp < b.timestamp;
                   });
  std::vector<SystemValidationRun> out;
  out.reserve(sorted.size());
  for (const SystemValidationRun& r : sorted) {
    if (!out.empty() && out.back().timestamp == r.timestamp) {
      out.back() = r;
    } else {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace

// ---- Configuration --------------------------------------------------------------------------

core::Result<void> validate(const SystemValidationConfig& c) {
  const auto non_negative = [](const std::optional<core::Duration>& d, const char* field) {
    if (d && *d < core::Duration::zero()) {
      return core::Result<void>(core::fail("invalid_parameter", "must not be negative", field));
    }
    return core::Result<void>();
  };
  for (const auto& [d, field] :
       {std::pair{std::optional<core::Duration>(c.reliability_window), "reliability_window"},
        std::pair{c.reliability_stale_warn, "reliability_stale_warn"},
        std::pair{c.reliability_stale_fail, "reliability_stale_fail"},
        std::pair{std::optional<core::Duration>(c.future_tolerance), "future_tolerance"},
        std::pair{c.reliability_max_stale, "reliability_max_stale"}}) {
    if (auto ok = non_negative(d, field); !ok) return ok;
  }
  if (c.reliability_stale_warn && c.reliability_stale_fail &&
      *c.reliability_stale_fail < *c.reliability_stale_warn) {
    return core::fail("invalid_parameter", "must not be below reliability_stale_warn",
                      "reliability_stale_fail");
  }
  for (const auto& [v, field] :
       {std::pair{c.reliability_warn_success_rate, "reliability_warn_success_rate"},
        std::pair{c.reliability_fail_success_rate, "reliability_fail_success_rate"},
        std::pair{c.min_success_rate, "min_success_rate"}}) {
    if (!std::isfinite(v) || v < 0 || v > 1) {
      return core::fail("invalid_parameter", "must be a rate between 0 and 1", field);
    }
  }
  if (c.reliability_fail_success_rate > c.reliability_warn_success_rate) {
    return core::fail("invalid_parameter", "must not exceed reliability_warn_success_rate",
                      "reliability_fail_success_rate");
  }
  if (c.reliability_warn_fail_streak > 0 && c.reliability_fail_fail_streak > 0 &&
      c.reliability_fail_fail_streak < c.reliability_warn_fail_streak) {
    return core::fail("invalid_parameter", "must not be below reliability_warn_fail_streak",
                      "reliability_fail_fail_streak");
  }
  if (c.max_history < 1 || c.max_history > 1'000'000) {
    return core::fail("invalid_parameter", "must be between 1 and 1000000", "max_history");
  }
  std::vector<std::string> slugs;
  for (const std::string& name : c.required_checks) {
    if (core::trim(name).empty()) {
      return core::fail("invalid_parameter", "names must not be empty", "required_checks");
    }
    std::string s = slug(name);
    if (std::find(slugs.begin(), slugs.end(), s) != slugs.end()) {
      return core::fail("invalid_parameter",
                        "'" + name + "' repeats another name (reason code " + s + ")",
                        "required_checks");
    }
    slugs.push_back(std::move(s));
  }
  return {};
}

// ---- SystemValidation -----------------------------------------------------------------------

SystemValidation::SystemValidation(const SystemValidationConfig& config)
    : DocumentComponent(std::string(kSystemValidationName), "operational.system_validation",
                        {std::string(kSystemValidationTopic)}),
      config_(config) {}

core::Result<std::unique_ptr<SystemValidation>> SystemValidation::create(
    const SystemValidationConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<SystemValidation>(new SystemValidation(config));
}

std::span<const SystemValidationRun> SystemValidation::effective(
    std::span<const SystemValidationRun> sorted, core::TimePoint now) const {
  if (config_.reliability_window > core::Duration::zero()) {
    const core::TimePoint cutoff = now - config_.reliability_window;
    const auto first = std::lower_bound(
        sorted.begin(), sorted.end(), cutoff,
        [](const SystemValidationRun& run, core::TimePoint t) { return run.timestamp < t; });
    sorted = sorted.subspan(static_cast<std::size_t>(first - sorted.begin()));
  }
  if (sorted.size() > config_.max_history) sorted = sorted.last(config_.max_history);
  return sorted;
}

core::Result<Evaluated> SystemValidation::evaluate_sorted(
    const nlohmann::json& doc, std::span<const SystemValidationRun> sorted, core::TimePoint now,
    SystemValidationRun* run) const {
  auto root = root_object(doc, "a system validation document");
  if (!root) return std::unexpected(root.error());
  if (is_evaluated(doc)) return evaluate_snapshot(config_, doc, now, run);
  return evaluate_report(config_, doc, effective(sorted, now), now, run);
}

core::Result<Evaluated> SystemValidation::evaluate(const nlohmann::json& doc, core::TimePoint now) {
  SystemValidationRun run;
  auto e = evaluate_sorted(doc, history_, now, &run);
  if (e) {
    pending_.emplace(run, now);
  } else {
    pending_.reset();
  }
  return e;
}

core::Result<Evaluated> SystemValidation::evaluate_with_history(
    const nlohmann::json& doc, std::span<const SystemValidationRun> history,
    core::TimePoint now) const {
  const std::vector<SystemValidationRun> sorted = sorted_unique(history);
  return evaluate_sorted(doc, sorted, now, nullptr);
}

core::Result<SystemValidationRun> SystemValidation::run_of(const nlohmann::json& doc,
                                                           core::TimePoint now) {
  auto root = root_object(doc, "a system validation document");
  if (!root) return std::unexpected(root.error());
  return run_at(doc, "", now);
}

core::Result<std::vector<SystemValidationRun>> SystemValidation::history_from_json(
    const nlohmann::json& items) {
  if (!items.is_array()) {
    return core::fail("invalid_document", "a history must be a JSON array", "history");
  }
  return runs_of(items.get_ref<const json::array_t&>());
}

core::Result<std::vector<SystemValidationRun>> SystemValidation::parse_history(
    std::string_view text) {
  const std::string_view body = core::trim(text);
  json items = json::array();
  if (!body.empty() && body.front() == '[') {
    items = json::parse(body, nullptr, false);
    if (items.is_discarded()) {
      return core::fail("invalid_document", "the history is not valid JSON", "history");
    }
  } else {
    std::size_t line_no = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      ++line_no;
      const std::string_view line = core::trim(text.substr(start, end - start));
      if (!line.empty()) {
        json item = json::parse(line, nullptr, false);
        if (item.is_discarded()) {
          return core::fail("invalid_document",
                            "line " + std::to_string(line_no) + " is not valid JSON",
                            "history[" + std::to_string(items.size()) + "]");
        }
        items.push_back(std::move(item));
      }
      start = end + 1;
    }
  }
  return history_from_json(items);
}

core::Result<void> SystemValidation::load_history(const std::vector<nlohmann::json>& docs,
                                                  core::TimePoint /*now*/) {
  auto runs = runs_of(docs);
  if (!runs) return std::unexpected(runs.error());
  load_runs(*runs);
  return {};
}

void SystemValidation::load_runs(std::span<const SystemValidationRun> runs) {
  history_ = sorted_unique(runs);
  if (history_.size() > config_.max_history) {
    history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(
                                                            history_.size() - config_.max_history));
  }
  ++state_version_;
}

void SystemValidation::keep(const SystemValidationRun& run, core::TimePoint now) {
  // A run dated beyond the clock-skew tolerance was flagged; kept, it would stay "latest"
  // (and never stale) until the clock reaches it.
  if (run.timestamp - now > config_.future_tolerance) return;
  const auto at = std::lower_bound(
      history_.begin(), history_.end(), run.timestamp,
      [](const SystemValidationRun& r, core::TimePoint t) { return r.timestamp < t; });
  if (at != history_.end() && at->timestamp == run.timestamp) {
    *at = run;  // the same run again (a redelivery): the latest evaluation wins
  } else {
    history_.insert(at, run);
  }
  auto first = history_.begin();
  if (config_.reliability_window > core::Duration::zero()) {
    const core::TimePoint cutoff = now - config_.reliability_window;
    first = std::lower_bound(
        history_.begin(), history_.end(), cutoff,
        [](const SystemValidationRun& r, core::TimePoint t) { return r.timestamp < t; });
  }
  const auto keep_from = static_cast<std::size_t>(first - history_.begin());
  const std::size_t excess =
      history_.size() > config_.max_history ? history_.size() - config_.max_history : 0;
  history_.erase(history_.begin(),
                 history_.begin() + static_cast<std::ptrdiff_t>(std::max(keep_from, excess)));
  ++state_version_;
}

void SystemValidation::kept(const Evaluated& /*e*/) {
  if (!pending_) return;
  keep(pending_->first, pending_->second);
  pending_.reset();
}

core::ComponentSnapshot SystemValidation::snapshot(core::TimePoint now, Detail detail) {
  const Evaluated* e = latest();
  if (e == nullptr || detail == Detail::kFull) return DocumentComponent::snapshot(now, detail);
  // Brief: everything but the metadata, without copying the metadata first.
  const core::ComponentSnapshot& s = e->snapshot;
  return core::ComponentSnapshot{.component = s.component,
                                 .status = s.status,
                                 .summary = s.summary,
                                 .observed_at = s.observed_at,
                                 .issues = s.issues};
}

nlohmann::json SystemValidation::state() const {
  json runs = json::array();
  for (const SystemValidationRun& r : history_) {
    runs.push_back({{"timestamp", core::format_rfc3339(r.timestamp)},
                    {"status", core::to_string(r.status)},
                    {"success_rate", r.success_rate}});
  }
  return {{"version", 1}, {"runs", std::move(runs)}};
}

core::Result<void> SystemValidation::restore(const nlohmann::json& state) {
  if (state.is_null()) return {};
  auto root = root_object(state, "system_validation state");
  if (!root) return std::unexpected(root.error());
  if (auto ok = root->only({"version", "runs"}); !ok) return ok;
  auto version = root->number("version");
  if (!version) return std::unexpected(version.error());
  if (!*version || **version != 1) {
    return std::unexpected(root->error("version", "unsupported state version (expected 1)"));
  }
  auto runs = root->array("runs");
  if (!runs) return std::unexpected(runs.error());
  std::vector<SystemValidationRun> restored;
  if (*runs != nullptr) {
    for (std::size_t i = 0; i < (*runs)->size(); ++i) {
      const json& item = (**runs)[i];
      const std::string path = "runs[" + std::to_string(i) + "]";
      if (!item.is_object()) return core::fail("invalid_document", "must be an object", path);
      const Doc d(item, path);
      if (auto ok = d.only({"timestamp", "status", "success_rate"}); !ok) return ok;
      auto run = read_entry(item, path);
      if (!run) return std::unexpected(run.error());
      restored.push_back(*run);
    }
  }
  load_runs(restored);
  return {};
}

}  // namespace opsready::components
