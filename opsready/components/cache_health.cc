#include "opsready/components/cache_health.h"

#include <cmath>
#include <utility>
#include <vector>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

constexpr std::string_view kTopic = "telemetry.cache.health";

// A whole, non-negative count.
core::Result<std::optional<double>> count(const Doc& d, std::string_view key) {
  auto n = d.number(key);
  if (!n) return std::unexpected(n.error());
  if (*n && (**n < 0 || **n != std::floor(**n) || **n > 1e18)) {
    return std::unexpected(d.error(key, "must be a whole number ≥ 0"));
  }
  return *n;
}

// A count as a JSON integer (counts are whole numbers by the reading rule above).
nlohmann::json whole(double v) { return static_cast<std::uint64_t>(v); }

void put_count(nlohmann::json& j, const char* key, const std::optional<double>& v) {
  if (v) j[key] = whole(*v);
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

struct Row {
  std::string label;
  std::string value;
};

// The Markdown of one cache health snapshot (report or evaluated): title, a table of what was
// reported and the issues.
std::string render(core::Status status, core::TimePoint generated, const nlohmann::json& m,
                   const core::ComponentSnapshot& s) {
  const auto str = [&](const char* key) -> std::optional<std::string> {
    const auto it = m.find(key);
    if (it == m.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto num = [&](const char* key) -> std::optional<double> {
    const auto it = m.find(key);
    if (it == m.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  const auto flag = [&](const char* key) -> std::optional<bool> {
    const auto it = m.find(key);
    if (it == m.end() || !it->is_boolean()) return std::nullopt;
    return it->get<bool>();
  };
  std::string out = "**Cache health – " + core::markdown_inline(str("backend").value_or("cache")) +
                    "** (status: " + std::string(core::to_string(status)) +
                    ", generated: " + core::format_rfc3339(generated) + ")\n";
  std::vector<Row> rows;
  if (auto v = str("namespace")) rows.push_back({"Namespace", *v});
  if (auto v = flag("configured")) rows.push_back({"Configured", yes_no(*v)});
  if (auto v = flag("reachable")) rows.push_back({"Reachable", yes_no(*v)});
  if (auto v = flag("fallback_active")) rows.push_back({"Fallback active", yes_no(*v)});
  if (auto v = num("hit_rate")) {
    std::string value = percent(*v, 1);
    if (auto r = num("requests")) value += " (" + shortest(*r) + " requests)";
    rows.push_back({"Hit rate", value});
  }
  if (auto v = num("latency_ms_p95")) rows.push_back({"p95 latency", fixed(*v, 1) + " ms"});
  if (auto v = num("evictions")) rows.push_back({"Evictions", shortest(*v)});
  if (auto v = num("errors")) rows.push_back({"Errors", shortest(*v)});
  if (!rows.empty()) {
    out += "\n| Check | Value |\n| --- | --- |\n";
    for (const Row& r : rows) {
      out += "| " + r.label + " | " + core::markdown_inline(r.value) + " |\n";
    }
  }
  out += "\nIssues:\n";
  if (s.issues.empty()) out += "- none\n";
  for (const core::Issue& i : s.issues) {
    out += "- **" + std::string(core::to_string(core::status_for(i.severity))) + "** " +
           core::markdown_inline(i.message) + "\n";
  }
  return out;
}

}  // namespace

core::Result<void> validate(const CacheHealthConfig& c) {
  const auto share = [](double v) { return std::isfinite(v) && v >= 0 && v <= 1; };
  if (!share(c.hit_rate_warn)) {
    return core::fail("invalid_parameter", "must be between 0 and 1", "hit_rate_warn");
  }
  if (!share(c.hit_rate_fail) || c.hit_rate_fail > c.hit_rate_warn) {
    return core::fail("invalid_parameter", "must be between 0 and hit_rate_warn", "hit_rate_fail");
  }
  if (!std::isfinite(c.latency_warn_ms) || c.latency_warn_ms < 0) {
    return core::fail("invalid_parameter", "must be a finite number ≥ 0", "latency_warn_ms");
  }
  if (!std::isfinite(c.latency_fail_ms) || c.latency_fail_ms < c.latency_warn_ms) {
    return core::fail("invalid_parameter", "must be a finite number ≥ latency_warn_ms",
                      "latency_fail_ms");
  }
  return {};
}

CacheHealth::CacheHealth(const CacheHealthConfig& config)
    : DocumentComponent(std::string(kCacheName), "operational." + std::string(kCacheName),
                        {std::string(kTopic)}),
      config_(config) {}

core::Result<std::unique_ptr<CacheHealth>> CacheHealth::create(const CacheHealthConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<CacheHealth>(new CacheHealth(config));
}

core::Result<Evaluated> CacheHealth::evaluate(const nlohmann::json& doc, core::TimePoint now) {
  auto root = root_object(doc, "a cache health document");
  if (!root) return std::unexpected(root.error());

  if (!root->has("configured")) {
    // An evaluated snapshot.
    if (auto ok = root->only({"status", "generated_at", "summary", "issues", "metadata"}); !ok) {
      return std::unexpected(ok.error());
    }
    auto summary = root->string("summary");
    if (!summary) return std::unexpected(summary.error());
    auto issues = root->strings("issues");
    if (!issues) return std::unexpected(issues.error());
    std::string text = summary->value_or("");
    if (text.empty()) {
      for (const auto& m : *issues) text += (text.empty() ? "" : "; ") + m;
    }
    auto e = from_evaluated(kCacheName, kCacheName, doc, now, text);
    if (!e) return std::unexpected(e.error());
    if (e->snapshot.summary.empty()) {
      e->snapshot.summary = "Cache status " + std::string(core::to_string(e->snapshot.status));
    }
    e->markdown =
        render(e->snapshot.status, e->snapshot.observed_at, e->snapshot.metadata, e->snapshot);
    return e;
  }

  if (auto ok = root->only({"generated_at", "backend", "status", "configured", "reachable",
                            "fallback_active", "hit_rate", "hits", "misses", "evictions",
                            "latency_ms_p95", "errors", "namespace", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  auto generated = root->time("generated_at");
  if (!generated) return std::unexpected(generated.error());
  auto backend = root->string("backend");
  if (!backend) return std::unexpected(backend.error());
  if (*backend && **backend != "redis" && **backend != "memory") {
    return std::unexpected(
        root->error("backend", "must be redis or memory, got '" + **backend + "'"));
  }
  std::optional<core::Status> reported;
  if (auto word = root->string("status"); !word) {
    return std::unexpected(word.error());
  } else if (*word) {
    auto st = core::parse_status(**word);
    if (!st) return std::unexpected(root->error("status", st.error().message));
    reported = *st;
  }
  auto configured = root->boolean("configured");
  if (!configured) return std::unexpected(configured.error());
  auto reachable = root->boolean("reachable");
  if (!reachable) return std::unexpected(reachable.error());
  if (**configured && !*reachable) {
    return std::unexpected(root->error("reachable", "required when configured is true"));
  }
  auto fallback = root->boolean("fallback_active");
  if (!fallback) return std::unexpected(fallback.error());
  auto hit_rate = root->number("hit_rate");
  if (!hit_rate) return std::unexpected(hit_rate.error());
  if (*hit_rate && (**hit_rate < 0 || **hit_rate > 1)) {
    return std::unexpected(root->error("hit_rate", "must be between 0 and 1"));
  }
  auto hits = count(*root, "hits");
  if (!hits) return std::unexpected(hits.error());
  auto misses = count(*root, "misses");
  if (!misses) return std::unexpected(misses.error());
  auto evictions = count(*root, "evictions");
  if (!evictions) return std::unexpected(evictions.error());
  auto errors = count(*root, "errors");
  if (!errors) return std::unexpected(errors.error());
  auto latency = root->number("latency_ms_p95");
  if (!latency) return std::unexpected(latency.error());
  if (*latency && **latency < 0) {
    return std::unexpected(root->error("latency_ms_p95", "must be ≥ 0"));
  }
  auto ns = root->string("namespace");
  if (!ns) return std::unexpected(ns.error());
  auto context = root->object("metadata");
  if (!context) return std::unexpected(context.error());

  const bool is_configured = **configured;
  const bool counts_known = *hits || *misses;
  const double requests = hits->value_or(0) + misses->value_or(0);
  std::optional<double> rate = *hit_rate;
  if (!rate && requests > 0) rate = hits->value_or(0) / requests;

  Findings f{std::string(kCacheName)};
  if (is_configured && !**reachable) {
    f.add("unreachable", core::Status::kFail, "Redis cache unreachable", "cache.unreachable");
  }
  if (!is_configured && config_.require_configured) {
    f.add("not_configured", core::Status::kWarn, "Redis cache not configured",
          "cache.not_configured");
  }
  if (fallback->value_or(false)) {
    f.add("fallback", core::Status::kWarn, "In-memory fallback cache active", "cache.fallback");
  }
  if (rate && (!counts_known || requests >= config_.min_requests)) {
    const nlohmann::json detail = {{"hit_rate", *rate}, {"requests", whole(requests)}};
    if (*rate < config_.hit_rate_fail) {
      f.add("hit_rate", core::Status::kFail,
            "Cache hit rate " + percent(*rate, 1) + " below " + percent(config_.hit_rate_fail, 1),
            "cache.hit_rate", detail);
    } else if (*rate < config_.hit_rate_warn) {
      f.add("hit_rate", core::Status::kWarn,
            "Cache hit rate " + percent(*rate, 1) + " below " + percent(config_.hit_rate_warn, 1),
            "cache.hit_rate", detail);
    }
  }
  if (*latency) {
    const double p95 = **latency;
    if (p95 > config_.latency_fail_ms) {
      f.add("latency", core::Status::kFail,
            "Cache p95 latency " + fixed(p95, 1) + " ms above " +
                fixed(config_.latency_fail_ms, 1) + " ms",
            "cache.latency", {{"latency_ms_p95", p95}});
    } else if (p95 > config_.latency_warn_ms) {
      f.add("latency", core::Status::kWarn,
            "Cache p95 latency " + fixed(p95, 1) + " ms above " +
                fixed(config_.latency_warn_ms, 1) + " ms",
            "cache.latency", {{"latency_ms_p95", p95}});
    }
  }
  if (*evictions && **evictions > config_.evictions_warn) {
    f.add("evictions", core::Status::kWarn,
          "Cache evictions " + shortest(**evictions) + " above " +
              std::to_string(config_.evictions_warn),
          "cache.evictions", {{"evictions", whole(**evictions)}});
  }
  if (*errors && **errors > config_.errors_warn) {
    f.add("errors", core::Status::kWarn,
          "Cache errors " + shortest(**errors) + " above " + std::to_string(config_.errors_warn),
          "cache.errors", {{"errors", whole(**errors)}});
  }
  if (reported && core::rank(*reported) > core::rank(f.worst())) {
    f.add("status", *reported, "Cache reported status " + std::string(core::to_string(*reported)),
          "cache.status");
  }

  Evaluated e;
  core::ComponentSnapshot& s = e.snapshot;
  s.component = std::string(kCacheName);
  s.observed_at = generated->value_or(now);
  f.write_to(s);
  if (f.empty()) {
    s.summary = std::string(is_configured ? "Redis" : "In-memory") + " cache healthy";
    std::string parts;
    if (rate) parts = "hit rate " + percent(*rate, 1);
    if (*latency) parts += (parts.empty() ? "" : ", ") + ("p95 " + fixed(**latency, 1) + " ms");
    if (!parts.empty()) s.summary += " (" + parts + ")";
  } else {
    for (const auto& m : f.messages()) s.summary += (s.summary.empty() ? "" : "; ") + m;
  }

  nlohmann::json& m = s.metadata;
  m["backend"] = backend->value_or("redis");
  m["configured"] = is_configured;
  if (*reachable) m["reachable"] = **reachable;
  m["fallback_active"] = fallback->value_or(false);
  if (rate) m["hit_rate"] = *rate;
  if (counts_known) m["requests"] = whole(requests);
  put_count(m, "hits", *hits);
  put_count(m, "misses", *misses);
  put_count(m, "evictions", *evictions);
  put_count(m, "errors", *errors);
  put_optional(m, "latency_ms_p95", *latency);
  if (*ns) m["namespace"] = **ns;
  if (reported) m["reported_status"] = core::to_string(*reported);
  m["thresholds"] = {
      {"hit_rate_warn", config_.hit_rate_warn},     {"hit_rate_fail", config_.hit_rate_fail},
      {"min_requests", config_.min_requests},       {"latency_warn_ms", config_.latency_warn_ms},
      {"latency_fail_ms", config_.latency_fail_ms}, {"evictions_warn", config_.evictions_warn},
      {"errors_warn", config_.errors_warn}};
  if (*context) m["context"] = (*context)->json();
  f.write_metadata(m);

  e.report = {{"status", core::to_string(s.status)},
              {"generated_at", core::format_rfc3339(s.observed_at)},
              {"summary", s.summary},
              {"issues", f.messages()},
              {"metadata", m}};
  e.markdown = render(s.status, s.observed_at, m, s);
  return e;
}

}  // namespace opsready::components
