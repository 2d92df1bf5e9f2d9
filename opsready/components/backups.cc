#include "opsready/components/backups.h"

#include <algorithm>
#include <cmath>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

// Upper bounds that keep every derived time inside TimePoint's range.
constexpr double kMaxSeconds = 3'153'600'000.0;  // 100 years
constexpr std::int64_t kMaxDays = 36'500;

const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}

std::string lower_word(const std::optional<std::string>& v) {
  return v ? core::to_lower(core::trim(*v)) : std::string();
}

// Python's int(x) of a finite double: truncation toward zero.
std::string int_text(double v) { return std::to_string(static_cast<long long>(std::trunc(v))); }

core::Duration seconds(double s) {
  return std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(s));
}

core::Result<std::optional<std::int64_t>> whole(const Doc& d, std::string_view key) {
  auto n = d.number(key);
  if (!n) return std::unexpected(n.error());
  if (!*n) return std::optional<std::int64_t>();
  const double v = **n;
  if (v != std::floor(v) || v < 0 || v > static_cast<double>(kMaxDays)) {
    return std::unexpected(d.error(key, "must be a whole number of days between 0 and 36500"));
  }
  return std::optional<std::int64_t>(static_cast<std::int64_t>(v));
}

core::Result<std::optional<double>> positive_seconds(const Doc& d, std::string_view key,
                                                     std::string_view when_absent) {
  auto n = d.number(key);
  if (!n) return std::unexpected(n.error());
  if (!*n) return std::optional<double>();
  if (**n <= 0 || **n > kMaxSeconds) {
    return std::unexpected(d.error(key, "must be a positive number of seconds (at most " +
                                            int_text(kMaxSeconds) + "); leave it out for " +
                                            std::string(when_absent)));
  }
  return *n;
}

// The key names of one document form.
struct Names {
  std::string_view enabled, frequency, retention, minimum_retention, restore_interval, warn_after,
      fail_after, providers, storage, last_backup_at, last_backup_status, last_restore_at,
      last_restore_status, failures;

  [[nodiscard]] std::vector<std::string_view> policy() const {
    return {enabled,    frequency, retention, minimum_retention, restore_interval, warn_after,
            fail_after, providers, storage};
  }
  [[nodiscard]] std::vector<std::string_view> state() const {
    return {last_backup_at, last_backup_status, last_restore_at, last_restore_status, failures};
  }
};

constexpr Names kInputNames{.enabled = "enabled",
                            .frequency = "expected_frequency_seconds",
                            .retention = "retention_days",
                            .minimum_retention = "minimum_retention_days",
                            .restore_interval = "restore_test_interval_days",
                            .warn_after = "warn_after_seconds",
                            .fail_after = "fail_after_seconds",
                            .providers = "providers",
                            .storage = "storage_location",
                            .last_backup_at = "last_backup_at",
                            .last_backup_status = "last_backup_status",
                            .last_restore_at = "last_restore_test_at",
                            .last_restore_status = "last_restore_status",
                            .failures = "recorded_failures"};

// The original's TIMESCALE_BACKUP_* extras (data_foundation/ingest/configuration.py).
constexpr Names kEnvironmentNames{.enabled = "TIMESCALE_BACKUP_ENABLED",
                                  .frequency = "TIMESCALE_BACKUP_FREQUENCY_SECONDS",
                                  .retention = "TIMESCALE_BACKUP_RETENTION_DAYS",
                                  .minimum_retention = "TIMESCALE_BACKUP_MIN_RETENTION_DAYS",
                                  .restore_interval = "TIMESCALE_BACKUP_RESTORE_INTERVAL_DAYS",
                                  .warn_after = "TIMESCALE_BACKUP_WARN_AFTER_SECONDS",
                                  .fail_after = "TIMESCALE_BACKUP_FAIL_AFTER_SECONDS",
                                  .providers = "TIMESCALE_BACKUP_PROVIDERS",
                                  .storage = "TIMESCALE_BACKUP_STORAGE",
                                  .last_backup_at = "TIMESCALE_BACKUP_LAST_SUCCESS",
                                  .last_backup_status = "TIMESCALE_BACKUP_LAST_STATUS",
                                  .last_restore_at = "TIMESCALE_BACKUP_LAST_RESTORE",
                                  .last_restore_status = "TIMESCALE_BACKUP_LAST_RESTORE_STATUS",
                                  .failures = "TIMESCALE_BACKUP_FAILURES"};

constexpr std::string_view kEnvironmentPrefix = "TIMESCALE_BACKUP_";

struct Policy {
  bool enabled = true;
  double expected_frequency_seconds = 0;  // as given (> 0)
  std::optional<double> warn_after_seconds;
  std::optional<double> fail_after_seconds;
  std::int64_t retention_days = 0;
  std::int64_t minimum_retention_days = 0;
  std::int64_t restore_test_interval_days = 0;
  std::vector<std::string> providers;
  std::optional<std::string> storage_location;
};

struct State {
  std::optional<core::TimePoint> last_backup_at;
  std::optional<std::string> last_backup_status;
  std::optional<core::TimePoint> last_restore_test_at;
  std::optional<std::string> last_restore_status;
  std::vector<std::string> recorded_failures;
};

core::Result<Policy> read_policy(const Doc& d, const Names& n, const BackupsConfig& c) {
  Policy p;
  auto enabled = d.boolean(n.enabled);
  if (!enabled) return std::unexpected(enabled.error());
  p.enabled = enabled->value_or(true);
  auto frequency = positive_seconds(d, n.frequency, "the configured expected_frequency");
  if (!frequency) return std::unexpected(frequency.error());
  p.expected_frequency_seconds = frequency->value_or(core::to_seconds(c.expected_frequency));
  auto warn = positive_seconds(d, n.warn_after, "warn_after_factor × the frequency");
  if (!warn) return std::unexpected(warn.error());
  p.warn_after_seconds = *warn;
  auto fail = positive_seconds(d, n.fail_after, "fail_after_factor × the frequency");
  if (!fail) return std::unexpected(fail.error());
  p.fail_after_seconds = *fail;
  if (p.warn_after_seconds && p.fail_after_seconds &&
      *p.fail_after_seconds < *p.warn_after_seconds) {
    return std::unexpected(d.error(n.fail_after, "must not be below " + std::string(n.warn_after)));
  }
  auto retention = whole(d, n.retention);
  if (!retention) return std::unexpected(retention.error());
  p.retention_days = retention->value_or(c.retention_days);
  auto minimum = whole(d, n.minimum_retention);
  if (!minimum) return std::unexpected(minimum.error());
  p.minimum_retention_days = minimum->value_or(c.minimum_retention_days);
  auto restore = whole(d, n.restore_interval);
  if (!restore) return std::unexpected(restore.error());
  p.restore_test_interval_days = restore->value_or(c.restore_test_interval_days);
  auto providers = d.strings(n.providers);
  if (!providers) return std::unexpected(providers.error());
  p.providers = std::move(*providers);
  auto storage = d.text(n.storage);
  if (!storage) return std::unexpected(storage.error());
  p.storage_location = std::move(*storage);
  return p;
}

core::Result<State> read_state(const Doc& d, const Names& n) {
  State s;
  auto last = d.time(n.last_backup_at);
  if (!last) return std::unexpected(last.error());
  s.last_backup_at = *last;
  auto status = d.text(n.last_backup_status);
  if (!status) return std::unexpected(status.error());
  s.last_backup_status = std::move(*status);
  auto restore = d.time(n.last_restore_at);
  if (!restore) return std::unexpected(restore.error());
  s.last_restore_test_at = *restore;
  auto restore_status = d.text(n.last_restore_status);
  if (!restore_status) return std::unexpected(restore_status.error());
  s.last_restore_status = std::move(*restore_status);
  auto failures = d.strings(n.failures);
  if (!failures) return std::unexpected(failures.error());
  s.recorded_failures = std::move(*failures);
  return s;
}

nlohmann::json optional_text(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// The spec's evaluate_backup_readiness.
BackupDocument evaluate_backups(const Policy& p, const State& s, std::string service,
                                core::TimePoint now, const nlohmann::json* context,
                                const BackupsConfig& c) {
  BackupDocument out;
  Findings& f = out.findings;
  std::vector<std::string> issues;
  const auto add = [&](std::string_view category, core::Status severity, std::string message) {
    // The spec de-duplicates the issue list; a repeated message adds nothing.
    if (std::find(issues.begin(), issues.end(), message) != issues.end()) return;
    issues.push_back(message);
    f.add(std::string(category), severity, std::move(message), "backups." + slug(category));
  };

  const double frequency = std::max(p.expected_frequency_seconds, 1.0);
  const double warn_after = p.warn_after_seconds.value_or(frequency * c.warn_after_factor);
  const double fail_after = p.fail_after_seconds.value_or(frequency * c.fail_after_factor);

  if (!p.enabled) add("disabled", core::Status::kFail, "Backups are disabled in configuration");
  if (p.retention_days < p.minimum_retention_days) {
    add("retention", core::Status::kWarn,
        "Retention window below minimum target (" + std::to_string(p.retention_days) + "d < " +
            std::to_string(p.minimum_retention_days) + "d)");
  }
  const std::string backup_word = lower_word(s.last_backup_status);
  if (backup_word == "fail" || backup_word == "failed" || backup_word == "error") {
    add("last_backup_status", core::Status::kFail, "Last backup reported failure");
  } else if (backup_word == "partial" || backup_word == "warn" || backup_word == "warning") {
    add("last_backup_status", core::Status::kWarn, "Last backup completed with warnings");
  }
  if (!s.last_backup_at) {
    add("no_backup", core::Status::kFail, "No successful backup recorded");
  } else {
    const double age = core::to_seconds(now - *s.last_backup_at);
    if (age > fail_after) {
      add("backup_age", core::Status::kFail,
          "Last backup exceeds failure threshold (" + int_text(age) + "s > " +
              int_text(fail_after) + "s)");
    } else if (age > warn_after) {
      add("backup_age", core::Status::kWarn,
          "Last backup exceeds warning threshold (" + int_text(age) + "s > " +
              int_text(warn_after) + "s)");
    }
  }
  if (!s.recorded_failures.empty()) {
    std::vector<std::string> unique;
    for (const auto& failure : s.recorded_failures) {
      if (std::find(unique.begin(), unique.end(), failure) == unique.end()) {
        unique.push_back(failure);
      }
    }
    add("recorded_failures", core::Status::kWarn,
        "Recent backup failures: " + core::join(unique, ", "));
  }
  if (p.restore_test_interval_days > 0) {
    const double allowed = static_cast<double>(p.restore_test_interval_days) * 86'400.0;
    const double warn_at = allowed * c.restore_warn_factor;
    const double fail_at = allowed * c.restore_fail_factor;
    if (!s.last_restore_test_at) {
      add("restore_test", core::Status::kWarn, "No restore drill recorded within policy window");
    } else {
      const double age = core::to_seconds(now - *s.last_restore_test_at);
      if (age > fail_at) {
        add("restore_test", core::Status::kFail,
            "Restore drill overdue (" + int_text(age) + "s > " + int_text(fail_at) + "s)");
      } else if (age > warn_at) {
        add("restore_test", core::Status::kWarn,
            "Restore drill past target window (" + int_text(age) + "s > " + int_text(warn_at) +
                "s)");
      }
    }
    const std::string restore_word = lower_word(s.last_restore_status);
    if (restore_word == "fail" || restore_word == "failed" || restore_word == "error") {
      add("restore_status", core::Status::kFail, "Last restore drill failed");
    } else if (restore_word == "partial" || restore_word == "warn" || restore_word == "warning") {
      add("restore_status", core::Status::kWarn, "Last restore drill completed with warnings");
    }
  }

  BackupReadiness& r = out.readiness;
  r.service = std::move(service);
  r.generated_at = now;
  r.status = f.worst();
  r.latest_backup_at = s.last_backup_at;
  if (s.last_backup_at) r.next_backup_due_at = *s.last_backup_at + seconds(frequency);
  r.retention_days = p.retention_days;
  r.issues = std::move(issues);

  nlohmann::json state = {{"last_backup_status", optional_text(s.last_backup_status)},
                          {"last_restore_status", optional_text(s.last_restore_status)},
                          {"recorded_failures", s.recorded_failures}};
  if (s.last_backup_at) state["last_backup_at"] = core::format_rfc3339(*s.last_backup_at);
  if (s.last_restore_test_at) {
    state["last_restore_test_at"] = core::format_rfc3339(*s.last_restore_test_at);
  }
  r.metadata = {{"policy",
                 {{"enabled", p.enabled},
                  {"expected_frequency_seconds", frequency},
                  {"warn_after_seconds", warn_after},
                  {"fail_after_seconds", fail_after},
                  {"retention_days", p.retention_days},
                  {"minimum_retention_days", p.minimum_retention_days},
                  {"restore_test_interval_days", p.restore_test_interval_days},
                  {"providers", p.providers},
                  {"storage_location", optional_text(p.storage_location)}}},
                {"state", std::move(state)}};
  if (context != nullptr && !context->empty()) r.metadata["context"] = *context;
  f.write_metadata(r.metadata);
  return out;
}

core::Result<const nlohmann::json*> caller_metadata(const Doc& root) {
  auto m = root.object("metadata");
  if (!m) return std::unexpected(m.error());
  return *m ? &(*m)->json() : static_cast<const nlohmann::json*>(nullptr);
}

core::Result<BackupDocument> read_input(const Doc& root, core::TimePoint now,
                                        const BackupsConfig& c, const Names& names,
                                        BackupDocument::Form form) {
  std::optional<Doc> policy_doc;
  std::optional<Doc> state_doc;
  if (form == BackupDocument::Form::kInput) {
    if (auto ok = root.only({"service", "generated_at", "policy", "state", "metadata"}); !ok) {
      return std::unexpected(ok.error());
    }
    auto pd = root.object("policy");
    if (!pd) return std::unexpected(pd.error());
    auto sd = root.object("state");
    if (!sd) return std::unexpected(sd.error());
    policy_doc = pd->value_or(Doc(empty_object(), root.path_of("policy")));
    state_doc = sd->value_or(Doc(empty_object(), root.path_of("state")));
    if (auto ok = policy_doc->only(names.policy()); !ok) return std::unexpected(ok.error());
    if (auto ok = state_doc->only(names.state()); !ok) return std::unexpected(ok.error());
  } else {
    std::vector<std::string_view> known = names.policy();
    for (auto k : names.state()) known.push_back(k);
    for (auto k : {"service", "generated_at", "metadata"}) known.emplace_back(k);
    if (auto ok = root.only(known); !ok) return std::unexpected(ok.error());
    policy_doc = root;
    state_doc = root;
  }
  auto policy = read_policy(*policy_doc, names, c);
  if (!policy) return std::unexpected(policy.error());
  auto state = read_state(*state_doc, names);
  if (!state) return std::unexpected(state.error());
  auto service = root.text("service");
  if (!service) return std::unexpected(service.error());
  auto generated = root.time("generated_at");
  if (!generated) return std::unexpected(generated.error());
  auto context = caller_metadata(root);
  if (!context) return std::unexpected(context.error());
  BackupDocument out = evaluate_backups(*policy, *state, service->value_or(c.service),
                                        generated->value_or(now), *context, c);
  out.form = form;
  return out;
}

core::Result<BackupDocument> read_evaluated(const Doc& root, core::TimePoint now,
                                            const BackupsConfig& c) {
  if (auto ok = root.only({"service", "generated_at", "status", "latest_backup_at",
                           "next_backup_due_at", "retention_days", "issues", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  BackupDocument out;
  out.form = BackupDocument::Form::kEvaluated;
  BackupReadiness& r = out.readiness;
  auto service = root.text("service");
  if (!service) return std::unexpected(service.error());
  r.service = service->value_or(c.service);
  auto generated = root.time("generated_at");
  if (!generated) return std::unexpected(generated.error());
  r.generated_at = generated->value_or(now);
  auto status = required_status(root, "status");
  if (!status) return std::unexpected(status.error());
  r.status = *status;
  auto latest = root.time("latest_backup_at");
  if (!latest) return std::unexpected(latest.error());
  r.latest_backup_at = *latest;
  auto next = root.time("next_backup_due_at");
  if (!next) return std::unexpected(next.error());
  r.next_backup_due_at = *next;
  auto retention = whole(root, "retention_days");
  if (!retention) return std::unexpected(retention.error());
  r.retention_days = retention->value_or(0);
  auto issues = root.strings("issues");
  if (!issues) return std::unexpected(issues.error());
  r.issues = std::move(*issues);
  auto metadata = root.object("metadata");
  if (!metadata) return std::unexpected(metadata.error());
  if (*metadata) r.metadata = (*metadata)->json();
  return out;
}

// The category and severity of one of the spec's issue messages (an evaluated snapshot of the
// original carries the messages only); none for a message the spec does not write.
std::optional<std::pair<std::string_view, core::Status>> classify(std::string_view message) {
  struct Known {
    std::string_view prefix;
    std::string_view category;
    core::Status severity;
  };
  static constexpr Known kKnown[] = {
      {"Backups are disabled in configuration", "disabled", core::Status::kFail},
      {"Retention window below minimum target", "retention", core::Status::kWarn},
      {"Last backup reported failure", "last_backup_status", core::Status::kFail},
      {"Last backup completed with warnings", "last_backup_status", core::Status::kWarn},
      {"No successful backup recorded", "no_backup", core::Status::kFail},
      {"Last backup exceeds failure threshold", "backup_age", core::Status::kFail},
      {"Last backup exceeds warning threshold", "backup_age", core::Status::kWarn},
      {"Recent backup failures:", "recorded_failures", core::Status::kWarn},
      {"No restore drill recorded", "restore_test", core::Status::kWarn},
      {"Restore drill overdue", "restore_test", core::Status::kFail},
      {"Restore drill past target window", "restore_test", core::Status::kWarn},
      {"Last restore drill failed", "restore_status", core::Status::kFail},
      {"Last restore drill completed with warnings", "restore_status", core::Status::kWarn},
  };
  for (const Known& k : kKnown) {
    if (message.starts_with(k.prefix)) return std::pair(k.category, k.severity);
  }
  return std::nullopt;
}

std::string summary_of(const BackupReadiness& r) {
  std::string s = r.service + " status " + std::string(core::to_string(r.status));
  if (!r.issues.empty()) return s + ": " + core::join(r.issues, "; ");
  if (r.latest_backup_at) {
    s += "; latest backup " + core::format_rfc3339(*r.latest_backup_at);
    if (r.next_backup_due_at) s += ", next due " + core::format_rfc3339(*r.next_backup_due_at);
  }
  return s;
}

std::vector<std::string> policy_providers(const nlohmann::json& metadata) {
  std::vector<std::string> out;
  if (!metadata.is_object()) return out;
  const auto policy = metadata.find("policy");
  if (policy == metadata.end() || !policy->is_object()) return out;
  const auto providers = policy->find("providers");
  if (providers == policy->end()) return out;
  if (providers->is_string()) {
    if (!providers->get_ref<const std::string&>().empty())
      out.push_back(providers->get<std::string>());
  } else if (providers->is_array()) {
    for (const auto& p : *providers) out.push_back(p.is_string() ? p.get<std::string>() : p.dump());
  }
  return out;
}

std::optional<std::string> policy_storage(const nlohmann::json& metadata) {
  if (!metadata.is_object()) return std::nullopt;
  const auto policy = metadata.find("policy");
  if (policy == metadata.end() || !policy->is_object()) return std::nullopt;
  const auto storage = policy->find("storage_location");
  if (storage == policy->end() || storage->is_null()) return std::nullopt;
  std::string s = storage->is_string() ? storage->get<std::string>() : storage->dump();
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

core::Result<void> validate(const BackupsConfig& c) {
  if (c.service.empty()) return core::fail("invalid_parameter", "must not be empty", "service");
  if (c.expected_frequency <= core::Duration::zero()) {
    return core::fail("invalid_parameter", "must be positive", "expected_frequency");
  }
  if (core::to_seconds(c.expected_frequency) > kMaxSeconds) {
    return core::fail("invalid_parameter", "must be at most 100 years", "expected_frequency");
  }
  const auto factor = [](double v, double floor, std::string_view field,
                         std::string_view floor_name) -> core::Result<void> {
    if (!std::isfinite(v) || v <= 0 || v > 1000) {
      return core::fail("invalid_parameter", "must be a number in (0, 1000]", std::string(field));
    }
    if (v < floor) {
      return core::fail("invalid_parameter", "must not be below " + std::string(floor_name),
                        std::string(field));
    }
    return {};
  };
  if (auto ok = factor(c.warn_after_factor, 0, "warn_after_factor", ""); !ok) return ok;
  if (auto ok = factor(c.fail_after_factor, c.warn_after_factor, "fail_after_factor",
                       "warn_after_factor");
      !ok) {
    return ok;
  }
  if (auto ok = factor(c.restore_warn_factor, 0, "restore_warn_factor", ""); !ok) return ok;
  if (auto ok = factor(c.restore_fail_factor, c.restore_warn_factor, "restore_fail_factor",
                       "restore_warn_factor");
      !ok) {
    return ok;
  }
  for (const auto& [v, field] :
       {std::pair{c.retention_days, "retention_days"},
        std::pair{c.minimum_retention_days, "minimum_retention_days"},
        std::pair{c.restore_test_interval_days, "restore_test_interval_days"}}) {
    if (v > kMaxDays) return core::fail("invalid_parameter", "must be at most 36500", field);
  }
  return {};
}

nlohmann::json to_json(const BackupReadiness& r) {
  nlohmann::json j = {{"service", r.service},
                      {"generated_at", core::format_rfc3339(r.generated_at)},
                      {"status", core::to_string(r.status)},
                      {"retention_days", r.retention_days},
                      {"issues", r.issues},
                      {"metadata", r.metadata}};
  if (r.latest_backup_at) j["latest_backup_at"] = core::format_rfc3339(*r.latest_backup_at);
  if (r.next_backup_due_at) j["next_backup_due_at"] = core::format_rfc3339(*r.next_backup_due_at);
  return j;
}

std::string to_markdown(const BackupReadiness& r) {
  std::vector<std::string> lines = {
      "**Backup readiness – " + core::markdown_inline(r.service) + "**",
      "- Status: " + std::string(core::to_string(r.status)),
      "- Generated: " + core::format_rfc3339(r.generated_at),
      "- Retention days: " + std::to_string(r.retention_days),
      "- Latest backup: " +
          (r.latest_backup_at ? core::format_rfc3339(*r.latest_backup_at) : "not recorded")};
  if (r.next_backup_due_at) {
    lines.push_back("- Next backup due: " + core::format_rfc3339(*r.next_backup_due_at));
  }
  if (const auto providers = policy_providers(r.metadata); !providers.empty()) {
    lines.push_back("- Providers: " + core::markdown_inline(core::join(providers, ", ")));
  }
  if (const auto storage = policy_storage(r.metadata)) {
    lines.push_back("- Storage: " + core::markdown_inline(*storage));
  }
  if (!r.issues.empty()) {
    lines.emplace_back("");
    lines.emplace_back("**Issues:**");
    for (const auto& issue : r.issues) lines.push_back("- " + core::markdown_inline(issue));
  }
  return core::join(lines, "\n");
}

core::Result<BackupDocument> read_backup_document(const Doc& doc, core::TimePoint now,
                                                  const BackupsConfig& config) {
  if (doc.has("status")) return read_evaluated(doc, now, config);
  for (const auto& [key, value] : doc.json().items()) {
    (void)value;
    if (std::string_view(key).starts_with(kEnvironmentPrefix)) {
      return read_input(doc, now, config, kEnvironmentNames, BackupDocument::Form::kEnvironment);
    }
  }
  if (doc.has("policy") || doc.has("state")) {
    return read_input(doc, now, config, kInputNames, BackupDocument::Form::kInput);
  }
  if (auto ok = doc.only({"service", "generated_at", "policy", "state", "metadata"}); !ok) {
    return std::unexpected(ok.error());
  }
  return std::unexpected(doc.error(
      "",
      "a backups document needs `policy` / `state` (an input), TIMESCALE_BACKUP_* keys (an "
      "environment mapping) or `status` (an evaluated snapshot)"));
}

Backups::Backups(const BackupsConfig& config)
    : DocumentComponent(std::string(kBackupsName), "operational.backups",
                        {std::string(kBackupsTopic)}),
      config_(config) {}

core::Result<std::unique_ptr<Backups>> Backups::create(const BackupsConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<Backups>(new Backups(config));
}

core::Result<Evaluated> Backups::evaluate(const nlohmann::json& doc, core::TimePoint now) {
  auto root = root_object(doc, "a backups document");
  if (!root) return std::unexpected(root.error());
  auto read = read_backup_document(*root, now, config_);
  if (!read) return std::unexpected(read.error());
  const BackupReadiness& r = read->readiness;
  if (read->form == BackupDocument::Form::kEvaluated) {
    // The original's snapshot carries its issues as messages only: give each the category and
    // severity of the check that writes it, so the issue codes match an input's.
    nlohmann::json copy = doc;
    nlohmann::json& metadata = copy["metadata"];
    if (!metadata.is_object()) metadata = nlohmann::json::object();
    if (!metadata.contains("issue_details")) {
      nlohmann::json details = nlohmann::json::array();
      for (const auto& message : r.issues) {
        const auto known = classify(message);
        const core::Status fallback =
            r.status == core::Status::kOk ? core::Status::kWarn : r.status;
        details.push_back({{"category", known ? known->first : "issue"},
                           {"severity", core::to_string(known ? known->second : fallback)},
                           {"message", message}});
      }
      if (!details.empty()) metadata["issue_details"] = std::move(details);
    }
    auto e = from_evaluated(kBackupsName, kBackupsName, copy, now, summary_of(r));
    if (!e) return std::unexpected(e.error());
    e->report = doc;
    e->markdown = to_markdown(r);
    return e;
  }
  Evaluated e;
  e.snapshot.component = std::string(kBackupsName);
  e.snapshot.status = r.status;
  e.snapshot.summary = summary_of(r);
  e.snapshot.observed_at = r.generated_at;
  read->findings.write_to(e.snapshot);
  e.snapshot.metadata = r.metadata;
  e.snapshot.metadata["source"] =
      read->form == BackupDocument::Form::kEnvironment ? "environment" : "input";
  e.report = to_json(r);
  e.markdown = to_markdown(r);
  return e;
}

}  // namespace opsready::components
