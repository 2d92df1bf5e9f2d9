#include "opsready/app/signoff_cli.h"

#include <cstdlib>
#include <ostream>

namespace opsready::app {

namespace {

using nlohmann::json;

int record(const SignoffOptions& o, std::ostream& out, std::ostream& err) {
  std::string by = o.by.value_or("");
  if (!o.by) {
    if (const char* user = std::getenv("USER")) by = user;
  }
  if (by.empty()) {
    err << "opsready: signoff record: --by is required ($USER is not set)\n";
    return kExitUsage;
  }
  json request = {{"signoff", o.name}, {"by", by}};
  if (o.at) request["at"] = *o.at;
  if (!o.evidence.empty()) request["evidence"] = o.evidence;
  if (!o.note.empty()) request["note"] = o.note;
  auto r = daemon_post_json(o.daemon, "/api/v1/signoffs", request);
  if (!r) return report_error(err, "signoff", r.error());
  if (o.daemon.format == "json") {
    out << r->dump(2) << "\n";
    return kExitOk;
  }
  const json& s = (*r)["signoff"];
  const json& st = (*r)["standing"];
  out << "Recorded sign-off #" << cell_text(s, "id") << ": " << cell_text(s, "signoff") << " by "
      << cell_text(s, "by") << " at " << cell_text(s, "at") << "\n"
      << "Next due: " << cell_text(st, "due_at") << " (now " << cell_text(st, "state") << ")\n";
  return kExitOk;
}

int list(const SignoffOptions& o, std::ostream& out, std::ostream& err) {
  std::string path = "/api/v1/signoffs?limit=" + std::to_string(o.limit);
  if (o.signoff) path += "&signoff=" + *o.signoff;  // [a-z0-9_.-]: nothing to escape
  auto r = daemon_get_json(o.daemon, path);
  if (!r) return report_error(err, "signoff", r.error());
  bool overdue = false;
  for (const auto& c : (*r)["signoffs"]) overdue |= cell_text(c, "state") == "overdue";
  if (o.daemon.format == "json") {
    out << r->dump(2) << "\n";
  } else {
    out << "compliance_cadence: " << cell_text(*r, "status") << " (" << cell_text(*r, "summary")
        << ")\n\nSIGNOFF  KIND  OWNER  EVERY  STATE  DUE  LAST BY  LAST AT\n";
    for (const auto& c : (*r)["signoffs"]) {
      const json last = c.contains("last") ? c["last"] : json();
      out << cell_text(c, "name") << "  " << cell_text(c, "kind") << "  " << cell_text(c, "owner")
          << "  " << cell_text(c, "every") << "  " << cell_text(c, "state") << "  "
          << cell_text(c, "due_at") << "  " << cell_text(last, "by") << "  "
          << cell_text(last, "at") << "\n";
    }
    if (!(*r)["records"].empty()) {
      out << "\nID  SIGNOFF  BY  AT  EVIDENCE  RECORDED AT  SOURCE\n";
      for (const auto& x : (*r)["records"]) {
        out << cell_text(x, "id") << "  " << cell_text(x, "signoff") << "  " << cell_text(x, "by")
            << "  " << cell_text(x, "at") << "  " << cell_text(x, "evidence", "") << "  "
            << cell_text(x, "recorded_at") << "  " << cell_text(x, "source") << "\n";
      }
    }
  }
  return o.check && overdue ? kExitMismatch : kExitOk;
}

}  // namespace

int run_signoff(const SignoffOptions& o, std::ostream& out, std::ostream& err) {
  if (o.action == SignoffOptions::Action::kRecord) return record(o, out, err);
  if (o.limit < 1 || o.limit > 10000) {
    err << "opsready: signoff list: --limit must be from 1 to 10000\n";
    return kExitUsage;
  }
  return list(o, out, err);
}

}  // namespace opsready::app
