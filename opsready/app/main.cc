// The `opsready` binary: command-line parsing only. CLI11 is included in this one
// translation unit (it is header-only and expensive to compile); each subcommand is a plain
// function in commands.cc.

#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "opsready/app/commands.h"
#include "opsready/app/config.h"
#include "opsready/app/version.h"

namespace {

using opsready::app::SnapshotOptions;

void add_snapshot_options(CLI::App& cmd, SnapshotOptions& o, bool with_format) {
  cmd.add_option("--from", o.from,
                 "Component-snapshot JSON: a file (object, array, or a saved readiness "
                 "snapshot) or a directory of *.json files")
      ->required();
  cmd.add_option("--policy", o.policy,
                 "Gate policy: an opsready YAML config file (its gate and components sections)");
  cmd.add_option("--now", o.now,
                 "Evaluation time, RFC 3339 (default: the current time); staleness is "
                 "measured against it");
  if (with_format) cmd.add_option("--format", o.format, "Output format")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace opsready::app;
  CLI::App app{
      "opsready: operational readiness and resilience telemetry for a FIX trading runtime.\n"
      "Run 'opsready <command> --help' for a command's options; exit codes are in docs/cli.md."};
  app.set_version_flag("--version", std::string("opsready ") + std::string(kVersion));
  app.require_subcommand(1);

  ServeOptions serve;
  auto* serve_cmd =
      app.add_subcommand("serve", "Run the daemon: HTTP API, /metrics, readiness evaluation");
  serve_cmd->add_option("--config", serve.config, "YAML configuration file (default: built-in)");
  serve_cmd->add_option(
      "--listen", serve.listen,
      "HOST:PORT to listen on (default 127.0.0.1:" + std::to_string(kDefaultPort) + ")");
  serve_cmd->add_option("--data-dir", serve.data_dir,
                        "Directory for the SQLite database (default ./opsready-data)");

  ServeOptions demo;
  demo.demo = true;
  auto* demo_cmd = app.add_subcommand(
      "demo", "Run the daemon with a built-in simulated trading runtime publishing telemetry");
  demo_cmd->add_option("--config", demo.config, "YAML configuration file (default: built-in)");
  demo_cmd->add_option("--listen", demo.listen, "HOST:PORT to listen on");
  demo_cmd->add_option("--data-dir", demo.data_dir, "Directory for the SQLite database");

  std::string check_file;
  auto* check_cmd = app.add_subcommand(
      "check-config", "Validate a configuration file; print every error with file:line");
  check_cmd->add_option("FILE", check_file, "The YAML configuration file")->required();

  SnapshotOptions snap;
  auto* snap_cmd = app.add_subcommand(
      "snapshot", "Aggregate component snapshots from files into one readiness snapshot");
  add_snapshot_options(*snap_cmd, snap, true);
  snap_cmd->get_option("--format")->check(CLI::IsMember({"json", "markdown"}));

  SnapshotOptions gate;
  gate.format = "text";
  auto* gate_cmd = app.add_subcommand(
      "gate", "Evaluate the readiness gate for CI: exit 0 pass, 1 warn (--strict), 2 block");
  add_snapshot_options(*gate_cmd, gate, true);
  gate_cmd->get_option("--format")->check(CLI::IsMember({"text", "json", "markdown"}));
  gate_cmd->add_flag("--strict", gate.strict, "Exit 1 when the gate decision is warn");

  SnapshotOptions ci;
  auto* ci_cmd = app.add_subcommand(
      "ci-summary",
      "Write a GitHub step summary (appended to $GITHUB_STEP_SUMMARY unless --out is given)");
  add_snapshot_options(*ci_cmd, ci, false);
  ci_cmd->add_option("--out", ci.out, "Write the summary to this file instead");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }

  // Logs go to stderr; stdout is for command output (JSON, Markdown).
  spdlog::set_default_logger(spdlog::stderr_color_mt("opsready"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  if (*serve_cmd) return run_serve(serve);
  if (*demo_cmd) return run_serve(demo);
  if (*check_cmd) return run_check_config(check_file);
  if (*snap_cmd) return run_snapshot(snap);
  if (*gate_cmd) return run_gate(gate);
  if (*ci_cmd) return run_ci_summary(ci);
  return kExitUsage;
}
