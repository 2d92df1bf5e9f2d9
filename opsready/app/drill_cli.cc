#include "opsready/app/drill_cli.h"

#include <chrono>
#include <cstdlib>
#include <ostream>
#include <thread>

#include "opsready/core/time.h"

namespace opsready::app {

namespace {

using nlohmann::json;

int verdict_code(const std::string& verdict) {
  if (verdict == "Pass") return kExitOk;
  if (verdict == "Fail") return kExitDrillFail;
  if (verdict == "Aborted") return kExitDrillAborted;
  return kExitDrillInconclusive;
}

int list(const DrillOptions& o, std::ostream& out, std::ostream& err) {
  auto body = daemon_get_json(o.daemon, "/api/v1/drills");
  if (!body) return report_error(err, "drill", body.error());
  if (o.daemon.format == "json") {
    out << body->dump(2) << "\n";
    return kExitOk;
  }
  out << "SCENARIO  FAULT  EXPECTED ALERT  HYPOTHESIS\n";
  for (const auto& s : (*body)["scenarios"]) {
    out << cell_text(s, "name") << "  " << cell_text(s["fault"], "kind") << "  "
        << cell_text(s["expect"], "alert") << "  " << cell_text(s, "hypothesis") << "\n";
  }
  if (!(*body)["running"].is_null()) {
    out << "\nRunning: " << cell_text((*body)["running"], "drill_id") << "\n";
  }
  if (!(*body)["runs"].empty()) {
    out << "\nDRILL  SCENARIO  VERDICT  MTTD  MTTA  MTTR  STARTED\n";
    for (const auto& r : (*body)["runs"]) {
      out << cell_text(r, "drill_id") << "  " << cell_text(r, "scenario") << "  "
          << cell_text(r, "verdict", "running") << "  " << cell_text(r, "mttd_seconds") << "  "
          << cell_text(r, "mtta_seconds") << "  " << cell_text(r, "mttr_seconds") << "  "
          << cell_text(r, "started_at") << "\n";
    }
  }
  return kExitOk;
}

int show(const DrillOptions& o, const std::string& id, std::ostream& out, std::ostream& err) {
  if (o.daemon.format == "json") {
    auto body = daemon_get_json(o.daemon, "/api/v1/drills/" + id);
    if (!body) return report_error(err, "drill", body.error());
    out << body->dump(2) << "\n";
    return kExitOk;
  }
  auto md = daemon_get_text(o.daemon, "/api/v1/drills/" + id + "?format=markdown");
  if (!md) return report_error(err, "drill", md.error());
  out << *md;
  return kExitOk;
}

int run(const DrillOptions& o, std::ostream& out, std::ostream& err) {
  auto wait = core::parse_duration(o.wait);
  if (!wait || *wait <= core::Duration::zero()) {
    err << "opsready: drill: --wait: must be a positive duration, not '" << o.wait << "'\n";
    return kExitUsage;
  }
  std::string by = o.by.value_or("");
  if (!o.by) {
    if (const char* user = std::getenv("USER")) by = user;
  }
  json request = {{"scenario", o.scenario}, {"by", by}};
  if (o.dry_run) request["dry_run"] = true;
  if (o.force) request["force"] = true;
  auto started = daemon_post_json(o.daemon, "/api/v1/drills", request);
  if (!started) return report_error(err, "drill", started.error());
  if (o.dry_run) {
    if (o.daemon.format == "json") {
      out << started->dump(2) << "\n";
    } else {
      const json& s = (*started)["scenario"];
      out << "Dry run of " << cell_text(s, "name") << " (nothing injected)\n"
          << "Hypothesis: " << cell_text(s, "hypothesis") << "\n"
          << "Fault: " << s["fault"].dump() << "\n"
          << "Expected alert: " << cell_text(s["expect"], "alert") << " within "
          << cell_text(s["expect"], "within") << "\n\nSteady state now:\n";
      for (const auto& c : (*started)["steady_state"]) {
        out << "- " << (c.value("held", false) ? "holds" : "DOES NOT HOLD") << ": "
            << cell_text(c, "check") << " (" << cell_text(c, "observed") << ")\n";
      }
      const std::string refusal = cell_text(*started, "refusal", "");
      out << "\nWould run: " << ((*started).value("would_run", false) ? "yes" : "no")
          << (refusal.empty() ? "" : " — " + refusal) << "\n";
    }
    return (*started).value("would_run", false) ? kExitOk : kExitDrillFail;
  }
  const std::string id = cell_text(*started, "drill_id", "");
  err << "opsready: drill " << id << " (" << o.scenario << ") started\n";
  // Progress: each time of the evidence as it appears.
  const auto deadline = std::chrono::steady_clock::now() + *wait;
  std::map<std::string, std::string> seen;
  for (;;) {
    auto e = daemon_get_json(o.daemon, "/api/v1/drills/" + id);
    if (!e) return report_error(err, "drill", e.error());
    for (const char* k :
         {"injected_at", "detected_at", "acked_at", "restored_at", "recovered_at"}) {
      const std::string v = cell_text(*e, k, "");
      if (!v.empty() && seen[k] != v) {
        seen[k] = v;
        err << "opsready: drill " << id << ": " << k << " " << v << "\n";
      }
    }
    const std::string verdict = cell_text(*e, "verdict", "");
    if (!verdict.empty() && !cell_text(*e, "finished_at", "").empty()) {
      if (o.daemon.format == "json") {
        out << e->dump(2) << "\n";
      } else if (int rc = show(o, id, out, err); rc != kExitOk) {
        return rc;
      }
      return verdict_code(verdict);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      err << "opsready: drill " << id << " still runs after --wait " << o.wait
          << "; it goes on in the daemon (opsready drill show " << id << ")\n";
      return kExitStillRunning;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace

int run_drill(const DrillOptions& options, std::ostream& out, std::ostream& err) {
  switch (options.action) {
    case DrillOptions::Action::kList:
      return list(options, out, err);
    case DrillOptions::Action::kRun:
      return run(options, out, err);
    case DrillOptions::Action::kShow:
      return show(options, options.id, out, err);
  }
  return kExitUsage;
}

}  // namespace opsready::app
