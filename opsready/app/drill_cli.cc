#include "opsready/app/drill_cli.h"

#include <chrono>
#include <cstdlib>
#include <ostream>
#include <thread>

#include "opsready/core/time.h"

namespace opsready::app {

namespace {

using nlohmann::json;

std::string text_of(const json& j, const char* key, const std::string& missing = "—") {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return missing;
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

int fail(std::ostream& err, const DaemonError& e) {
  err << "opsready: drill: " << e.message << "\n";
  return e.code;
}

int verdict_code(const std::string& verdict) {
  if (verdict == "Pass") return kExitOk;
  if (verdict == "Fail") return kExitDrillFail;
  if (verdict == "Aborted") return kExitDrillAborted;
  return kExitDrillInconclusive;
}

int list(const DrillOptions& o, std::ostream& out, std::ostream& err) {
  auto body = daemon_get_json(o.daemon, "/api/v1/drills");
  if (!body) return fail(err, body.error());
  if (o.daemon.format == "json") {
    out << body->dump(2) << "\n";
    return kExitOk;
  }
  out << "SCENARIO  FAULT  EXPECTED ALERT  HYPOTHESIS\n";
  for (const auto& s : (*body)["scenarios"]) {
    out << text_of(s, "name") << "  " << text_of(s["fault"], "kind") << "  "
        << text_of(s["expect"], "alert") << "  " << text_of(s, "hypothesis") << "\n";
  }
  if (!(*body)["running"].is_null()) {
    out << "\nRunning: " << text_of((*body)["running"], "drill_id") << "\n";
  }
  if (!(*body)["runs"].empty()) {
    out << "\nDRILL  SCENARIO  VERDICT  MTTD  MTTA  MTTR  STARTED\n";
    for (const auto& r : (*body)["runs"]) {
      out << text_of(r, "drill_id") << "  " << text_of(r, "scenario") << "  "
          << text_of(r, "verdict", "running") << "  " << text_of(r, "mttd_seconds") << "  "
          << text_of(r, "mtta_seconds") << "  " << text_of(r, "mttr_seconds") << "  "
          << text_of(r, "started_at") << "\n";
    }
  }
  return kExitOk;
}

int show(const DrillOptions& o, const std::string& id, std::ostream& out, std::ostream& err) {
  if (o.daemon.format == "json") {
    auto body = daemon_get_json(o.daemon, "/api/v1/drills/" + id);
    if (!body) return fail(err, body.error());
    out << body->dump(2) << "\n";
    return kExitOk;
  }
  auto md = daemon_get_text(o.daemon, "/api/v1/drills/" + id + "?format=markdown");
  if (!md) return fail(err, md.error());
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
  if (!started) return fail(err, started.error());
  if (o.dry_run) {
    if (o.daemon.format == "json") {
      out << started->dump(2) << "\n";
    } else {
      const json& s = (*started)["scenario"];
      out << "Dry run of " << text_of(s, "name") << " (nothing injected)\n"
          << "Hypothesis: " << text_of(s, "hypothesis") << "\n"
          << "Fault: " << s["fault"].dump() << "\n"
          << "Expected alert: " << text_of(s["expect"], "alert") << " within "
          << text_of(s["expect"], "within") << "\n\nSteady state now:\n";
      for (const auto& c : (*started)["steady_state"]) {
        out << "- " << (c.value("held", false) ? "holds" : "DOES NOT HOLD") << ": "
            << text_of(c, "check") << " (" << text_of(c, "observed") << ")\n";
      }
      const std::string refusal = text_of(*started, "refusal", "");
      out << "\nWould run: " << ((*started).value("would_run", false) ? "yes" : "no")
          << (refusal.empty() ? "" : " — " + refusal) << "\n";
    }
    return (*started).value("would_run", false) ? kExitOk : kExitDrillFail;
  }
  const std::string id = text_of(*started, "drill_id", "");
  err << "opsready: drill " << id << " (" << o.scenario << ") started\n";
  // Progress: each time of the evidence as it appears.
  const auto deadline = std::chrono::steady_clock::now() + *wait;
  std::map<std::string, std::string> seen;
  for (;;) {
    auto e = daemon_get_json(o.daemon, "/api/v1/drills/" + id);
    if (!e) return fail(err, e.error());
    for (const char* k :
         {"injected_at", "detected_at", "acked_at", "restored_at", "recovered_at"}) {
      const std::string v = text_of(*e, k, "");
      if (!v.empty() && seen[k] != v) {
        seen[k] = v;
        err << "opsready: drill " << id << ": " << k << " " << v << "\n";
      }
    }
    const std::string verdict = text_of(*e, "verdict", "");
    if (!verdict.empty() && !text_of(*e, "finished_at", "").empty()) {
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
