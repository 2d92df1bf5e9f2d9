#include "opsready/app/dashboard_command.h"

#include <fstream>
#include <ostream>
#include <sstream>

#include "opsready/server/dashboard.h"

namespace opsready::app {
namespace {

int report(std::ostream& err, const std::string& message, int code) {
  err << "opsready: dashboard: " << message << "\n";
  return code;
}

}  // namespace

int run_dashboard(const DashboardOptions& options, std::ostream& out, std::ostream& err) {
  if (options.format != "json" && options.format != "markdown") {
    return report(err, "--format: must be json or markdown, not '" + options.format + "'",
                  kExitUsage);
  }
  server::Dashboard dashboard;
  if (options.input) {
    std::ifstream in(*options.input, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    if (!in) return report(err, "cannot read '" + options.input->string() + "'", kExitNoInput);
    const auto doc = nlohmann::json::parse(buf.str(), nullptr, false);
    if (doc.is_discarded()) {
      return report(err, options.input->string() + ": not JSON", kExitDataErr);
    }
    auto inputs = server::dashboard_inputs_from_json(doc);
    if (!inputs) {
      return report(err, options.input->string() + ": " + inputs.error().describe(), kExitDataErr);
    }
    dashboard = server::build_dashboard(*inputs);
  } else {
    auto body = daemon_get_json(options.daemon, "/api/v1/dashboard");
    if (!body) return report(err, body.error().message, body.error().code);
    auto parsed = server::dashboard_from_json(*body);
    if (!parsed) {
      return report(err, "GET /api/v1/dashboard: " + parsed.error().describe(), kExitSoftware);
    }
    dashboard = std::move(*parsed);
  }
  const std::string text = options.format == "json" ? server::to_json(dashboard).dump(2) + "\n"
                                                    : server::to_markdown(dashboard);
  if (options.output) {
    std::ofstream file(*options.output, std::ios::binary | std::ios::trunc);
    file << text;
    file.close();
    if (!file) {
      return report(err, "cannot write '" + options.output->string() + "'", kExitCantCreate);
    }
  } else {
    out << text;
  }
  switch (dashboard.status) {
    case core::Status::kOk:
      return kExitOk;
    case core::Status::kWarn:
      return options.strict ? kExitWarn : kExitOk;
    case core::Status::kFail:
      return kExitBlock;
  }
  return kExitOk;
}

}  // namespace opsready::app
