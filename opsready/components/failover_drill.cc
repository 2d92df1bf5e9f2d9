#include "opsready/components/failover_drill.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

constexpr std::array<std::string_view, 3> kPlanned = {"daily_bars", "intraday_trades",
                                                      "macro_events"};

bool contains(const std::vector<std::string>& items, std::string_view v) {
  return std::find(items.begin(), items.end(), v) != items.end();
}

void push_unique(std::vector<std::string>& items, std::string v) {
  if (!contains(items, v)) items.push_back(std::move(v));
}

// The ingest-health vocabulary (IngestHealthStatus): ok / warn / error.
std::string_view health_word(core::Status s) {
  return s == core::Status::kOk ? "ok" : s == core::Status::kWarn ? "warn" : "error";
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

core::Result<std::optional<double>> non_negative(const Doc& d, std::string_view key) {
  auto n = d.number(key);
  if (!n) return std::unexpected(n.error());
  if (*n && **n < 0) return std::unexpected(d.error(key, "must not be negative"));
  return *n;
}

core::Result<std::int64_t> rows_of(const Doc& d) {
  if (d.has("rows_written") && d.has("rows")) {
    return std::unexpected(d.error("rows", "give rows_written or rows, not both"));
  }
  const std::string_view key = d.has("rows") ? "rows" : "rows_written";
  auto n = d.number(key);
  if (!n) return std::unexpected(n.error());
  if (!*n) return 0;
  if (**n != std::floor(**n) || **n < 0 || **n > 9e15) {
    return std::unexpected(d.error(key, "must be a whole number ≥ 0"));
  }
  return static_cast<std::int64_t>(**n);
}

core::Result<IngestResult> read_result(const Doc& d, std::optional<std::string> hint) {
  if (auto ok = d.only({"dimension", "rows_written", "rows", "symbols", "start_ts", "end_ts",
                        "ingest_duration_seconds", "freshness_seconds", "source", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  IngestResult r;
  auto dimension = d.text("dimension");
  if (!dimension) return std::unexpected(dimension.error());
  if (*dimension) {
    r.dimension = canonical_dimension(**dimension);
    if (hint && *hint != r.dimension) {
      return std::unexpected(
          d.error("dimension", "'" + **dimension + "' does not match its key '" + *hint + "'"));
    }
  } else if (hint) {
    r.dimension = *hint;
  }
  if (r.dimension.empty()) {
    return std::unexpected(d.error("dimension", "required field is missing"));
  }
  auto rows = rows_of(d);
  if (!rows) return std::unexpected(rows.error());
  r.rows_written = *rows;
  auto symbols = d.strings("symbols");
  if (!symbols) return std::unexpected(symbols.error());
  r.symbols = std::move(*symbols);
  auto start = d.time("start_ts");
  if (!start) return std::unexpected(start.error());
  r.start_ts = *start;
  auto end = d.time("end_ts");
  if (!end) return std::unexpected(end.error());
  r.end_ts = *end;
  auto duration = non_negative(d, "ingest_duration_seconds");
  if (!duration) return std::unexpected(duration.error());
  r.ingest_duration_seconds = *duration;
  auto freshness = non_negative(d, "freshness_seconds");
  if (!freshness) return std::unexpected(freshness.error());
  r.freshness_seconds = *freshness;
  auto source = d.text("source");
  if (!source) return std::unexpected(source.error());
  r.source = std::move(*source);
  if (auto m = d.object("metadata"); !m) return std::unexpected(m.error());
  return r;
}

// ---- The plan ---------------------------------------------------------------------------------

struct Plan {
  std::vector<std::string> dimensions;  // planned, in the original's order
  std::map<std::string, std::vector<std::string>> expected;
};

core::Result<Plan> read_plan(const std::optional<Doc>& plan) {
  Plan out;
  if (!plan) return out;
  if (auto ok = plan->only(
          {"daily_bars", "daily", "intraday_trades", "intraday", "macro_events", "macro"});
      !ok) {
    return std::unexpected(ok.error());
  }
  const std::array<std::string_view, 3> aliases = {"daily", "intraday", "macro"};
  for (std::size_t i = 0; i < kPlanned.size(); ++i) {
    const std::string_view dim = kPlanned[i];
    if (plan->has(dim) && plan->has(aliases[i])) {
      return std::unexpected(plan->error(
          aliases[i], "names the same slice as " + std::string(dim) + "; give one of them"));
    }
    const std::string_view key = plan->has(dim) ? dim : aliases[i];
    auto slice = plan->object(key);
    if (!slice) return std::unexpected(slice.error());
    if (!*slice) continue;
    const Doc& s = **slice;
    out.dimensions.emplace_back(dim);
    if (dim == "macro_events") {
      if (auto ok = s.only({"events", "start", "end", "source"}); !ok) {
        return std::unexpected(ok.error());
      }
      for (std::string_view k : {"start", "end", "source"}) {
        if (auto t = s.text(k); !t) return std::unexpected(t.error());
      }
      auto events = s.array("events");
      if (!events) return std::unexpected(events.error());
      std::vector<std::string> names;
      if (*events != nullptr) {
        for (std::size_t e = 0; e < (*events)->size(); ++e) {
          const nlohmann::json& ev = (**events)[e];
          const std::string path = s.path_of("events") + "[" + std::to_string(e) + "]";
          if (ev.is_string()) {
            if (!core::trim(ev.get_ref<const std::string&>()).empty()) {
              names.emplace_back(core::trim(ev.get_ref<const std::string&>()));
            }
            continue;
          }
          if (!ev.is_object()) {
            return core::fail("invalid_document", "must be an event name or an event object", path);
          }
          // A macro event record is free-form; only its name matters here.
          Doc event(ev, path);
          auto name = event.text("event_name");
          if (!name) return std::unexpected(name.error());
          if (!*name || name->value().empty()) {
            name = event.text("name");
            if (!name) return std::unexpected(name.error());
          }
          if (*name && !name->value().empty()) names.push_back(**name);
        }
      }
      if (!names.empty()) out.expected[std::string(dim)] = std::move(names);
    } else {
      std::vector<std::string_view> known = {"symbols", "lookback_days", "source"};
      if (dim == "intraday_trades") known.emplace_back("interval");
      if (auto ok = s.only(known); !ok) return std::unexpected(ok.error());
      if (auto n = s.number("lookback_days"); !n) return std::unexpected(n.error());
      for (std::string_view k : {"source", "interval"}) {
        if (auto t = s.text(k); !t) return std::unexpected(t.error());
      }
      auto symbols = s.strings("symbols");
      if (!symbols) return std::unexpected(symbols.error());
      out.expected[std::string(dim)] = std::move(*symbols);
    }
  }
  return out;
}

// ---- The failover policy ----------------------------------------------------------------------

struct Policy {
  std::vector<core::Status> triggers;
  bool require_rows = true;
  bool fail_on_missing_symbols = true;
  std::vector<std::string> optional_dimensions;
};

core::Result<std::vector<core::Status>> trigger_words(const std::vector<std::string>& words,
                                                      const Doc* doc, std::string_view key) {
  std::vector<core::Status> out;
  for (const auto& w : words) {
    const std::string lw = core::to_lower(core::trim(w));
    if (lw != "ok" && lw != "warn" && lw != "error") {
      const std::string message = "'" + w + "' is not an ingest health status (ok, warn, error)";
      if (doc != nullptr) return std::unexpected(doc->error(key, message));
      return core::fail("invalid_parameter", message, std::string(key));
    }
    out.push_back(lw == "ok"     ? core::Status::kOk
                  : lw == "warn" ? core::Status::kWarn
                                 : core::Status::kFail);
  }
  return out;
}

core::Result<Policy> read_policy(const std::optional<Doc>& doc, const FailoverDrillConfig& c) {
  Policy p{.require_rows = c.require_rows, .fail_on_missing_symbols = c.fail_on_missing_symbols};
  auto triggers = trigger_words(c.trigger_statuses, nullptr, "trigger_statuses");
  if (!triggers) return std::unexpected(triggers.error());
  p.triggers = std::move(*triggers);
  for (const auto& d : c.optional_dimensions)
    push_unique(p.optional_dimensions, canonical_dimension(d));
  if (!doc) return p;
  if (auto ok = doc->only(
          {"trigger_statuses", "require_rows", "fail_on_missing_symbols", "optional_dimensions"});
      !ok) {
    return std::unexpected(ok.error());
  }
  if (doc->has("trigger_statuses")) {
    auto words = doc->strings("trigger_statuses");
    if (!words) return std::unexpected(words.error());
    auto t = trigger_words(*words, &*doc, "trigger_statuses");
    if (!t) return std::unexpected(t.error());
    p.triggers = std::move(*t);
  }
  auto rows = doc->boolean("require_rows");
  if (!rows) return std::unexpected(rows.error());
  p.require_rows = rows->value_or(p.require_rows);
  auto missing = doc->boolean("fail_on_missing_symbols");
  if (!missing) return std::unexpected(missing.error());
  p.fail_on_missing_symbols = missing->value_or(p.fail_on_missing_symbols);
  if (doc->has("optional_dimensions")) {
    auto dims = doc->strings("optional_dimensions");
    if (!dims) return std::unexpected(dims.error());
    p.optional_dimensions.clear();
    for (const auto& d : *dims) push_unique(p.optional_dimensions, canonical_dimension(d));
  }
  return p;
}

// ---- Ingest health (spec §6.1) -----------------------------------------------------------------

struct Check {
  std::string dimension;
  core::Status status = core::Status::kOk;
  std::string message;
  std::int64_t rows_written = 0;
  std::optional<double> freshness_seconds;
  std::vector<std::string> expected, observed, missing;
  std::optional<double> ingest_duration_seconds;
  nlohmann::json metadata = nlohmann::json::object();

  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json j = {{"dimension", dimension},
                        {"status", health_word(status)},
                        {"message", message},
                        {"rows_written", rows_written},
                        {"freshness_seconds", optional_json(freshness_seconds)},
                        {"observed_symbols", observed}};
    if (!expected.empty()) j["expected_symbols"] = expected;
    if (!missing.empty()) j["missing_symbols"] = missing;
    if (ingest_duration_seconds) j["ingest_duration_seconds"] = *ingest_duration_seconds;
    if (!metadata.empty()) j["metadata"] = metadata;
    return j;
  }
};

struct Thresholds {
  std::optional<double> freshness_sla;
  std::int64_t min_rows = 0;
};

Thresholds thresholds_for(std::string_view dim, const FailoverDrillConfig& c) {
  if (dim == "daily_bars") {
    return {core::to_seconds(c.daily_bars_freshness_sla), c.daily_bars_min_rows};
  }
  if (dim == "intraday_trades") {
    return {core::to_seconds(c.intraday_trades_freshness_sla), c.intraday_trades_min_rows};
  }
  if (dim == "macro_events") {
    return {core::to_seconds(c.macro_events_freshness_sla), c.macro_events_min_rows};
  }
  return {};
}

Check check_dimension(const std::string& dim, const IngestResult& r, const Plan& plan,
                      const FailoverDrillConfig& c) {
  Check k{.dimension = dim,
          .rows_written = r.rows_written,
          .freshness_seconds = r.freshness_seconds,
          .observed = r.symbols,
          .ingest_duration_seconds = r.ingest_duration_seconds};
  if (const auto it = plan.expected.find(dim); it != plan.expected.end()) k.expected = it->second;
  for (const auto& s : k.expected) {
    if (!contains(k.observed, s)) k.missing.push_back(s);
  }
  const bool planned = contains(plan.dimensions, dim);
  const Thresholds t = thresholds_for(dim, c);
  std::vector<std::string> messages;
  const auto raise = [&](core::Status s, std::string m) {
    k.status = core::escalate(k.status, s);
    messages.push_back(std::move(m));
  };
  if (planned && r.rows_written == 0) {
    raise(k.expected.empty() ? core::Status::kWarn : core::Status::kFail,
          "No rows ingested for planned slice");
  } else if (t.min_rows > 0 && r.rows_written < t.min_rows) {
    raise(core::Status::kWarn, "Rows below threshold (" + std::to_string(r.rows_written) + " < " +
                                   std::to_string(t.min_rows) + ")");
  }
  if (!k.expected.empty()) {
    if (!k.missing.empty() && k.missing.size() == k.expected.size()) {
      raise(core::Status::kFail, "All expected symbols missing from ingest result");
    } else if (!k.missing.empty()) {
      raise(core::Status::kWarn, "Missing symbols: " + core::join(k.missing, ", "));
    }
  }
  if (!r.freshness_seconds) {
    if (planned) raise(core::Status::kWarn, "Freshness metric unavailable");
  } else if (t.freshness_sla && *r.freshness_seconds > *t.freshness_sla) {
    raise(core::Status::kWarn, "Freshness " + fixed(*r.freshness_seconds, 0) + "s exceeds SLA " +
                                   fixed(*t.freshness_sla, 0) + "s");
  }
  if (messages.empty()) messages.emplace_back("Ingest healthy");
  k.message = core::join(messages, "; ");
  if (t.freshness_sla) k.metadata["freshness_sla_seconds"] = *t.freshness_sla;
  if (t.min_rows > 0) k.metadata["min_rows_required"] = t.min_rows;
  if (r.source && !r.source->empty()) k.metadata["source"] = *r.source;
  return k;
}

// ---- The drill (spec §6.2) ---------------------------------------------------------------------

struct Fallback {
  bool executed = false;
  std::optional<std::string> error;
};

struct DrillInput {
  std::string scenario;
  core::TimePoint generated_at{};
  Plan plan;
  std::map<std::string, IngestResult> results;
  std::vector<std::string> fail_dimensions;
  std::optional<Fallback> fallback;  // none: no fallback supplied
  Policy policy;
  nlohmann::json metadata = nlohmann::json::object();  // the caller's
};

FailoverDrillReport run_drill(const DrillInput& in, const FailoverDrillConfig& c) {
  const std::string when = core::format_rfc3339(in.generated_at);
  std::map<std::string, IngestResult> simulated = in.results;
  const std::vector<std::string>& targeted = in.fail_dimensions;
  for (const auto& dim : targeted) {
    IngestResult empty{.dimension = dim, .ingest_duration_seconds = 0.0};
    if (const auto prior = in.results.find(dim); prior != in.results.end()) {
      empty.source = prior->second.source;
    }
    simulated[dim] = std::move(empty);
  }

  // Ingest health over the union of the result dimensions and the planned ones, sorted.
  std::set<std::string> observed_dims;
  for (const auto& [dim, r] : simulated) observed_dims.insert(dim);
  for (const auto& dim : in.plan.dimensions) observed_dims.insert(dim);
  std::vector<Check> checks;
  core::Status health = core::Status::kOk;
  for (const auto& dim : observed_dims) {
    const auto it = simulated.find(dim);
    // A planned dimension without a result reads as an empty one (TimescaleIngestResult.empty).
    const IngestResult r = it != simulated.end()
                               ? it->second
                               : IngestResult{.dimension = dim, .ingest_duration_seconds = 0.0};
    checks.push_back(check_dimension(dim, r, in.plan, c));
    health = core::escalate(health, checks.back().status);
  }
  std::vector<std::string> planned_sorted = in.plan.dimensions;
  std::sort(planned_sorted.begin(), planned_sorted.end());
  nlohmann::json health_metadata = {
      {"planned_dimensions", planned_sorted},
      {"observed_dimensions",
       std::vector<std::string>(observed_dims.begin(), observed_dims.end())}};
  for (const auto& [k, v] : in.metadata.items()) health_metadata[k] = v;
  health_metadata["drill"] = {{"scenario", in.scenario}, {"dimensions", targeted}};
  nlohmann::json check_json = nlohmann::json::array();
  for (const auto& k : checks) check_json.push_back(k.to_json());

  // The failover decision.
  const auto is_trigger = [&](core::Status s) {
    return std::find(in.policy.triggers.begin(), in.policy.triggers.end(), s) !=
           in.policy.triggers.end();
  };
  std::vector<std::string> required, optional, reasons;
  for (const auto& dim : in.plan.dimensions) {
    const auto check = std::find_if(checks.begin(), checks.end(),
                                    [&](const Check& k) { return k.dimension == dim; });
    std::vector<std::string>& bucket =
        contains(in.policy.optional_dimensions, dim) ? optional : required;
    if (check == checks.end()) {
      push_unique(bucket, dim);
      reasons.push_back("missing health check for " + dim);
      continue;
    }
    if (in.policy.require_rows && check->rows_written == 0) {
      push_unique(bucket, dim);
      reasons.push_back(dim + " produced zero rows");
    }
    if (in.policy.fail_on_missing_symbols && !check->missing.empty()) {
      push_unique(bucket, dim);
      reasons.push_back(dim + " missing symbols: " + core::join(check->missing, ", "));
    }
    if (is_trigger(check->status)) {
      push_unique(bucket, dim);
      reasons.push_back(dim + " status=" + std::string(health_word(check->status)));
    }
  }
  bool failover = !required.empty();
  if (!failover && is_trigger(health) && optional.empty()) {
    failover = true;
    reasons.push_back("overall status=" + std::string(health_word(health)));
  }
  std::optional<std::string> reason;
  if (failover) {
    std::vector<std::string> unique;
    for (const auto& r : reasons) push_unique(unique, r);
    reason = core::join(unique, "; ");
  }

  // The fallback as the drill recorded it: only a triggered failover runs it.
  bool executed = false;
  std::optional<std::string> fallback_error;
  if (failover && in.fallback && in.fallback->executed) {
    executed = true;
    fallback_error = in.fallback->error;
  }

  FailoverDrillReport out;
  out.generated_at = in.generated_at;
  out.scenario = in.scenario;
  out.health_report = {{"status", health_word(health)},
                       {"generated_at", when},
                       {"checks", check_json},
                       {"metadata", health_metadata}};
  out.failover_decision = {{"should_failover", failover},
                           {"status", health_word(health)},
                           {"reason", reason ? nlohmann::json(*reason) : nlohmann::json(nullptr)},
                           {"generated_at", when},
                           {"triggered_dimensions", required},
                           {"optional_triggers", optional},
                           {"planned_dimensions", in.plan.dimensions},
                           {"metadata", health_metadata}};

  out.components.push_back({.name = "health",
                            .status = health,
                            .summary = "health status " + std::string(health_word(health)),
                            .metadata = {{"checks", check_json}}});
  DrillComponent fo{
      .name = "failover",
      .metadata = {
          {"targeted", targeted}, {"triggered", required}, {"optional_triggers", optional}}};
  if (failover) {
    fo.status = required.empty() ? core::Status::kWarn : core::Status::kOk;
    fo.summary = reason && !reason->empty() ? *reason : "failover triggered";
  } else {
    fo.status = targeted.empty() ? core::Status::kOk : core::Status::kWarn;
    fo.summary = "failover not triggered";
  }
  DrillComponent fb{.name = "fallback",
                    .metadata = {{"executed", executed},
                                 {"error", fallback_error ? nlohmann::json(*fallback_error)
                                                          : nlohmann::json(nullptr)}}};
  if (failover) {
    if (!executed) {
      fb.status = core::Status::kWarn;
      fb.summary = "fallback not provided";
    } else if (fallback_error) {
      fb.status = core::Status::kFail;
      fb.summary = "fallback failed: " + *fallback_error;
    } else {
      fb.summary = "fallback executed";
    }
  } else if (!targeted.empty()) {
    fb.status = core::Status::kWarn;
    fb.summary = "no fallback required for simulated outage";
  } else {
    fb.summary = "no failover scenario configured";
  }
  out.status = core::escalate(fo.status, fb.status);
  out.components.push_back(std::move(fo));
  out.components.push_back(std::move(fb));

  out.metadata = in.metadata;
  const auto set_default = [&](const char* key, nlohmann::json v) {
    if (!out.metadata.contains(key)) out.metadata[key] = std::move(v);
  };
  set_default("requested_dimensions", targeted);
  set_default("targeted_dimensions", targeted);
  set_default("failover_triggered", failover);
  set_default("fallback", {{"executed", executed},
                           {"error", fallback_error ? nlohmann::json(*fallback_error)
                                                    : nlohmann::json(nullptr)}});
  return out;
}

core::Result<std::optional<Fallback>> read_fallback(const Doc& root) {
  auto f = root.object("fallback");
  if (!f) return std::unexpected(f.error());
  if (!*f) return std::optional<Fallback>();
  const Doc& d = **f;
  if (auto ok = d.only({"executed", "error"}); !ok) return std::unexpected(ok.error());
  auto executed = d.boolean("executed");
  if (!executed) return std::unexpected(executed.error());
  if (!*executed) return std::unexpected(d.error("executed", "required field is missing"));
  auto error = d.text("error");
  if (!error) return std::unexpected(error.error());
  Fallback out{.executed = **executed};
  if (*error && !(*error)->empty()) out.error = **error;
  if (out.error && !out.executed) {
    return std::unexpected(
        d.error("executed", "is false, but an error is recorded (the fallback ran and failed?)"));
  }
  return std::optional<Fallback>(out);
}

core::Result<FailoverDrillDocument> read_input(const Doc& root, core::TimePoint now,
                                               const FailoverDrillConfig& c) {
  if (auto ok = root.only({"generated_at", "scenario", "plan", "results", "fail_dimensions",
                           "fallback", "failover_policy", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  DrillInput in;
  auto generated = root.time("generated_at");
  if (!generated) return std::unexpected(generated.error());
  in.generated_at = generated->value_or(now);
  auto scenario = root.text("scenario");
  if (!scenario) return std::unexpected(scenario.error());
  in.scenario = scenario->value_or(c.scenario);
  auto plan_doc = root.object("plan");
  if (!plan_doc) return std::unexpected(plan_doc.error());
  auto plan = read_plan(*plan_doc);
  if (!plan) return std::unexpected(plan.error());
  in.plan = std::move(*plan);
  auto results = read_ingest_results(root, "results");
  if (!results) return std::unexpected(results.error());
  if (results->empty()) {
    return std::unexpected(root.error("results", "no ingest results (a drill needs at least one)"));
  }
  in.results = std::move(*results);
  if (root.has("fail_dimensions")) {
    auto dims = root.strings("fail_dimensions");
    if (!dims) return std::unexpected(dims.error());
    for (const auto& d : *dims) push_unique(in.fail_dimensions, canonical_dimension(d));
  } else if (!c.dimensions.empty()) {
    for (const auto& d : c.dimensions) push_unique(in.fail_dimensions, canonical_dimension(d));
  } else {
    for (const auto& [dim, r] : in.results) in.fail_dimensions.push_back(dim);
  }
  auto fallback = read_fallback(root);
  if (!fallback) return std::unexpected(fallback.error());
  in.fallback = *fallback;
  auto policy_doc = root.object("failover_policy");
  if (!policy_doc) return std::unexpected(policy_doc.error());
  auto policy = read_policy(*policy_doc, c);
  if (!policy) return std::unexpected(policy.error());
  in.policy = std::move(*policy);
  auto metadata = root.object("metadata");
  if (!metadata) return std::unexpected(metadata.error());
  if (*metadata) in.metadata = (*metadata)->json();
  return FailoverDrillDocument{.evaluated = false, .report = run_drill(in, c)};
}

core::Result<FailoverDrillDocument> read_evaluated(const Doc& root, core::TimePoint now,
                                                   const FailoverDrillConfig& c) {
  if (auto ok = root.only({"status", "generated_at", "scenario", "components", "health_report",
                           "failover_decision", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  FailoverDrillDocument out{.evaluated = true};
  FailoverDrillReport& r = out.report;
  auto status = required_status(root, "status");
  if (!status) return std::unexpected(status.error());
  r.status = *status;
  auto generated = root.time("generated_at");
  if (!generated) return std::unexpected(generated.error());
  r.generated_at = generated->value_or(now);
  auto scenario = root.text("scenario");
  if (!scenario) return std::unexpected(scenario.error());
  r.scenario = scenario->value_or(c.scenario);
  auto components = named_statuses(root, "components");
  if (!components) return std::unexpected(components.error());
  r.components = std::move(*components);
  for (const auto& [key, target] :
       {std::pair{"health_report", &r.health_report},
        std::pair{"failover_decision", &r.failover_decision}, std::pair{"metadata", &r.metadata}}) {
    auto o = root.object(key);
    if (!o) return std::unexpected(o.error());
    if (*o) *target = (*o)->json();
  }
  return out;
}

std::string summary_of(const FailoverDrillReport& r) {
  std::vector<std::string> parts;
  for (const auto& c : r.components) {
    if (c.name != "health") parts.push_back(c.summary);
  }
  std::string s = "Failover drill (" + r.scenario + ") " + std::string(core::to_string(r.status));
  return parts.empty() ? s : s + ": " + core::join(parts, "; ");
}

}  // namespace

std::string canonical_dimension(std::string_view name) {
  const std::string_view n = core::trim(name);
  if (n == "daily") return "daily_bars";
  if (n == "intraday") return "intraday_trades";
  if (n == "macro") return "macro_events";
  return std::string(n);
}

core::Result<void> validate(const FailoverDrillConfig& c) {
  if (c.scenario.empty()) return core::fail("invalid_parameter", "must not be empty", "scenario");
  for (const auto& d : c.dimensions) {
    if (core::trim(d).empty()) {
      return core::fail("invalid_parameter", "must not hold an empty name", "dimensions");
    }
  }
  for (const auto& [v, field] :
       {std::pair{c.daily_bars_freshness_sla, "daily_bars_freshness_sla"},
        std::pair{c.intraday_trades_freshness_sla, "intraday_trades_freshness_sla"},
        std::pair{c.macro_events_freshness_sla, "macro_events_freshness_sla"}}) {
    if (v <= core::Duration::zero())
      return core::fail("invalid_parameter", "must be positive", field);
  }
  if (auto t = trigger_words(c.trigger_statuses, nullptr, "trigger_statuses"); !t) {
    return std::unexpected(t.error());
  }
  for (const auto& d : c.optional_dimensions) {
    if (core::trim(d).empty()) {
      return core::fail("invalid_parameter", "must not hold an empty name", "optional_dimensions");
    }
  }
  return {};
}

core::Result<std::map<std::string, IngestResult>> read_ingest_results(const Doc& parent,
                                                                      std::string_view key) {
  std::map<std::string, IngestResult> out;
  const nlohmann::json* v = parent.get(key);
  if (v == nullptr) return out;
  const std::string path = parent.path_of(key);
  const auto keep = [&](IngestResult r, const Doc& d) -> core::Result<void> {
    const std::string dim = r.dimension;
    if (!out.emplace(dim, std::move(r)).second) {
      return std::unexpected(d.error("dimension", "dimension '" + dim + "' is given twice"));
    }
    return {};
  };
  if (v->is_array()) {
    for (std::size_t i = 0; i < v->size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      if (!(*v)[i].is_object())
        return core::fail("invalid_document", "must be an object", item_path);
      Doc d((*v)[i], item_path);
      auto r = read_result(d, std::nullopt);
      if (!r) return std::unexpected(r.error());
      if (auto ok = keep(std::move(*r), d); !ok) return std::unexpected(ok.error());
    }
    return out;
  }
  if (!v->is_object()) {
    return std::unexpected(parent.error(
        key, "must be an object keyed by dimension, one result object or a list of results"));
  }
  if (v->contains("dimension")) {
    Doc d(*v, path);
    auto r = read_result(d, std::nullopt);
    if (!r) return std::unexpected(r.error());
    if (auto ok = keep(std::move(*r), d); !ok) return std::unexpected(ok.error());
    return out;
  }
  for (const auto& [dim, item] : v->items()) {
    const std::string item_path = path + "." + dim;
    if (!item.is_object()) return core::fail("invalid_document", "must be an object", item_path);
    Doc d(item, item_path);
    const std::string hint = canonical_dimension(dim);
    if (hint.empty()) return core::fail("invalid_document", "empty dimension name", item_path);
    auto r = read_result(d, hint);
    if (!r) return std::unexpected(r.error());
    if (auto ok = keep(std::move(*r), d); !ok) return std::unexpected(ok.error());
  }
  return out;
}

nlohmann::json to_json(const FailoverDrillReport& r) {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& c : r.components) {
    nlohmann::json j = {
        {"name", c.name}, {"status", core::to_string(c.status)}, {"summary", c.summary}};
    if (!c.metadata.empty()) j["metadata"] = c.metadata;
    components.push_back(std::move(j));
  }
  return {{"status", core::to_string(r.status)},
          {"generated_at", core::format_rfc3339(r.generated_at)},
          {"scenario", r.scenario},
          {"components", std::move(components)},
          {"health_report", r.health_report},
          {"failover_decision", r.failover_decision},
          {"metadata", r.metadata}};
}

std::string components_table(const FailoverDrillReport& r) {
  std::vector<std::string> rows = {"| Component | Status | Summary |", "| --- | --- | --- |"};
  for (const auto& c : r.components) {
    rows.push_back("| " + core::markdown_inline(c.name) + " | " +
                   core::to_upper(core::to_string(c.status)) + " | " +
                   core::markdown_inline(c.summary) + " |");
  }
  return core::join(rows, "\n");
}

std::string to_markdown(const FailoverDrillReport& r) {
  std::vector<std::string> lines = {
      "# Timescale Failover Drill (" + core::markdown_inline(r.scenario) + ")", "",
      "- Status: " + core::to_upper(core::to_string(r.status)),
      "- Generated at: " + core::format_rfc3339(r.generated_at)};
  if (const auto it = r.metadata.find("requested_dimensions");
      it != r.metadata.end() && it->is_array() && !it->empty()) {
    std::vector<std::string> dims;
    for (const auto& d : *it) dims.push_back(d.is_string() ? d.get<std::string>() : d.dump());
    lines.push_back("- Requested dimensions: " + core::markdown_inline(core::join(dims, ", ")));
  }
  lines.emplace_back("");
  lines.emplace_back("## Components");
  lines.push_back(components_table(r));
  return core::join(lines, "\n");
}

Findings drill_findings(const FailoverDrillReport& r) {
  Findings f{std::string(kFailoverDrillName)};

  for (const auto& c : r.components) {
    if (c.name == "health") {
      // The outage the drill simulates makes health fail: its findings are expected (info).
      bool any = false;
      const auto checks = c.metadata.find("checks");
      if (checks != c.metadata.end() && checks->is_array()) {
        for (const auto& k : *checks) {
          if (!k.is_object()) continue;
          const auto dim = k.find("dimension");
          const auto st = k.find("status");
          if (dim == k.end() || !dim->is_string() || st == k.end() || !st->is_string()) continue;
          const auto parsed = core::parse_status(st->get<std::string>());
          if (!parsed || *parsed == core::Status::kOk) continue;
          const auto msg = k.find("message");
          const std::string text =
              msg != k.end() && msg->is_string() ? msg->get<std::string>() : "";
          f.add("health", core::Status::kOk,
                dim->get<std::string>() + " " + st->get<std::string>() + ": " + text,
                "failover_drill.health:" + slug(dim->get<std::string>()),
                {{"dimension", *dim}, {"status", *st}});
          any = true;
        }
      }
      if (!any && c.status != core::Status::kOk) {
        f.add("health", core::Status::kOk, "health: " + c.summary, "failover_drill.health");
      }
      continue;
    }
    if (c.status == core::Status::kOk) continue;
    f.add(slug(c.name), c.status, c.name + ": " + c.summary, "failover_drill." + slug(c.name));
  }
  return f;
}

core::Result<FailoverDrillDocument> read_failover_drill_document(const Doc& doc,
                                                                 core::TimePoint now,
                                                                 const FailoverDrillConfig& c) {
  if (doc.has("status")) return read_evaluated(doc, now, c);
  if (doc.has("results")) return read_input(doc, now, c);
  if (auto ok = doc.only({"generated_at", "scenario", "plan", "results", "fail_dimensions",
                          "fallback", "failover_policy", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  return std::unexpected(doc.error("",
                                   "a failover-drill document needs `results` (an input) or "
                                   "`status` (an evaluated snapshot)"));
}

FailoverDrill::FailoverDrill(const FailoverDrillConfig& config)
    : DocumentComponent(std::string(kFailoverDrillName), "operational.failover_drill",
                        {std::string(kFailoverDrillTopic)}),
      config_(config) {}

core::Result<std::unique_ptr<FailoverDrill>> FailoverDrill::create(
    const FailoverDrillConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<FailoverDrill>(new FailoverDrill(config));
}

core::Result<Evaluated> FailoverDrill::evaluate(const nlohmann::json& doc, core::TimePoint now) {
  auto root = root_object(doc, "a failover-drill document");
  if (!root) return std::unexpected(root.error());
  auto read = read_failover_drill_document(*root, now, config_);
  if (!read) return std::unexpected(read.error());
  const FailoverDrillReport& r = read->report;
  const Findings findings = drill_findings(r);
  auto e = evaluated_report(
      kFailoverDrillName, read->evaluated, doc, now,
      ReportView{.status = r.status,
                 .summary = summary_of(r),
                 .observed_at = r.generated_at,
                 .metadata = &r.metadata},
      [&] { return to_json(r); }, findings, to_markdown(r));
  if (!e) return std::unexpected(e.error());
  return e;
}

}  // namespace opsready::components
