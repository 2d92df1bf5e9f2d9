// The `opsready` binary: command-line parsing only. CLI11 is included in this one
// translation unit (it is header-only and expensive to compile); each subcommand is a plain
// function in commands.cc.

#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "opsready/app/alerting_cli.h"
#include "opsready/app/commands.h"
#include "opsready/app/config.h"
#include "opsready/app/dashboard_command.h"
#include "opsready/app/detect_command.h"
#include "opsready/app/drill_cli.h"
#include "opsready/app/evaluate_command.h"
#include "opsready/app/replay_command.h"
#include "opsready/app/signoff_cli.h"
#include "opsready/app/status_command.h"
#include "opsready/app/test_receiver.h"
#include "opsready/app/version.h"
#include "opsready/core/time.h"

namespace {

using opsready::app::SnapshotOptions;

void add_snapshot_options(CLI::App& cmd, SnapshotOptions& o, bool with_format) {
  cmd.add_option("--from", o.from,
                 "Component-snapshot JSON: a file (object, array, or a saved readiness "
                 "snapshot) or a directory of *.json files");
  cmd.add_option("--document", o.documents,
                 "KIND=FILE (repeatable): a report document evaluated by its component, as "
                 "'opsready evaluate KIND --input FILE' does; ci-summary adds its Markdown");
  cmd.add_option("--policy", o.policy,
                 "Gate policy: an opsready YAML config file (its gate and components sections)");
  cmd.add_option("--now", o.now,
                 "Evaluation time, RFC 3339 (default: the current time); staleness is "
                 "measured against it");
  if (with_format) cmd.add_option("--format", o.format, "Output format")->capture_default_str();
}

// `opsready detect <detector>`: one sub-subcommand per detector, sharing one options struct.
CLI::App* add_detect(CLI::App& app, opsready::app::DetectOptions& o) {
  auto* detect = app.add_subcommand(
      "detect", "Run one drift detector over a CSV column; print one line per detection");
  detect->require_subcommand(1);
  const auto common = [&o](CLI::App* cmd) {
    cmd->add_option("--input", o.input, "CSV file with a header line")->required();
    cmd->add_option("--column", o.column, "Column to read")->capture_default_str();
    cmd->add_option("--format", o.format, "Output format")
        ->capture_default_str()
        ->check(CLI::IsMember({"csv", "json"}));
    return cmd;
  };
  auto* ph = common(detect->add_subcommand(
      "page-hinkley", "River's Page-Hinkley (min_instances 30, delta 0.005, threshold 50)"));
  ph->add_option("--min-instances", o.min_instances, "Samples before drift can be reported (30)");
  ph->add_option("--delta", o.delta, "Magnitude of changes to tolerate (0.005)");
  ph->add_option("--threshold", o.threshold, "Lambda (50)");
  ph->add_option("--alpha", o.alpha, "Forgetting factor (0.9999)");
  ph->add_option("--mode", o.mode, "up, down or both (both)")
      ->check(CLI::IsMember({"up", "down", "both"}));
  auto* cusum = common(detect->add_subcommand(
      "cusum", "River's tabular CUSUM (min_instances 30, slack 0.5, threshold 5, in sigmas)"));
  cusum->add_option("--min-instances", o.min_instances,
                    "Warm-up samples fixing the reference (30)");
  cusum->add_option("--slack", o.slack, "k, in standard deviations (0.5)");
  cusum->add_option("--threshold", o.threshold, "h, in standard deviations (5)");
  cusum->add_option("--mode", o.mode, "up, down or both (both)")
      ->check(CLI::IsMember({"up", "down", "both"}));
  auto* variance = common(detect->add_subcommand(
      "variance", "Rolling variance ratio, evaluation window over the baseline window before it"));
  variance->add_option("--baseline-window", o.baseline_window, "Baseline samples (20)");
  variance->add_option("--evaluation-window", o.evaluation_window, "Evaluation samples (20)");
  variance->add_option("--warn-ratio", o.warn_ratio, "Warn at this ratio or above (1.5)");
  variance->add_option("--alert-ratio", o.alert_ratio, "Alert at this ratio or above (2.5)");
  auto* psi = common(detect->add_subcommand(
      "psi", "Population stability index of tumbling windows against the first samples"));
  psi->add_option("--baseline", o.baseline, "Samples forming the baseline (120)");
  psi->add_option("--window", o.window, "Samples per evaluation window (24)");
  psi->add_option("--buckets", o.buckets, "Quantile buckets (10)");
  psi->add_option("--epsilon", o.epsilon, "Floor of a bucket share (1e-6)");
  psi->add_option("--alert", o.alert, "Alert at this PSI or above (0.25)");
  for (auto* cmd : {ph, cusum, variance, psi}) {
    cmd->callback([&o, cmd] { o.detector = cmd->get_name(); });
  }
  return detect;
}

// The alerting CLI's options (alerting_cli.h), one struct per command group.
struct AlertingOptions {
  opsready::app::AlertsOptions alerts;
  opsready::app::SilenceOptions silence;
  opsready::app::RoutesTestOptions routes;
  opsready::app::TestReceiverOptions test_receiver;
  opsready::app::IncidentsOptions incidents;
  opsready::app::DrillOptions drill;
  opsready::app::SignoffOptions signoff;
};
struct AlertingCommands {
  CLI::App* alerts = nullptr;
  CLI::App* silence = nullptr;
  CLI::App* routes = nullptr;
  CLI::App* test_receiver = nullptr;
  CLI::App* incidents = nullptr;
  CLI::App* drill = nullptr;
  CLI::App* signoff = nullptr;
};

// `opsready alerts|silence|routes <action>`: clients of a running daemon.
AlertingCommands add_alerting(CLI::App& app, AlertingOptions& o) {
  using opsready::app::AlertsOptions;
  using opsready::app::DaemonOptions;
  using opsready::app::SilenceOptions;
  const auto connection = [](CLI::App* cmd, DaemonOptions& d) {
    cmd->add_option("--url", d.url, "The daemon's base URL")->capture_default_str();
    cmd->add_option("--token-file", d.token_file,
                    "File holding the bearer token (default: $OPSREADY_TOKEN)");
    cmd->add_option("--timeout", d.timeout, "Connect, read and write timeout")
        ->capture_default_str();
    return cmd;
  };
  const auto daemon = [&connection](CLI::App* cmd, DaemonOptions& d) {
    cmd->add_option("--format", d.format, "Output format")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json"}));
    return connection(cmd, d);
  };
  AlertingCommands c;

  c.alerts = app.add_subcommand(
      "alerts", "Alerts and alert groups of a running daemon; test a receiver of a configuration");
  c.alerts->require_subcommand(1);
  auto& a = o.alerts;
  auto* list = daemon(
      c.alerts->add_subcommand("list", "List the firing alerts (GET /api/v2/alerts) as a table"),
      a.daemon);
  list->add_option("--filter", a.filters,
                   "Matcher (a=b, a!=b, a=~re, a!~re) the alerts must satisfy; repeatable");
  list->add_flag("--silenced", a.silenced, "Also list silenced alerts");
  list->add_flag("--inhibited", a.inhibited, "Also list inhibited alerts");
  list->add_option("--receiver", a.receiver, "Only alerts routed to a receiver matching REGEX");
  auto* groups =
      daemon(c.alerts->add_subcommand(
                 "groups", "List the aggregation groups with their id, receiver, labels and ack"),
             a.daemon);
  auto* ack = daemon(c.alerts->add_subcommand(
                         "ack", "Acknowledge a group: hold back its repeats, stop escalation"),
                     a.daemon);
  ack->add_option("GROUP_ID", a.group, "The group's id (alerts groups) or full key")->required();
  ack->add_option("--by", a.by, "Who acknowledges (default: $USER)");
  ack->add_option("--comment", a.comment, "Why, or what is being done");
  ack->add_option("--expires", a.expires,
                  "End of the ack: a duration from now (2h) or an RFC 3339 time");
  auto* unack =
      daemon(c.alerts->add_subcommand("unack", "End a group's acknowledgement"), a.daemon);
  unack->add_option("GROUP_ID", a.group, "The group's id or full key")->required();
  unack->add_option("--by", a.by, "Who ends it (default: $USER)");
  auto& t = o.test_receiver;
  c.test_receiver = c.alerts->add_subcommand(
      "test-receiver",
      "Send a test notification through every integration of a receiver of a configuration "
      "(no daemon needed); print what each answered");
  c.test_receiver->add_option("NAME", t.receiver, "The receiver's name")->required();
  c.test_receiver->add_option("--config", t.config, "YAML configuration file (default: built-in)");
  c.test_receiver
      ->add_option("--timeout", t.timeout,
                   "The timeout of each request (a GitHub exchange makes several)")
      ->capture_default_str();
  c.test_receiver->add_option("--format", t.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  for (auto [cmd, action] : {std::pair{list, AlertsOptions::Action::kList},
                             std::pair{groups, AlertsOptions::Action::kGroups},
                             std::pair{ack, AlertsOptions::Action::kAck},
                             std::pair{unack, AlertsOptions::Action::kUnack}}) {
    cmd->callback([&a, action = action] { a.action = action; });
  }

  c.silence = app.add_subcommand("silence", "Silences of a running daemon");
  c.silence->require_subcommand(1);
  auto& s = o.silence;
  auto* add = daemon(
      c.silence->add_subcommand("add", "Create a silence (POST /api/v2/silences); print its id"),
      s.daemon);
  add->add_option("MATCHER", s.matchers, "Matchers (a=b, a!=b, a=~re, a!~re), all must hold")
      ->required();
  add->add_option("--comment", s.comment, "Why the alerts are silenced")->required();
  add->add_option("--author", s.author, "Who silences (default: $USER)");
  auto* duration = add->add_option("--duration", s.duration, "How long, from --start (1h)");
  add->add_option("--end", s.end, "End, RFC 3339 (instead of --duration)")->excludes(duration);
  add->add_option("--start", s.start, "Start, RFC 3339 (default: now)");
  auto* query =
      daemon(c.silence->add_subcommand("list", "List the active and pending silences as a table"),
             s.daemon);
  query->add_flag("--expired", s.expired, "List the expired silences instead");
  query->add_option("--filter", s.filters,
                    "A matcher the silences must carry (same name, operator, value); repeatable");
  auto* expire = daemon(c.silence->add_subcommand("expire", "Expire silences by id"), s.daemon);
  expire->add_option("ID", s.ids, "Silence ids")->required();
  for (auto [cmd, action] : {std::pair{add, SilenceOptions::Action::kAdd},
                             std::pair{query, SilenceOptions::Action::kList},
                             std::pair{expire, SilenceOptions::Action::kExpire}}) {
    cmd->callback([&s, action = action] { s.action = action; });
  }

  c.routes = app.add_subcommand("routes", "The routing tree of a running daemon");
  c.routes->require_subcommand(1);
  auto* test = daemon(
      c.routes->add_subcommand(
          "test", "Print the receivers a label set routes to (as amtool config routes test)"),
      o.routes.daemon);
  test->add_option("--labels", o.routes.labels, "The alert's labels: k=v,k2=v2; repeatable");
  test->add_option("--verify", o.routes.verify,
                   "Expected receivers, comma-separated in route order; exit 1 when they differ");

  using opsready::app::IncidentsOptions;
  auto& inc = o.incidents;
  c.incidents = app.add_subcommand(
      "incidents", "Incidents of a running daemon: each alert group's timeline, MTTA and MTTR");
  c.incidents->require_subcommand(1);
  auto* inc_list = daemon(
      c.incidents->add_subcommand("list", "List incidents, newest first, with MTTA and MTTR"),
      inc.daemon);
  inc_list->add_option("--since", inc.since,
                       "Opened since: a duration back from now (7d) or an RFC 3339 time "
                       "(default 7d)");
  inc_list->add_option("--until", inc.until, "Opened until (default now)");
  inc_list->add_option("--state", inc.state, "open or resolved")
      ->check(CLI::IsMember({"open", "resolved"}));
  inc_list->add_option("--receiver", inc.receiver, "Only incidents of this receiver");
  inc_list->add_option("--limit", inc.limit, "At most this many (1-10000)")->capture_default_str();
  inc_list->callback([&inc] { inc.action = IncidentsOptions::Action::kList; });
  auto* timeline = connection(
      c.incidents->add_subcommand("timeline",
                                  "One incident's timeline: Markdown, or the brief's timeline "
                                  "JSON (opened, acknowledged, resolved)"),
      inc.daemon);
  timeline->add_option("ID", inc.id, "The incident's id (incidents list)")->required();
  timeline->add_option("--format", inc.timeline_format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "markdown"}));
  timeline->callback([&inc] { inc.action = IncidentsOptions::Action::kTimeline; });

  using opsready::app::DrillOptions;
  auto& dr = o.drill;
  c.drill = app.add_subcommand(
      "drill", "Forced-failure drills of a running daemon: list, run (MTTD/MTTA/MTTR), show");
  c.drill->require_subcommand(1);
  auto* dr_list =
      daemon(c.drill->add_subcommand("list", "The scenarios and the last runs"), dr.daemon);
  dr_list->callback([&dr] { dr.action = DrillOptions::Action::kList; });
  auto* dr_run = daemon(
      c.drill->add_subcommand("run",
                              "Run a scenario and wait for its verdict (exit 0 Pass, 1 Fail, 2 "
                              "Aborted, 3 Inconclusive)"),
      dr.daemon);
  dr_run->add_option("SCENARIO", dr.scenario, "The scenario's name (drill list)")->required();
  dr_run->add_flag("--dry-run", dr.dry_run,
                   "Print the plan and the steady-state checks now; inject nothing");
  dr_run->add_flag("--force", dr.force, "Run even while the gate blocks");
  dr_run->add_option("--by", dr.by, "Who runs it (default $USER)");
  dr_run->add_option("--wait", dr.wait, "How long to wait for the verdict")->capture_default_str();
  dr_run->callback([&dr] { dr.action = DrillOptions::Action::kRun; });
  auto* dr_show =
      daemon(c.drill->add_subcommand("show", "One run's evidence (Markdown, or --format json)"),
             dr.daemon);
  dr_show->add_option("ID", dr.id, "The drill's id (drill list)")->required();
  dr_show->callback([&dr] { dr.action = DrillOptions::Action::kShow; });

  using opsready::app::SignoffOptions;
  auto& so = o.signoff;
  c.signoff = app.add_subcommand(
      "signoff", "The compliance cadence of a running daemon: record a sign-off, list them");
  c.signoff->require_subcommand(1);
  auto* so_record = daemon(
      c.signoff->add_subcommand("record",
                                "Record a completed sign-off (security review, secrets rotation, "
                                "...) in the audit log"),
      so.daemon);
  so_record->add_option("NAME", so.name, "The sign-off's name (compliance.signoffs)")->required();
  so_record->add_option("--by", so.by, "Who signed off (default $USER)");
  so_record->add_option("--at", so.at, "When it was done, RFC 3339 (default now)");
  so_record->add_option("--evidence", so.evidence, "A link to the evidence (ticket, report)");
  so_record->add_option("--note", so.note, "A note for the audit log");
  so_record->callback([&so] { so.action = SignoffOptions::Action::kRecord; });
  auto* so_list =
      daemon(c.signoff->add_subcommand("list",
                                       "Each sign-off's standing (ok, due_soon, overdue) and the "
                                       "recorded sign-offs, newest first"),
             so.daemon);
  so_list->add_option("--signoff", so.signoff, "Only this sign-off");
  so_list->add_option("--limit", so.limit, "At most this many records (1-10000)")
      ->capture_default_str();
  so_list->add_flag("--check", so.check, "Exit 1 when a sign-off is overdue");
  so_list->callback([&so] { so.action = SignoffOptions::Action::kList; });
  return c;
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

  CheckConfigOptions check;
  auto* check_cmd = app.add_subcommand(
      "check-config",
      "Validate a configuration file; print every error with file:line, then secrets hygiene "
      "warnings (inline secrets, open secret files, expiring certificates)");
  check_cmd->add_option("FILE", check.file, "The YAML configuration file")->required();
  check_cmd->add_flag("--strict", check.strict,
                      "Exit 65 when there is a secrets hygiene warning (default: exit 0)");
  check_cmd
      ->add_option("--cert-warn-days", check.cert_warn_days,
                   "Warn about certificates that expire within N days (default 30)")
      ->check(CLI::Range(0, 36500));
  check_cmd->add_flag("--probe", check.probe,
                      "Also connect to each https:// receiver URL and check the expiry of the "
                      "certificate it presents (a TLS handshake, no request)");

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
  gate_cmd->add_option("--url", gate.url,
                       "Ask a running daemon (e.g. http://127.0.0.1:9477) for its gate instead "
                       "of --from/--document; token from $OPSREADY_TOKEN");
  gate_cmd->add_option("--wait", gate.wait,
                       "With --url: wait up to this long (e.g. 10m) for the gate to pass "
                       "(or warn, without --strict), asking every second");

  SnapshotOptions ci;
  auto* ci_cmd = app.add_subcommand(
      "ci-summary",
      "Write a GitHub step summary (appended to $GITHUB_STEP_SUMMARY unless --out is given)");
  add_snapshot_options(*ci_cmd, ci, false);
  ci_cmd->add_option("--out", ci.out, "Write the summary to this file instead");
  ci_cmd->add_option("--url", ci.url,
                     "Summarise a running daemon (e.g. http://127.0.0.1:9477) instead of "
                     "--from/--document: readiness, gate, a chart of the last --window, active "
                     "alerts, dashboard panels, every component; token from $OPSREADY_TOKEN");
  ci_cmd->add_option("--window", ci.window, "With --url: how far back the readiness chart goes")
      ->capture_default_str();

  DetectOptions detect;
  auto* detect_cmd = add_detect(app, detect);

  EvaluateOptions evaluate;
  auto* evaluate_cmd = app.add_subcommand(
      "evaluate",
      "Grade one report document (system validation, incident response, security, backups, "
      "failover drill, cross-region failover, disaster recovery, ...) and gate on it for CI: "
      "exit 0 pass, 1 warn (--strict), 2 block");
  std::string kinds;
  for (const auto k : evaluate_kinds()) kinds += (kinds.empty() ? "" : ", ") + std::string(k);
  evaluate_cmd->add_option("KIND", evaluate.kind, "The document kind: " + kinds)
      ->required()
      ->check(CLI::IsMember(evaluate_kinds()));
  evaluate_cmd
      ->add_option("--input", evaluate.input,
                   "The document (JSON): the runtime's input report or its evaluated snapshot")
      ->required();
  evaluate_cmd->add_option("--history", evaluate.history,
                           "Earlier documents, oldest first (a JSON array or JSON lines), for "
                           "rules that use history (system-validation reliability)");
  evaluate_cmd->add_option("--config", evaluate.config,
                           "YAML configuration file: thresholds (detectors) and the gate policy");
  evaluate_cmd->add_option("--now", evaluate.now,
                           "Evaluation time, RFC 3339 (default: the current time)");
  evaluate_cmd->add_option("--format", evaluate.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "markdown"}));
  evaluate_cmd->add_flag("--strict", evaluate.strict, "Exit 1 when the gate decision is warn");

  DashboardOptions dashboard;
  auto* dashboard_cmd = app.add_subcommand(
      "dashboard",
      "The observability dashboard (spec panels, statuses and remediation roll-up) as JSON or "
      "Markdown for CI, from a running daemon or built offline from an inputs file: exit 0 ok, "
      "1 warn (--strict), 2 fail");
  auto* dashboard_url =
      dashboard_cmd->add_option("--url", dashboard.daemon.url, "The daemon's base URL")
          ->capture_default_str();
  dashboard_cmd
      ->add_option("--input", dashboard.input,
                   "Build offline from this JSON file instead (keys: the dashboard inputs, "
                   "e.g. examples/dashboard/inputs.json)")
      ->excludes(dashboard_url);
  dashboard_cmd->add_option("--token-file", dashboard.daemon.token_file,
                            "File holding the bearer token (default: $OPSREADY_TOKEN)");
  dashboard_cmd
      ->add_option("--timeout", dashboard.daemon.timeout, "Connect, read and write timeout")
      ->capture_default_str();
  dashboard_cmd->add_option("--format", dashboard.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "markdown"}));
  dashboard_cmd->add_option("--output", dashboard.output, "Write to this file instead of stdout");
  dashboard_cmd->add_flag("--strict", dashboard.strict, "Exit 1 when the overall status is warn");
  StatusOptions status;
  auto* status_cmd = app.add_subcommand(
      "status",
      "Write the public status page (groups, incidents, 90-day history) as Markdown, JSON or "
      "HTML, from a running daemon (--url) or its store offline (--db)");
  status_cmd->add_option("--url", status.url, "The daemon's base URL")->capture_default_str();
  status_cmd->add_option("--db", status.db,
                         "The daemon's SQLite file (<data_dir>/opsready.db): build the page "
                         "offline instead of asking the daemon");
  status_cmd->add_option("--config", status.config,
                         "YAML configuration file: its status_page and gate sections (--db)");
  status_cmd->add_option("--format", status.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"markdown", "json", "html"}));
  status_cmd->add_option("--output", status.output, "Write to this file instead of stdout");
  status_cmd->add_option("--timeout", status.timeout, "Connect and read timeout")
      ->capture_default_str();

  ReplayOptions replay;
  auto* replay_cmd = app.add_subcommand(
      "replay",
      "Feed recorded telemetry (JSONL: events, and external alerts, silences and acks) through "
      "the evaluation engine on a manual clock; print every readiness change, every derived "
      "alert and every notification that would be sent");
  replay_cmd->add_option("FILE", replay.input, "Telemetry events, one JSON object per line")
      ->required();
  replay_cmd->add_option("--config", replay.config,
                         "YAML configuration file (gate, detectors and alerting sections)");
  replay_cmd->add_option("--format", replay.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  replay_cmd->add_flag("--keep-going", replay.keep_going,
                       "Skip (and count) rejected events and invalid lines, and exit 0; by "
                       "default a rejected event makes the replay exit 65 after the last line");
  replay_cmd->add_flag("--final", replay.final,
                       "Print the final readiness snapshot and component states (Markdown, or "
                       "a JSON record with --format json)");
  std::string settle = "5m";
  replay_cmd
      ->add_option("--settle", settle,
                   "After the last line, fire the timers (group_wait, group_interval, "
                   "escalation) due within this long")
      ->capture_default_str();

  AlertingOptions alerting;
  const AlertingCommands alerting_cmds = add_alerting(app, alerting);

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
  if (*check_cmd) return run_check_config(check);
  if (*snap_cmd) return run_snapshot(snap);
  if (*gate_cmd) return run_gate(gate);
  if (*ci_cmd) return run_ci_summary(ci);
  if (*detect_cmd) return run_detect(detect, std::cout, std::cerr);
  if (*evaluate_cmd) return run_evaluate(evaluate, std::cout, std::cerr);
  if (*dashboard_cmd) return run_dashboard(dashboard, std::cout, std::cerr);
  if (*status_cmd) return run_status(status, std::cout, std::cerr);
  if (*alerting_cmds.test_receiver) {
    return run_test_receiver(alerting.test_receiver, std::cout, std::cerr);
  }
  if (*alerting_cmds.alerts) return run_alerts(alerting.alerts, std::cout, std::cerr);
  if (*alerting_cmds.silence) return run_silence(alerting.silence, std::cout, std::cerr);
  if (*alerting_cmds.routes) return run_routes_test(alerting.routes, std::cout, std::cerr);
  if (*alerting_cmds.incidents) return run_incidents(alerting.incidents, std::cout, std::cerr);
  if (*alerting_cmds.drill) return run_drill(alerting.drill, std::cout, std::cerr);
  if (*alerting_cmds.signoff) return run_signoff(alerting.signoff, std::cout, std::cerr);
  if (*replay_cmd) {
    auto d = opsready::core::parse_duration(settle);
    if (!d) {
      std::cerr << "opsready: --settle: " << d.error().message << "\n";
      return kExitUsage;
    }
    replay.settle = *d;
    return run_replay(replay, std::cout, std::cerr);
  }
  return kExitUsage;
}
