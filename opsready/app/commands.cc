#include "opsready/app/commands.h"

#include "opsready/app/standby.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string_view>
#include <thread>

#include <spdlog/spdlog.h>

#include "opsready/app/alerting_cli.h"
#include "opsready/app/config.h"
#include "opsready/app/demo.h"
#include "opsready/app/evaluate_command.h"
#include "opsready/app/runtime.h"
#include "opsready/app/secrets_hygiene.h"
#include "opsready/app/snapshot_files.h"
#include "opsready/bus/nats_bus.h"
#include "opsready/core/time.h"
#include "opsready/report/ci_summary.h"
#include "opsready/supervise/runner.h"

namespace opsready::app {
namespace {

// The configuration of serve/demo: the file, then flags; an exit code on error.
std::expected<Config, int> resolve_config(const ServeOptions& o) {
  Config cfg;
  if (o.config) {
    auto loaded = load_config_file(*o.config);
    if (!loaded) {
      for (const auto& e : loaded.error()) std::cerr << "opsready: " << e.describe() << "\n";
      return std::unexpected(kExitDataErr);
    }
    for (const auto& w : loaded->warnings) spdlog::warn("{}", w.describe());
    cfg = *loaded;
  }
  if (o.listen) {
    auto addr = parse_listen_address(*o.listen);
    if (!addr) {
      std::cerr << "opsready: --listen: " << addr.error().message << "\n";
      return std::unexpected(kExitUsage);
    }
    cfg.listen = *addr;
  }
  if (o.data_dir) cfg.data_dir = *o.data_dir;
  return o.demo ? demo_config(std::move(cfg), core::SystemClock::instance().now()) : cfg;
}

struct Loaded {
  readiness::ReadinessSnapshot snapshot;
  std::vector<report::ReportSection> reports;  // the Markdown of each --document
};

// Shared front half of snapshot / gate / ci-summary: --now, --policy, --from, --document.
std::expected<Loaded, int> load_snapshot(const SnapshotOptions& o) {
  core::TimePoint now = core::SystemClock::instance().now();
  if (o.now) {
    auto t = core::parse_rfc3339(*o.now);
    if (!t) {
      std::cerr << "opsready: --now: " << t.error().message << "\n";
      return std::unexpected(kExitUsage);
    }
    now = *t;
  }
  if (!o.from && o.documents.empty()) {
    std::cerr << "opsready: give --from (component snapshots) or --document KIND=FILE\n";
    return std::unexpected(kExitUsage);
  }
  Config cfg;
  if (o.policy) {
    auto loaded = load_config_file(*o.policy);
    if (!loaded) {
      for (const auto& e : loaded.error()) std::cerr << "opsready: " << e.describe() << "\n";
      return std::unexpected(kExitDataErr);
    }
    cfg = std::move(*loaded);
  }
  std::vector<core::ComponentSnapshot> snaps;
  if (o.from) {
    auto from = load_component_snapshots(*o.from, now);
    if (!from) {
      std::cerr << "opsready: " << from.error().message << "\n";
      return std::unexpected(kExitDataErr);
    }
    snaps = std::move(*from);
  }
  Loaded out;
  for (const std::string& spec : o.documents) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      std::cerr << "opsready: --document must be KIND=FILE, got '" << spec << "'\n";
      return std::unexpected(kExitUsage);
    }
    auto e = evaluate_document(spec.substr(0, eq), spec.substr(eq + 1), std::nullopt, cfg, now);
    if (!e) {
      std::cerr << "opsready: " << e.error().message << "\n";
      return std::unexpected(e.error().exit_code);
    }
    out.reports.push_back({.component = e->snapshot.component, .markdown = e->markdown});
    snaps.push_back(std::move(e->snapshot));
  }
  out.snapshot = readiness::aggregate(snaps, cfg.gate, now);
  return out;
}

}  // namespace

int run_serve(const ServeOptions& options) {
  auto cfg = resolve_config(options);
  if (!cfg) return cfg.error();

  // libnats's global threads go last, after the runtime closed its connection.
  struct NatsLibrary {
    bool used = false;
    ~NatsLibrary() {
      if (used) bus::shutdown_nats_library();
    }
  } nats_library{cfg->bus.nats.has_value()};
  // Replicas on one PostgreSQL store: one leads, the others stand by here until it goes
  // (docs/replicas.md).
  std::optional<Leading> leading;
  if (cfg->store.postgres) {
    leading.emplace(Leading::wait(*cfg));
    switch (leading->outcome()) {
      case Leading::Outcome::kLeading:
        break;
      case Leading::Outcome::kStopped:
        return kExitOk;
      case Leading::Outcome::kUnavailable:
        spdlog::error("cannot start: {}", leading->error());
        return kExitUnavailable;
      case Leading::Outcome::kFailed:
        spdlog::error("cannot start: {}", leading->error());
        return kExitFailure;
    }
    if (leading->port() != 0) cfg->listen.port = leading->port();
  }
  Runtime runtime(*cfg, core::SystemClock::instance());
  auto port = runtime.start({.demo = options.demo});
  if (!port) {
    spdlog::error("cannot start: {}", port.error().message);
    // 69 (EX_UNAVAILABLE) when the store's server cannot be reached: a supervisor retries.
    return port.error().code == "store_unavailable" ? kExitUnavailable : kExitFailure;
  }
  replica_leader_gauge(runtime.registry()).with({}).set(1);
  if (leading) {
    leading->watch([](const std::string& holder) {
      // Another replica leads: what this one holds in memory is no longer the store's truth,
      // and writing it now would overwrite the new leader's state. Exit at once, as a crash
      // would (the outbox and the claims make that safe); a supervisor restarts it as a
      // standby.
      spdlog::error(
          "leadership lost: replica {} leads now; stopping at once without writing "
          "(exit 75)",
          holder);
      spdlog::default_logger()->flush();
      std::fflush(nullptr);
      std::_Exit(kExitLeadershipLost);
    });
  }
  if (options.demo) {
    spdlog::info("demo workload running: open http://{}:{}/api/v1/readiness?format=markdown",
                 cfg->listen.host, *port);
  }
  supervise::RunnerOptions run_options;
  run_options.drain_timeout = cfg->shutdown_timeout;
  run_options.log = [](supervise::LogLevel level, std::string_view message) {
    if (level == supervise::LogLevel::kError) {
      spdlog::error("{}", message);
    } else if (level == supervise::LogLevel::kWarn) {
      spdlog::warn("{}", message);
    } else {
      spdlog::info("{}", message);
    }
  };
  supervise::RuntimeRunner runner(runtime.context(), runtime.supervisor(), std::move(run_options));
  const supervise::RunReport report = runner.run();  // logs its own summary line
  if (report.exit_code != kExitOk) {
    // Tasks may have been abandoned mid-flight: do not run destructors that would wait on them.
    spdlog::default_logger()->flush();
    std::fflush(nullptr);
    std::_Exit(report.exit_code);
  }
  return kExitOk;
}

int run_check_config(const CheckConfigOptions& o) {
  auto cfg = load_config_file(o.file);
  if (!cfg) {
    for (const auto& e : cfg.error()) std::cerr << e.describe() << "\n";
    std::cerr << cfg.error().size() << " error(s) in " << o.file.string() << "\n";
    return kExitDataErr;
  }
  for (const auto& w : cfg->warnings) std::cerr << w.describe("warning") << "\n";
  const auto findings = check_secrets_hygiene(*cfg, o.file,
                                              {.now = core::SystemClock::instance().now(),
                                               .cert_warn_days = o.cert_warn_days,
                                               .probe = o.probe});
  for (const auto& f : findings) std::cerr << f.where.describe("warning") << "\n";
  if (o.strict && !findings.empty()) {
    std::cerr << findings.size() << " secrets hygiene warning(s) in " << o.file.string()
              << " (--strict)\n";
    return kExitDataErr;
  }
  std::cout << o.file.string() << ": OK (" << cfg->gate.components.size()
            << " component(s) configured, listen " << cfg->listen.host << ":" << cfg->listen.port
            << (findings.empty()
                    ? ""
                    : ", " + std::to_string(findings.size()) + " secrets hygiene warning(s)")
            << ")\n";
  return kExitOk;
}

int run_snapshot(const SnapshotOptions& o) {
  if (o.format != "json" && o.format != "markdown") {
    std::cerr << "opsready: --format must be json or markdown\n";
    return kExitUsage;
  }
  auto loaded = load_snapshot(o);
  if (!loaded) return loaded.error();
  if (o.format == "markdown") {
    std::cout << readiness::to_markdown(loaded->snapshot);
  } else {
    std::cout << readiness::to_json(loaded->snapshot).dump(2) << "\n";
  }
  return kExitOk;
}

namespace {

// gate --url: the daemon's GET /api/v1/gate, asked every second until the gate lets the
// pipeline through or --wait has passed; the exit code of the last decision.
int run_gate_from_daemon(const SnapshotOptions& o) {
  if (o.format == "markdown") {
    std::cerr << "opsready: gate --url: --format must be text or json\n";
    return kExitUsage;
  }
  core::Duration wait = core::Duration::zero();
  if (o.wait) {
    auto d = core::parse_duration(*o.wait);
    if (!d || *d < core::Duration::zero()) {
      std::cerr << "opsready: gate: --wait: '" << *o.wait << "' is not a duration (e.g. 10m)\n";
      return kExitUsage;
    }
    wait = *d;
  }
  const DaemonOptions daemon{.url = *o.url};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  const auto code_of = [&o](const std::string& decision) {
    if (decision == "pass") return kExitOk;
    if (decision == "warn") return o.strict ? kExitWarn : kExitOk;
    return kExitBlock;
  };
  std::string last;
  for (;;) {
    auto gate = daemon_get_json(daemon, "/api/v1/gate");
    if (!gate) {
      std::cerr << "opsready: gate: " << gate.error().message << "\n";
      return gate.error().code;
    }
    const std::string decision = gate->value("decision", "block");
    const int code = code_of(decision);
    if (code == kExitOk || std::chrono::steady_clock::now() >= deadline) {
      if (o.format == "json") {
        std::cout << gate->dump(2) << "\n";
      } else {
        std::cout << "gate: " << decision << "\n";
        for (const char* kind : {"blocking_reasons", "warnings"}) {
          for (const auto& r : gate->value(kind, nlohmann::json::array())) {
            std::cout << (std::string_view(kind) == "warnings" ? "  warn  " : "  block ")
                      << r.value("code", "") << ": " << r.value("message", "") << "\n";
          }
        }
      }
      if (code != kExitOk && wait > core::Duration::zero()) {
        std::cerr << "opsready: gate: still " << decision << " after --wait " << *o.wait << "\n";
      }
      return code;
    }
    if (decision != last) {
      std::cerr << "opsready: gate: " << decision << "; waiting up to " << *o.wait
                << " for it to pass\n";
      last = decision;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace

int run_gate(const SnapshotOptions& o) {
  if (o.format != "json" && o.format != "markdown" && o.format != "text") {
    std::cerr << "opsready: --format must be text, json or markdown\n";
    return kExitUsage;
  }
  if (o.url) {
    if (o.from || !o.documents.empty()) {
      std::cerr << "opsready: gate: --url cannot be combined with --from or --document\n";
      return kExitUsage;
    }
    return run_gate_from_daemon(o);
  }
  if (o.wait) {
    std::cerr << "opsready: gate: --wait needs --url (a running daemon to ask)\n";
    return kExitUsage;
  }
  auto loaded = load_snapshot(o);
  if (!loaded) return loaded.error();
  const auto& gate = loaded->snapshot.gate;
  if (o.format == "json") {
    std::cout << readiness::to_json(gate).dump(2) << "\n";
  } else if (o.format == "markdown") {
    std::cout << readiness::to_markdown(loaded->snapshot);
  } else {
    std::cout << "gate: " << readiness::to_string(gate.decision) << "\n";
    for (const auto& r : gate.blocking_reasons) {
      std::cout << "  block " << r.code << ": " << r.message << "\n";
    }
    for (const auto& r : gate.warnings)
      std::cout << "  warn  " << r.code << ": " << r.message << "\n";
  }
  switch (gate.decision) {
    case readiness::GateDecision::Decision::kPass:
      return kExitOk;
    case readiness::GateDecision::Decision::kWarn:
      return o.strict ? kExitWarn : kExitOk;
    case readiness::GateDecision::Decision::kBlock:
      return kExitBlock;
  }
  return kExitBlock;
}

// ci-summary --url: what the daemon knows, as parts of the summary.
struct DaemonSummary {
  readiness::ReadinessSnapshot snapshot;
  std::vector<report::ReadinessPoint> history;
  nlohmann::json alerts;
  nlohmann::json dashboard;
};

std::expected<DaemonSummary, int> load_from_daemon(const SnapshotOptions& o) {
  auto window = core::parse_duration(o.window);
  if (!window || *window <= core::Duration::zero()) {
    std::cerr << "opsready: ci-summary: --window: '" << o.window
              << "' is not a positive duration (e.g. 30m, 2h)\n";
    return std::unexpected(kExitUsage);
  }
  const DaemonOptions daemon{.url = *o.url};
  auto get = [&daemon](const std::string& path) -> std::expected<nlohmann::json, int> {
    auto j = daemon_get_json(daemon, path);
    if (!j) {
      std::cerr << "opsready: ci-summary: " << j.error().message << "\n";
      return std::unexpected(j.error().code);
    }
    return std::move(*j);
  };
  auto readiness = get("/api/v1/readiness");
  if (!readiness) return std::unexpected(readiness.error());
  auto snapshot = readiness::readiness_from_json(*readiness);
  if (!snapshot) {
    std::cerr << "opsready: ci-summary: the daemon's readiness: " << snapshot.error().describe()
              << "\n";
    return std::unexpected(kExitSoftware);
  }
  DaemonSummary out{.snapshot = std::move(*snapshot), .history = {}, .alerts = {}, .dashboard = {}};
  const core::TimePoint since = out.snapshot.generated_at - *window;
  auto history = get("/api/v1/readiness/history?limit=10000&since=" + core::format_rfc3339(since) +
                     "&until=" + core::format_rfc3339(out.snapshot.generated_at));
  if (!history) return std::unexpected(history.error());
  for (const auto& h : history->value("snapshots", nlohmann::json::array())) {
    auto at = core::parse_rfc3339(h.value("generated_at", std::string()));
    auto st = core::parse_status(h.value("status", std::string()));
    if (at && st) out.history.push_back({.at = *at, .status = *st});
  }
  out.history.push_back({.at = out.snapshot.generated_at, .status = out.snapshot.status});
  auto alerts = get("/api/v2/alerts?active=true&silenced=false&inhibited=false");
  if (!alerts) return std::unexpected(alerts.error());
  out.alerts = std::move(*alerts);
  auto dashboard = get("/api/v1/dashboard");
  if (!dashboard) return std::unexpected(dashboard.error());
  out.dashboard = std::move(*dashboard);
  return out;
}

int run_ci_summary(const SnapshotOptions& o) {
  std::optional<DaemonSummary> live;
  std::expected<Loaded, int> loaded = Loaded{};
  if (o.url) {
    if (o.from || !o.documents.empty()) {
      std::cerr << "opsready: ci-summary: give --url or --from/--document, not both\n";
      return kExitUsage;
    }
    auto got = load_from_daemon(o);
    if (!got) return got.error();
    live = std::move(*got);
    loaded->snapshot = live->snapshot;
  } else {
    loaded = load_snapshot(o);
  }
  if (!loaded) return loaded.error();
  std::filesystem::path target;
  bool append = false;
  if (o.out) {
    target = *o.out;
  } else if (const char* env = std::getenv("GITHUB_STEP_SUMMARY"); env && *env) {
    target = env;
    append = true;
  }
  std::size_t budget = report::kGithubStepSummaryLimit;
  if (append) {
    std::error_code ec;
    const auto existing = std::filesystem::file_size(target, ec);
    if (!ec) budget = existing >= budget ? 0 : budget - static_cast<std::size_t>(existing);
  }
  const std::string md =
      report::ci_summary_markdown(loaded->snapshot, budget,
                                  live ? report::CiSummaryParts{.reports = {},
                                                                .history = live->history,
                                                                .alerts = live->alerts,
                                                                .dashboard = live->dashboard}
                                       : report::CiSummaryParts{.reports = loaded->reports});
  if (target.empty()) {
    std::cout << md;
    return kExitOk;
  }
  std::ofstream out(target, append ? std::ios::app | std::ios::binary : std::ios::binary);
  out << md;
  out.flush();
  if (!out) {
    std::cerr << "opsready: cannot write " << target.string() << "\n";
    return kExitCantCreate;
  }
  return kExitOk;
}

}  // namespace opsready::app
