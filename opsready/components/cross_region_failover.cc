#include "opsready/components/cross_region_failover.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "opsready/components/failover_drill.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

nlohmann::json optional_seconds(const std::optional<core::Duration>& d) {
  return d ? nlohmann::json(core::to_seconds(*d)) : nlohmann::json(nullptr);
}

// One TimescaleIngestRunRecord of the replica.
struct ReplicaRecord {
  std::string status;
  std::int64_t rows_written = 0;
  core::TimePoint executed_at{};
  std::vector<std::string> symbols;
};

core::Result<ReplicaRecord> read_record(const Doc& d, const std::optional<std::string>& hint) {
  if (auto ok =
          d.only({"run_id", "dimension", "status", "rows_written", "rows", "freshness_seconds",
                  "ingest_duration_seconds", "executed_at", "source", "symbols", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  ReplicaRecord r;
  auto dimension = d.text("dimension");
  if (!dimension) return std::unexpected(dimension.error());
  if (*dimension && hint && canonical_dimension(**dimension) != *hint) {
    return std::unexpected(
        d.error("dimension", "'" + **dimension + "' does not match its key '" + *hint + "'"));
  }
  auto status = d.text("status");
  if (!status) return std::unexpected(status.error());
  if (!*status) return std::unexpected(d.error("status", "required field is missing"));
  r.status = std::string(core::trim(**status));
  if (d.has("rows_written") && d.has("rows")) {
    return std::unexpected(d.error("rows", "give rows_written or rows, not both"));
  }
  const std::string_view rows_key = d.has("rows") ? "rows" : "rows_written";
  auto rows = d.number(rows_key);
  if (!rows) return std::unexpected(rows.error());
  if (*rows) {
    if (**rows != std::floor(**rows) || **rows < 0 || **rows > 9e15) {
      return std::unexpected(d.error(rows_key, "must be a whole number ≥ 0"));
    }
    r.rows_written = static_cast<std::int64_t>(**rows);
  }
  auto executed = d.time("executed_at");
  if (!executed) return std::unexpected(executed.error());
  if (!*executed) return std::unexpected(d.error("executed_at", "required field is missing"));
  r.executed_at = **executed;
  auto symbols = d.strings("symbols");
  if (!symbols) return std::unexpected(symbols.error());
  r.symbols = std::move(*symbols);
  for (std::string_view k : {"freshness_seconds", "ingest_duration_seconds"}) {
    if (auto n = d.number(k); !n) return std::unexpected(n.error());
  }
  for (std::string_view k : {"run_id", "source"}) {
    if (auto t = d.text(k); !t) return std::unexpected(t.error());
  }
  if (auto m = d.object("metadata"); !m) return std::unexpected(m.error());
  return r;
}

// replica_records: an object keyed by dimension or a list of records with `dimension`.
core::Result<std::map<std::string, ReplicaRecord>> read_records(const Doc& root) {
  std::map<std::string, ReplicaRecord> out;
  const nlohmann::json* v = root.get("replica_records");
  if (v == nullptr) return out;
  const std::string path = root.path_of("replica_records");
  const auto keep = [&](const std::string& dim, ReplicaRecord r,
                        const Doc& d) -> core::Result<void> {
    if (!out.emplace(dim, std::move(r)).second) {
      return std::unexpected(d.error("dimension", "dimension '" + dim + "' is given twice"));
    }
    return {};
  };
  if (v->is_array()) {
    for (std::size_t i = 0; i < v->size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      if (!(*v)[i].is_object()) {
        return core::fail("invalid_document", "must be an object", item_path);
      }
      Doc d((*v)[i], item_path);
      auto dim = d.text("dimension");
      if (!dim) return std::unexpected(dim.error());
      if (!*dim) return std::unexpected(d.error("dimension", "required field is missing"));
      auto r = read_record(d, std::nullopt);
      if (!r) return std::unexpected(r.error());
      if (auto ok = keep(canonical_dimension(**dim), std::move(*r), d); !ok) {
        return std::unexpected(ok.error());
      }
    }
    return out;
  }
  if (!v->is_object()) {
    return std::unexpected(
        root.error("replica_records", "must be an object keyed by dimension or a list"));
  }
  for (const auto& [key, item] : v->items()) {
    const std::string item_path = path + "." + key;
    if (!item.is_object()) return core::fail("invalid_document", "must be an object", item_path);
    Doc d(item, item_path);
    const std::string dim = canonical_dimension(key);
    auto r = read_record(d, dim);
    if (!r) return std::unexpected(r.error());
    if (auto ok = keep(dim, std::move(*r), d); !ok) return std::unexpected(ok.error());
  }
  return out;
}

RegionComponent replica_component(const std::string& dim, core::TimePoint generated_at,
                                  const IngestResult* primary, const ReplicaRecord* replica,
                                  const CrossRegionFailoverConfig& c) {
  const double warn_after = core::to_seconds(c.warn_after);
  const double fail_after = core::to_seconds(c.fail_after);
  RegionComponent out{.name = "replica:" + dim,
                      .metadata = {{"dimension", dim},
                                   {"warn_after_seconds", warn_after},
                                   {"fail_after_seconds", fail_after},
                                   {"max_row_difference_ratio", c.max_row_difference_ratio}}};
  if (replica == nullptr) {
    out.status = core::Status::kFail;
    out.summary = "Replica ingest record missing";
    return out;
  }
  out.metadata["replica_status"] = replica->status;
  out.metadata["replica_rows"] = replica->rows_written;
  out.metadata["replica_executed_at"] = core::format_rfc3339(replica->executed_at);
  out.metadata["replica_symbols"] = replica->symbols;
  std::vector<std::string> parts;
  const std::string status_word = core::to_lower(replica->status);
  if (status_word != "ok" && status_word != "skipped") {
    out.status = core::Status::kWarn;
    parts.push_back("status " + replica->status);
  }
  const double lag = std::abs(core::to_seconds(generated_at - replica->executed_at));
  out.metadata["lag_seconds"] = lag;
  if (lag > fail_after) {
    out.status = core::Status::kFail;
    parts.push_back("lag " + fixed(lag, 0) + "s > fail threshold");
  } else if (lag > warn_after) {
    out.status = core::escalate(out.status, core::Status::kWarn);
    parts.push_back("lag " + fixed(lag, 0) + "s > warn threshold");
  }
  if (primary != nullptr) {
    out.metadata["primary_rows"] = primary->rows_written;
    if (primary->rows_written > 0) {
      const double difference =
          static_cast<double>(std::llabs(primary->rows_written - replica->rows_written));
      const double ratio =
          difference / static_cast<double>(std::max<std::int64_t>(primary->rows_written, 1));
      out.metadata["row_difference_ratio"] = ratio;
      if (ratio > c.max_row_difference_ratio) {
        out.status = core::escalate(out.status, core::Status::kWarn);
        parts.push_back("row difference exceeds allowance");
      }
    } else {
      out.metadata["row_difference_ratio"] = 0.0;
    }
  }
  if (parts.empty()) parts.emplace_back("replica healthy");
  out.summary = core::join(parts, "; ");
  return out;
}

core::Result<RegionComponent> scheduler_component(const Doc& root,
                                                  const CrossRegionFailoverConfig& c) {
  RegionComponent out{
      .name = "scheduler",
      .metadata = {{"max_schedule_interval_seconds", optional_seconds(c.max_schedule_interval)}}};
  auto scheduler = root.object("scheduler");
  if (!scheduler) return std::unexpected(scheduler.error());
  if (*scheduler && (*scheduler)->has("status")) {
    // An IngestSchedulerSnapshot.as_dict.
    const Doc& d = **scheduler;
    if (auto ok = d.only({"status", "generated_at", "enabled", "running", "consecutive_failures",
                          "interval_seconds", "jitter_seconds", "max_failures", "last_started_at",
                          "last_completed_at", "last_success_at", "next_run_at", "issues",
                          "metadata", "markdown"});
        !ok) {
      return std::unexpected(ok.error());
    }
    auto status = required_status(d, "status");
    if (!status) return std::unexpected(status.error());
    auto issues = d.strings("issues");
    if (!issues) return std::unexpected(issues.error());
    auto interval = d.number("interval_seconds");
    if (!interval) return std::unexpected(interval.error());
    for (std::string_view k : {"generated_at", "last_started_at", "last_completed_at",
                               "last_success_at", "next_run_at"}) {
      if (auto t = d.time(k); !t) return std::unexpected(t.error());
    }
    for (std::string_view k : {"enabled", "running"}) {
      if (auto b = d.boolean(k); !b) return std::unexpected(b.error());
    }
    for (std::string_view k : {"consecutive_failures", "jitter_seconds", "max_failures"}) {
      if (auto n = d.number(k); !n) return std::unexpected(n.error());
    }
    out.metadata["snapshot"] = d.json();
    out.status = *status;
    std::vector<std::string> parts = {"Scheduler status " + std::string(core::to_string(*status))};
    if (!issues->empty()) parts.push_back(core::join(*issues, "; "));
    if (c.max_schedule_interval && *interval &&
        **interval > core::to_seconds(*c.max_schedule_interval)) {
      out.status = core::escalate(out.status, core::Status::kWarn);
      parts.emplace_back("interval exceeds cutover threshold");
    }
    out.summary = core::join(parts, "; ");
    return out;
  }
  // No scheduler telemetry: at most the schedule's configuration.
  out.status = core::Status::kWarn;
  out.summary = "Scheduler telemetry unavailable";
  if (*scheduler) {
    const Doc& d = **scheduler;
    if (auto ok = d.only({"enabled", "interval_seconds"}); !ok) {
      return core::fail("invalid_document",
                        "unknown field (a scheduler without `status` carries only its "
                        "configuration: enabled, interval_seconds)",
                        ok.error().field);
    }
    auto enabled = d.boolean("enabled");
    if (!enabled) return std::unexpected(enabled.error());
    auto interval = d.number("interval_seconds");
    if (!interval) return std::unexpected(interval.error());
    out.metadata["configured_enabled"] =
        *enabled ? nlohmann::json(**enabled) : nlohmann::json(nullptr);
    out.metadata["configured_interval_seconds"] =
        *interval ? nlohmann::json(**interval) : nlohmann::json(nullptr);
    if (*enabled && !**enabled) out.summary = "Scheduler disabled in configuration";
  }
  return out;
}

core::Result<CrossRegionDocument> read_input(const Doc& root, core::TimePoint now,
                                             const CrossRegionFailoverConfig& c) {
  if (auto ok = root.only({"generated_at", "primary_region", "replica_region", "primary_results",
                           "replica_records", "scheduler", "failover_drill", "replica_error",
                           "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  CrossRegionReport r;
  auto generated = root.time("generated_at");
  if (!generated) return std::unexpected(generated.error());
  r.generated_at = generated->value_or(now);
  auto primary_region = root.text("primary_region");
  if (!primary_region) return std::unexpected(primary_region.error());
  r.primary_region = primary_region->value_or(c.primary_region);
  auto replica_region = root.text("replica_region");
  if (!replica_region) return std::unexpected(replica_region.error());
  r.replica_region = replica_region->value_or(c.replica_region);
  auto primary = read_ingest_results(root, "primary_results");
  if (!primary) return std::unexpected(primary.error());
  auto replicas = read_records(root);
  if (!replicas) return std::unexpected(replicas.error());
  auto replica_error = root.text("replica_error");
  if (!replica_error) return std::unexpected(replica_error.error());

  if (*replica_error) {
    r.components.push_back({.name = "replica_connection",
                            .status = core::Status::kFail,
                            .summary = "Replica ingest history unavailable",
                            .metadata = {{"error", **replica_error}}});
  }
  // JSON objects carry no order: the primary's dimensions come sorted, then the replica's.
  std::vector<std::string> dims;
  for (const auto& d : c.dimensions) {
    const std::string dim = canonical_dimension(d);
    if (std::find(dims.begin(), dims.end(), dim) == dims.end()) dims.push_back(dim);
  }
  if (dims.empty()) {
    for (const auto& [dim, result] : *primary) dims.push_back(dim);
    for (const auto& [dim, record] : *replicas) {
      if (!primary->contains(dim)) dims.push_back(dim);
    }
  }
  for (const auto& dim : dims) {
    const auto p = primary->find(dim);
    const auto rep = replicas->find(dim);
    r.components.push_back(replica_component(dim, r.generated_at,
                                             p == primary->end() ? nullptr : &p->second,
                                             rep == replicas->end() ? nullptr : &rep->second, c));
  }
  auto scheduler = scheduler_component(root, c);
  if (!scheduler) return std::unexpected(scheduler.error());
  r.components.push_back(std::move(*scheduler));
  auto drill_doc = root.object("failover_drill");
  if (!drill_doc) return std::unexpected(drill_doc.error());
  if (*drill_doc) {
    // Either failover-drill form; an input is run with the default drill thresholds.
    auto drill = read_failover_drill_document(**drill_doc, r.generated_at, FailoverDrillConfig{});
    if (!drill) return std::unexpected(drill.error());
    const FailoverDrillReport& fd = drill->report;
    nlohmann::json components = to_json(fd)["components"];
    r.components.push_back(
        {.name = "failover_drill",
         .status = fd.status,
         .summary = "Failover drill status " + std::string(core::to_string(fd.status)),
         .metadata = {{"scenario", fd.scenario}, {"components", std::move(components)}}});
  }
  for (const auto& comp : r.components) r.status = core::escalate(r.status, comp.status);
  std::vector<std::string> configured_dims;
  for (const auto& d : c.dimensions) configured_dims.push_back(canonical_dimension(d));
  r.metadata = {{"settings",
                 {{"enabled", c.enabled},
                  {"primary_region", r.primary_region},
                  {"replica_region", r.replica_region},
                  {"warn_after_seconds", core::to_seconds(c.warn_after)},
                  {"fail_after_seconds", core::to_seconds(c.fail_after)},
                  {"max_row_difference_ratio", c.max_row_difference_ratio},
                  {"max_schedule_interval_seconds", optional_seconds(c.max_schedule_interval)},
                  {"dimensions", configured_dims}}}};
  auto metadata = root.object("metadata");
  if (!metadata) return std::unexpected(metadata.error());
  if (*metadata) {
    for (const auto& [k, v] : (*metadata)->json().items()) r.metadata[k] = v;
  }
  return CrossRegionDocument{.evaluated = false, .report = std::move(r)};
}

core::Result<CrossRegionDocument> read_evaluated(const Doc& root, core::TimePoint now,
                                                 const CrossRegionFailoverConfig& c) {
  if (auto ok = root.only(
          {"status", "generated_at", "primary_region", "replica_region", "components", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  CrossRegionReport r;
  auto status = required_status(root, "status");
  if (!status) return std::unexpected(status.error());
  r.status = *status;
  auto generated = root.time("generated_at");
  if (!generated) return std::unexpected(generated.error());
  r.generated_at = generated->value_or(now);
  auto primary_region = root.text("primary_region");
  if (!primary_region) return std::unexpected(primary_region.error());
  r.primary_region = primary_region->value_or(c.primary_region);
  auto replica_region = root.text("replica_region");
  if (!replica_region) return std::unexpected(replica_region.error());
  r.replica_region = replica_region->value_or(c.replica_region);
  auto components = named_statuses(root, "components");
  if (!components) return std::unexpected(components.error());
  r.components = std::move(*components);
  auto metadata = root.object("metadata");
  if (!metadata) return std::unexpected(metadata.error());
  if (*metadata) r.metadata = (*metadata)->json();
  return CrossRegionDocument{.evaluated = true, .report = std::move(r)};
}

std::string summary_of(const CrossRegionReport& r) {
  std::vector<std::string> parts;
  for (const auto& comp : r.components) {
    if (comp.status != core::Status::kOk) parts.push_back(comp.name + ": " + comp.summary);
  }
  std::string s = "Cross-region failover " + r.primary_region + " -> " + r.replica_region + " " +
                  std::string(core::to_string(r.status));
  if (!parts.empty()) return s + ": " + core::join(parts, "; ");
  return s + " (" + std::to_string(r.components.size()) + " components healthy)";
}

}  // namespace

core::Result<void> validate(const CrossRegionFailoverConfig& c) {
  if (c.primary_region.empty()) {
    return core::fail("invalid_parameter", "must not be empty", "primary_region");
  }
  if (c.replica_region.empty()) {
    return core::fail("invalid_parameter", "must not be empty", "replica_region");
  }
  if (c.warn_after < core::Duration::zero()) {
    return core::fail("invalid_parameter", "must not be negative", "warn_after");
  }
  if (c.fail_after < c.warn_after) {
    return core::fail("invalid_parameter", "must not be below warn_after", "fail_after");
  }
  if (!std::isfinite(c.max_row_difference_ratio) || c.max_row_difference_ratio < 0 ||
      c.max_row_difference_ratio > 1) {
    return core::fail("invalid_parameter", "must be a number between 0 and 1",
                      "max_row_difference_ratio");
  }
  if (c.max_schedule_interval && *c.max_schedule_interval <= core::Duration::zero()) {
    return core::fail("invalid_parameter", "must be positive (leave it unset to disable)",
                      "max_schedule_interval");
  }
  for (const auto& d : c.dimensions) {
    if (core::trim(d).empty()) {
      return core::fail("invalid_parameter", "must not hold an empty name", "dimensions");
    }
  }
  return {};
}

nlohmann::json to_json(const CrossRegionReport& r) {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& c : r.components) {
    nlohmann::json j = {
        {"name", c.name}, {"status", core::to_string(c.status)}, {"summary", c.summary}};
    if (!c.metadata.empty()) j["metadata"] = c.metadata;
    components.push_back(std::move(j));
  }
  nlohmann::json j = {{"status", core::to_string(r.status)},
                      {"generated_at", core::format_rfc3339(r.generated_at)},
                      {"primary_region", r.primary_region},
                      {"replica_region", r.replica_region},
                      {"components", std::move(components)}};
  if (!r.metadata.empty()) j["metadata"] = r.metadata;
  return j;
}

std::string to_markdown(const CrossRegionReport& r) {
  std::vector<std::string> rows = {"| Component | Status | Summary |", "| --- | --- | --- |"};
  for (const auto& c : r.components) {
    rows.push_back("| " + core::markdown_inline(c.name) + " | " +
                   core::to_upper(core::to_string(c.status)) + " | " +
                   core::markdown_inline(c.summary) + " |");
  }
  return core::join(rows, "\n");
}

Findings region_findings(const CrossRegionReport& r) {
  Findings f{std::string(kCrossRegionFailoverName)};
  for (const auto& c : r.components) {
    if (c.status == core::Status::kOk) continue;
    std::string category;
    std::string code;
    if (c.name.starts_with("replica:")) {
      category = "replica";
      code = "cross_region_failover.replica:" + slug(std::string_view(c.name).substr(8));
    } else {
      category = slug(c.name);
      code = "cross_region_failover." + category;
    }
    // Two dimensions whose names slug alike keep distinct codes (Findings::add qualifies them).
    f.add(category, c.status, c.name + ": " + c.summary, code,
          c.metadata.empty() ? nlohmann::json(nullptr) : c.metadata);
  }
  return f;
}

core::Result<CrossRegionDocument> read_cross_region_document(
    const Doc& doc, core::TimePoint now, const CrossRegionFailoverConfig& config) {
  if (doc.has("status")) return read_evaluated(doc, now, config);
  if (doc.has("primary_results") || doc.has("replica_records") || doc.has("replica_error")) {
    return read_input(doc, now, config);
  }
  if (auto ok =
          doc.only({"generated_at", "primary_region", "replica_region", "primary_results",
                    "replica_records", "scheduler", "failover_drill", "replica_error", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  return std::unexpected(doc.error(
      "",
      "a cross-region document needs primary_results / replica_records / replica_error (an "
      "input) or `status` (an evaluated snapshot)"));
}

CrossRegionFailover::CrossRegionFailover(const CrossRegionFailoverConfig& config)
    : DocumentComponent(std::string(kCrossRegionFailoverName), "operational.cross_region_failover",
                        {std::string(kCrossRegionFailoverTopic)}),
      config_(config) {}

core::Result<std::unique_ptr<CrossRegionFailover>> CrossRegionFailover::create(
    const CrossRegionFailoverConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<CrossRegionFailover>(new CrossRegionFailover(config));
}

core::Result<Evaluated> CrossRegionFailover::evaluate(const nlohmann::json& doc,
                                                      core::TimePoint now) {
  auto root = root_object(doc, "a cross-region failover document");
  if (!root) return std::unexpected(root.error());
  auto read = read_cross_region_document(*root, now, config_);
  if (!read) return std::unexpected(read.error());
  const CrossRegionReport& r = read->report;
  const Findings findings = region_findings(r);
  auto e = evaluated_report(
      kCrossRegionFailoverName, read->evaluated, doc, now,
      ReportView{.status = r.status,
                 .summary = summary_of(r),
                 .observed_at = r.generated_at,
                 .metadata = &r.metadata},
      [&] { return to_json(r); }, findings, to_markdown(r));
  if (!e) return std::unexpected(e.error());
  return e;
}

}  // namespace opsready::components
