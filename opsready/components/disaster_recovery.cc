#include "opsready/components/disaster_recovery.h"

#include <algorithm>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

std::string text_of(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

const nlohmann::json* member(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

RecoveryStep backup_step(const BackupReadiness& b) {
  RecoveryStep step{.name = "Backup validation", .status = b.status};
  if (!b.issues.empty()) {
    step.summary = "Backup posture " + std::string(core::to_string(b.status)) + "; review issues";
    step.details = b.issues;
  } else {
    step.summary = "Backups meet policy targets";
  }
  if (const nlohmann::json* policy = member(b.metadata, "policy")) {
    if (const nlohmann::json* providers = member(*policy, "providers")) {
      std::vector<std::string> names;
      if (providers->is_array()) {
        for (const auto& p : *providers) names.push_back(text_of(p));
      } else {
        names.push_back(text_of(*providers));
      }
      if (!names.empty() && !(names.size() == 1 && names[0].empty())) {
        step.details.push_back("Providers: " + core::join(names, ", "));
      }
    }
    if (const nlohmann::json* storage = member(*policy, "storage_location")) {
      const std::string s = text_of(*storage);
      if (!s.empty()) step.details.push_back("Storage: " + s);
    }
  }
  step.details.push_back("Latest backup: " + (b.latest_backup_at
                                                  ? core::format_rfc3339(*b.latest_backup_at)
                                                  : std::string("not recorded")));
  step.details.push_back("Next due: " + (b.next_backup_due_at
                                             ? core::format_rfc3339(*b.next_backup_due_at)
                                             : std::string("not scheduled")));
  return step;
}

RecoveryStep failover_step(const FailoverDrillReport& f) {
  RecoveryStep step{.name = "Failover automation", .status = f.status};
  for (const auto& c : f.components) {
    step.details.push_back(c.name + ": " + std::string(core::to_string(c.status)) + " – " +
                           c.summary);
  }
  if (const nlohmann::json* fallback = member(f.metadata, "fallback");
      fallback != nullptr && fallback->is_object()) {
    if (const nlohmann::json* executed = member(*fallback, "executed");
        executed != nullptr && executed->is_boolean()) {
      step.details.emplace_back(executed->get<bool>() ? "Fallback executed during drill"
                                                      : "Fallback not executed");
    }
    if (const nlohmann::json* error = member(*fallback, "error")) {
      const std::string e = text_of(*error);
      if (!e.empty() && e != "false") step.details.push_back("Fallback error: " + e);
    }
  }
  step.summary = f.status == core::Status::kOk     ? "Failover drill completed"
                 : f.status == core::Status::kWarn ? "Failover drill completed with warnings"
                                                   : "Failover automation failed";
  return step;
}

Findings step_findings(const DisasterRecoveryReport& r) {
  Findings f{std::string(kDisasterRecoveryName)};
  for (const auto& step : r.steps) {
    if (step.status == core::Status::kOk) continue;
    const std::string category = slug(step.name);
    f.add(category, step.status, step.name + ": " + step.summary, "disaster_recovery." + category,
          step.details);
  }
  return f;
}

std::string summary_of(const DisasterRecoveryReport& r) {
  std::vector<std::string> parts;
  for (const auto& step : r.steps) parts.push_back(step.summary);
  std::string s = "Disaster recovery " + std::string(recovery_word(r.status));
  return parts.empty() ? s : s + ": " + core::join(parts, "; ");
}

core::Result<std::vector<RecoveryStep>> read_steps(const Doc& root) {
  std::vector<RecoveryStep> out;
  auto steps = root.array("steps");
  if (!steps) return std::unexpected(steps.error());
  if (*steps == nullptr) return out;
  for (std::size_t i = 0; i < (*steps)->size(); ++i) {
    const nlohmann::json& item = (**steps)[i];
    const std::string path = root.path_of("steps") + "[" + std::to_string(i) + "]";
    if (!item.is_object()) return core::fail("invalid_document", "must be an object", path);
    Doc d(item, path);
    if (auto ok = d.only({"name", "status", "summary", "details"}); !ok) {
      return std::unexpected(ok.error());
    }
    RecoveryStep step;
    auto name = d.text("name");
    if (!name) return std::unexpected(name.error());
    if (!*name) return std::unexpected(d.error("name", "required field is missing"));
    step.name = **name;
    auto status = required_status(d, "status");
    if (!status) return std::unexpected(status.error());
    step.status = *status;
    auto summary = d.text("summary");
    if (!summary) return std::unexpected(summary.error());
    step.summary = summary->value_or("");
    auto details = d.strings("details");
    if (!details) return std::unexpected(details.error());
    step.details = std::move(*details);
    out.push_back(std::move(step));
  }
  return out;
}

}  // namespace

std::string_view recovery_word(core::Status s) {
  return s == core::Status::kOk ? "ready" : s == core::Status::kWarn ? "degraded" : "blocked";
}

core::Result<void> validate(const DisasterRecoveryConfig& /*config*/) { return {}; }

DisasterRecoveryReport plan_disaster_recovery(const BackupReadiness& backup,
                                              const FailoverDrillReport& failover,
                                              core::TimePoint generated_at,
                                              nlohmann::json metadata) {
  DisasterRecoveryReport r{.generated_at = generated_at, .backup = backup, .failover = failover};
  r.steps = {backup_step(backup), failover_step(failover)};
  for (const auto& step : r.steps) r.status = core::escalate(r.status, step.status);
  r.metadata = metadata.is_object() ? std::move(metadata) : nlohmann::json::object();
  if (!r.metadata.contains("scenario")) r.metadata["scenario"] = failover.scenario;
  return r;
}

nlohmann::json to_json(const DisasterRecoveryReport& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& step : r.steps) {
    steps.push_back({{"name", step.name},
                     {"status", recovery_word(step.status)},
                     {"summary", step.summary},
                     {"details", step.details}});
  }
  return {{"status", recovery_word(r.status)},
          {"generated_at", core::format_rfc3339(r.generated_at)},
          {"steps", std::move(steps)},
          {"backup_snapshot", to_json(r.backup)},
          {"failover_snapshot", to_json(r.failover)},
          {"metadata", r.metadata}};
}

std::string to_markdown(const DisasterRecoveryReport& r) {
  std::vector<std::string> lines = {
      "# Disaster recovery drill",
      "",
      "- Status: " + core::to_upper(recovery_word(r.status)),
      "- Generated: " + core::format_rfc3339(r.generated_at),
      "- Backup status: " + core::to_upper(core::to_string(r.backup.status)),
      "- Failover status: " + core::to_upper(core::to_string(r.failover.status)),
      ""};
  if (!r.steps.empty()) {
    lines.emplace_back("## Recovery steps");
    lines.emplace_back("| Step | Status | Summary |");
    lines.emplace_back("| --- | --- | --- |");
    for (const auto& step : r.steps) {
      lines.push_back("| " + core::markdown_inline(step.name) + " | " +
                      core::to_upper(recovery_word(step.status)) + " | " +
                      core::markdown_inline(step.summary) + " |");
    }
    lines.emplace_back("");
  }
  if (std::any_of(r.steps.begin(), r.steps.end(),
                  [](const RecoveryStep& s) { return !s.details.empty(); })) {
    lines.emplace_back("## Step details");
    for (const auto& step : r.steps) {
      if (step.details.empty()) continue;
      lines.push_back("### " + core::markdown_inline(step.name));
      for (const auto& d : step.details) lines.push_back("- " + core::markdown_inline(d));
      lines.emplace_back("");
    }
  }
  lines.emplace_back("## Backup readiness snapshot");
  lines.push_back(to_markdown(r.backup));
  lines.emplace_back("");
  lines.emplace_back("## Failover drill snapshot");
  lines.push_back(components_table(r.failover));
  return core::join(lines, "\n");
}

DisasterRecovery::DisasterRecovery(const DisasterRecoveryConfig& config,
                                   const BackupsConfig& backups,
                                   const FailoverDrillConfig& failover_drill)
    : DocumentComponent(std::string(kDisasterRecoveryName), "operational.disaster_recovery",
                        config.follow_components
                            ? std::vector<std::string>{std::string(kDisasterRecoveryTopic),
                                                       std::string(kBackupsTopic),
                                                       std::string(kFailoverDrillTopic)}
                            : std::vector<std::string>{std::string(kDisasterRecoveryTopic)}),
      config_(config),
      backups_config_(backups),
      drill_config_(failover_drill) {}

core::Result<std::unique_ptr<DisasterRecovery>> DisasterRecovery::create(
    const DisasterRecoveryConfig& config, const BackupsConfig& backups,
    const FailoverDrillConfig& failover_drill) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  if (auto ok = validate(backups); !ok) {
    return core::fail(ok.error().code, ok.error().message, "backups." + ok.error().field);
  }
  if (auto ok = validate(failover_drill); !ok) {
    return core::fail(ok.error().code, ok.error().message, "failover_drill." + ok.error().field);
  }
  return std::unique_ptr<DisasterRecovery>(new DisasterRecovery(config, backups, failover_drill));
}

core::Result<Evaluated> DisasterRecovery::evaluate(const nlohmann::json& doc, core::TimePoint now) {
  auto root = root_object(doc, "a disaster-recovery document");
  if (!root) return std::unexpected(root.error());
  DisasterRecoveryReport report;
  const bool evaluated = root->has("status");
  if (evaluated) {
    if (auto ok = root->only({"status", "generated_at", "steps", "backup_snapshot",
                              "failover_snapshot", "metadata"});
        !ok) {
      return std::unexpected(ok.error());
    }
    auto word = root->string("status");
    if (!word) return std::unexpected(word.error());
    auto status = core::parse_status(**word);
    if (!status) return std::unexpected(root->error("status", status.error().message));
    report.status = *status;
    auto generated = root->time("generated_at");
    if (!generated) return std::unexpected(generated.error());
    report.generated_at = generated->value_or(now);
    auto steps = read_steps(*root);
    if (!steps) return std::unexpected(steps.error());
    report.steps = std::move(*steps);
    for (const char* key : {"backup_snapshot", "failover_snapshot"}) {
      auto part = root->object(key);
      if (!part) return std::unexpected(part.error());
      if (!*part) return std::unexpected(root->error(key, "required field is missing"));
      if (!(*part)->has("status")) {
        return std::unexpected(root->error(key, "must be an evaluated snapshot (with a status)"));
      }
    }
    auto backup = read_backup_document(*root->object("backup_snapshot").value(),
                                       report.generated_at, backups_config_);
    if (!backup) return std::unexpected(backup.error());
    report.backup = std::move(backup->readiness);
    auto drill = read_failover_drill_document(*root->object("failover_snapshot").value(),
                                              report.generated_at, drill_config_);
    if (!drill) return std::unexpected(drill.error());
    report.failover = std::move(drill->report);
    auto metadata = root->object("metadata");
    if (!metadata) return std::unexpected(metadata.error());
    if (*metadata) report.metadata = (*metadata)->json();
  } else {
    if (auto ok = root->only({"generated_at", "scenario", "backups", "failover_drill", "metadata"});
        !ok) {
      return std::unexpected(ok.error());
    }
    auto generated = root->time("generated_at");
    if (!generated) return std::unexpected(generated.error());
    const core::TimePoint at = generated->value_or(now);
    auto scenario = root->text("scenario");
    if (!scenario) return std::unexpected(scenario.error());
    // As simulate_disaster_recovery_drill: the scenario names the drill and the backup service
    // where the parts name none.
    BackupsConfig backups_config = backups_config_;
    FailoverDrillConfig drill_config = drill_config_;
    if (*scenario) {
      backups_config.service = **scenario + "_backups";
      drill_config.scenario = **scenario;
    }
    auto backups_doc = root->object("backups");
    if (!backups_doc) return std::unexpected(backups_doc.error());
    auto drill_doc = root->object("failover_drill");
    if (!drill_doc) return std::unexpected(drill_doc.error());
    if (!*backups_doc || !*drill_doc) {
      return std::unexpected(root->error(
          *backups_doc ? "failover_drill" : "backups",
          "required field is missing (a disaster-recovery input carries a backups document and "
          "a failover-drill document)"));
    }
    auto backup = read_backup_document(**backups_doc, at, backups_config);
    if (!backup) return std::unexpected(backup.error());
    auto drill = read_failover_drill_document(**drill_doc, at, drill_config);
    if (!drill) return std::unexpected(drill.error());
    auto metadata = root->object("metadata");
    if (!metadata) return std::unexpected(metadata.error());
    nlohmann::json caller = *metadata ? (*metadata)->json() : nlohmann::json::object();
    if (*scenario && !caller.contains("scenario")) caller["scenario"] = **scenario;
    report = plan_disaster_recovery(backup->readiness, drill->report, at, std::move(caller));
  }

  const Findings findings = step_findings(report);
  auto e = evaluated_report(
      kDisasterRecoveryName, evaluated, doc, now,
      ReportView{.status = report.status,
                 .summary = summary_of(report),
                 .observed_at = report.generated_at,
                 .metadata = &report.metadata},
      [&] { return to_json(report); }, findings, to_markdown(report));
  if (!e) return std::unexpected(e.error());
  e->snapshot.metadata["recovery_status"] = recovery_word(e->snapshot.status);
  e->snapshot.metadata["backup_status"] = core::to_string(report.backup.status);
  e->snapshot.metadata["failover_status"] = core::to_string(report.failover.status);
  return e;
}

core::Result<void> DisasterRecovery::replan(core::TimePoint at) {
  if (backups_.is_null() || failover_drill_.is_null()) return {};
  return DocumentComponent::apply({.topic = std::string(kDisasterRecoveryTopic),
                                   .time = at,
                                   .payload = {{"generated_at", core::format_rfc3339(at)},
                                               {"backups", backups_},
                                               {"failover_drill", failover_drill_}}});
}

core::Result<nlohmann::json> DisasterRecovery::read_part(const core::TelemetryEvent& event) const {
  if (!config_.follow_components) {
    return core::fail("unknown_topic", "disaster_recovery does not follow " + event.topic, "topic");
  }
  const bool is_backup = event.topic == kBackupsTopic;
  auto root =
      root_object(event.payload, is_backup ? "a backups document" : "a failover-drill document");
  if (!root) return std::unexpected(root.error());
  if (is_backup) {
    auto read = read_backup_document(*root, event.time, backups_config_);
    if (!read) return std::unexpected(read.error());
    return read->form == BackupDocument::Form::kEvaluated ? event.payload
                                                          : to_json(read->readiness);
  }
  auto read = read_failover_drill_document(*root, event.time, drill_config_);
  if (!read) return std::unexpected(read.error());
  return read->evaluated ? event.payload : to_json(read->report);
}

core::Result<void> DisasterRecovery::check(const core::TelemetryEvent& event) {
  if (event.topic == kBackupsTopic || event.topic == kFailoverDrillTopic) {
    auto part = read_part(event);
    if (!part) return std::unexpected(part.error());
    return {};
  }
  return DocumentComponent::check(event);
}

core::Result<void> DisasterRecovery::apply(const core::TelemetryEvent& event) {
  if (event.topic == kBackupsTopic || event.topic == kFailoverDrillTopic) {
    auto part = read_part(event);
    if (!part) return std::unexpected(part.error());
    (event.topic == kBackupsTopic ? backups_ : failover_drill_) = std::move(*part);
    ++version_;
    return replan(event.time);
  }
  auto ok = DocumentComponent::apply(event);
  if (!ok) return ok;
  // The DR document's parts are the latest backups and drill evaluations too.
  const nlohmann::json& report = latest()->report;
  backups_ = report.at("backup_snapshot");
  failover_drill_ = report.at("failover_snapshot");
  ++version_;
  return {};
}

nlohmann::json DisasterRecovery::state() const {
  if (backups_.is_null() && failover_drill_.is_null()) return nullptr;
  return {{"backups", backups_}, {"failover_drill", failover_drill_}};
}

core::Result<void> DisasterRecovery::restore(const nlohmann::json& state) {
  if (state.is_null()) return {};
  auto root = root_object(state, "the disaster_recovery state");
  if (!root) return std::unexpected(root.error());
  if (auto ok = root->only({"backups", "failover_drill"}); !ok) return ok;
  nlohmann::json backups;
  nlohmann::json drill;
  std::optional<core::TimePoint> newest;
  if (auto b = root->object("backups"); !b) {
    return std::unexpected(b.error());
  } else if (*b) {
    auto read = read_backup_document(**b, core::TimePoint{}, backups_config_);
    if (!read) return std::unexpected(read.error());
    backups = (*b)->json();
    newest = read->readiness.generated_at;
  }
  if (auto d = root->object("failover_drill"); !d) {
    return std::unexpected(d.error());
  } else if (*d) {
    auto read = read_failover_drill_document(**d, core::TimePoint{}, drill_config_);
    if (!read) return std::unexpected(read.error());
    drill = (*d)->json();
    newest = std::max(newest.value_or(read->report.generated_at), read->report.generated_at);
  }
  backups_ = std::move(backups);
  failover_drill_ = std::move(drill);
  // Both parts known: show the plan they make, as of the newer part (the gate's max_age then
  // measures how long DR readiness has gone without news).
  if (newest) return replan(*newest);
  return {};
}

}  // namespace opsready::components
