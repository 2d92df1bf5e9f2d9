#pragma once
// Config: the typed, validated form of opsready's YAML configuration file.
//
//   auto cfg = load_config_file("opsready.yml");
//   if (!cfg) for (const auto& e : cfg.error()) std::cerr << e.describe() << "\n";
//
// Every knob is documented in docs/configuration.md; defaults are the embedded defaults
// `opsready serve` runs with when no file is given. Loading collects every error (with
// file:line) instead of stopping at the first; a loaded Config carries the load's warnings.
// Every section is read by one declarative table (config_reader.h). Plain value types; not
// shared across threads.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/alerting/deadman.h"
#include "opsready/alerting/policy.h"
#include "opsready/components/compliance_cadence.h"
#include "opsready/components/registry.h"
#include "opsready/core/clock.h"
#include "opsready/core/cron.h"
#include "opsready/drills/scenario.h"
#include "opsready/readiness/readiness.h"
#include "opsready/server/http_listener.h"
#include "opsready/server/status_page.h"
#include "opsready/store/store.h"

namespace opsready::app {

inline constexpr int kDefaultPort = 9477;

struct ListenAddress {
  std::string host = "127.0.0.1";
  int port = kDefaultPort;  // 0 = any free port (printed in the log when bound)

  bool operator==(const ListenAddress&) const = default;
};

// bus.nats: NATS JetStream, as an ingest path (a durable consumer of opsready.events.<topic>)
// and as the first bus of the failover publisher. Absent: no NATS at all.
struct NatsConfig {
  std::vector<std::string> servers = {"nats://127.0.0.1:4222"};
  std::string stream = "OPSREADY_EVENTS";
  std::string subject_prefix = "opsready.events";
  bool create_stream = true;
  bool memory_storage = false;
  core::Duration duplicate_window = std::chrono::minutes(2);
  core::Duration connect_timeout = std::chrono::seconds(2);
  core::Duration publish_timeout = std::chrono::seconds(2);
  core::Duration reconnect_initial = std::chrono::milliseconds(100);
  core::Duration reconnect_max = std::chrono::seconds(5);
  // The ingest consumer. ingest=false: opsready publishes to NATS but consumes nothing.
  bool ingest = true;
  std::string durable = "opsready";
  std::string filter = ">";
  int batch = 256;
  core::Duration fetch_timeout = std::chrono::milliseconds(500);
  core::Duration ack_wait = std::chrono::seconds(30);
  std::int64_t max_ack_pending = 20000;
  // This replica is the durable consumer's only reader: deliveries lost in flight are read
  // from the stream so that events are applied in stream order. false when replicas share it.
  bool ordered = true;
  // JetStream consumers whose CONSUMER.INFO the nats_consumer component grades, besides
  // opsready's own ingest consumer: "STREAM/CONSUMER" each (the brief's consumer lag).
  std::vector<std::string> watch_consumers;

  bool operator==(const NatsConfig&) const = default;
};

// store: where history and alerting state are kept. Without store.postgres, SQLite in
// <data_dir>/opsready.db (one replica); with it, the PostgreSQL database that replicas share
// (docs/replicas.md).
struct StoreConfig {
  std::optional<store::PostgresOptions> postgres;
  // Whether the DSN came inline (store.postgres.dsn) and names a password: secrets hygiene
  // warns, as for every inline secret.
  bool dsn_has_inline_password = false;

  bool operator==(const StoreConfig&) const = default;
};

// replica: who this daemon is among those sharing one store (docs/replicas.md). Its name owns
// the outbox rows it claims to send; a claim lasts claim_lease and is renewed every
// claim_interval while the row is being sent, so a replica that dies leaves its notifications
// to another once the lease ends.
struct ReplicaConfig {
  std::string name;  // empty: the host name
  core::Duration claim_lease = std::chrono::seconds(30);
  core::Duration claim_interval = std::chrono::seconds(1);

  bool operator==(const ReplicaConfig&) const = default;
};

// The replica's name: `replica.name`, else the host name, else "opsready".
[[nodiscard]] std::string replica_name(const ReplicaConfig& replica);

struct BusConfig {
  std::optional<NatsConfig> nats;
  // bus.spool: where events that no bus takes are kept until one does. Empty dir: <data_dir>/spool.
  std::filesystem::path spool_dir;
  std::string spool_fsync = "interval";  // always | interval | never
  core::Duration spool_fsync_interval = std::chrono::milliseconds(200);
  std::uint64_t spool_max_bytes = std::uint64_t{1} << 30;
  // How long a failed bus is skipped before it is retried; also the spool replay period.
  core::Duration retry_interval = std::chrono::seconds(1);
  // How often the event_bus component is evaluated and published on telemetry.event_bus.health.
  core::Duration health_interval = std::chrono::seconds(10);

  bool operator==(const BusConfig&) const = default;
};

// http: the HTTP listener's threads, limits and timeouts (docs/configuration.md#http). The body
// size limit is ingest.max_body_bytes.
struct HttpConfig {
  server::ListenerLimits listener;  // every http: key but stream_heartbeat
  core::Duration stream_heartbeat = std::chrono::seconds(15);

  bool operator==(const HttpConfig&) const = default;
};

// delivery: how notifications are sent (docs/configuration.md#delivery, docs/alerting.md).
struct DeliveryConfig {
  // Where opsready is reached, for links in notifications (Alertmanager's --web.external-url);
  // empty: http://<listen address>.
  std::string external_url;
  std::size_t max_in_flight = 256;              // requests running at once, all receivers
  std::size_t max_in_flight_per_receiver = 16;  // per receiver: a slow one holds only its own
  core::Duration connect_timeout = std::chrono::seconds(5);
  core::Duration timeout = std::chrono::seconds(10);  // of one request, connect included
  core::Duration backoff_initial = std::chrono::milliseconds(500);
  core::Duration backoff_max = std::chrono::seconds(60);
  core::Duration give_up_after = std::chrono::hours(24);
  // OpsreadyNotificationFailing fires once a notification failed this many attempts in a row
  // (or was refused for good); the next one accepted by that integration resolves it.
  int failing_after_attempts = 3;
  // Sent and failed outbox rows older than this are deleted (pending rows never are).
  core::Duration retention = std::chrono::hours(24 * 5);

  bool operator==(const DeliveryConfig&) const = default;
};

// One problem in a configuration file: an error, or a warning that does not stop the load.
// drills: (app/drills_config.h reads it; docs/drills.md).
struct DrillsConfig {
  std::vector<std::filesystem::path> paths;  // as given (resolved against the config file)
  std::vector<drills::Scenario> scenarios;   // every file's, by name
  // How often a running drill observes opsready (its times are opsready's records; this is
  // how soon it notices them, and the resolution of its abort conditions).
  core::Duration poll_interval = std::chrono::milliseconds(100);

  bool operator==(const DrillsConfig&) const = default;
};

// validation: scheduled validation runs (app/validation_service.h).
struct ValidationSchedule {
  std::string name;
  // Exactly one of `every` (an interval from the daemon's start) and `cron` (fire times, UTC).
  core::Duration every{};  // zero for a cron schedule
  std::optional<core::CronSchedule> cron;
  std::string command;  // stdout: a report document, taken in on `topic`
  std::string drill;    // or: a drill scenario to start (a game day)
  std::string topic = "telemetry.operational.system_validation";
  core::Duration timeout = std::chrono::minutes(5);
  // Missed when no run succeeded by the due run + grace. Interval: zero at load becomes `every`.
  // Cron: zero means the gap from the due fire time to the next one.
  core::Duration grace{};
  core::Duration first_run_after{};  // the first run, after the daemon starts

  bool operator==(const ValidationSchedule&) const = default;
};

struct ValidationConfig {
  std::vector<ValidationSchedule> schedules;

  bool operator==(const ValidationConfig&) const = default;
};

// compliance: the sign-offs a desk owes on a cadence (app/compliance_service.h).
struct ComplianceConfig {
  std::vector<components::SignoffCadence> signoffs;

  bool operator==(const ComplianceConfig&) const = default;
};

struct ConfigError {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  std::string message;

  // "FILE:LINE: MESSAGE"; with a kind, "FILE:LINE: KIND: MESSAGE" (check-config's warnings).
  [[nodiscard]] std::string describe(std::string_view kind = {}) const;

  bool operator==(const ConfigError&) const = default;
};

struct Config {
  ListenAddress listen;
  HttpConfig http;
  std::filesystem::path data_dir = "./opsready-data";
  // How often readiness is re-evaluated even when no event arrives (staleness moves with time).
  core::Duration evaluation_interval = std::chrono::seconds(1);
  // How long `serve` may take to drain and flush after SIGTERM.
  core::Duration shutdown_timeout = std::chrono::seconds(10);
  std::size_t max_body_bytes = 8u << 20;
  std::size_t queue_capacity = 65536;
  // Bearer tokens for the ingest routes, read at load from ingest.auth.tokens_file and/or the
  // environment variable named by ingest.auth.tokens_env; empty: no authentication. Secrets:
  // never log or render them.
  std::vector<std::string> ingest_tokens;
  // ingest.alerts.resolve_timeout: endsAt given to a posted alert that has none
  // (Alertmanager's resolve_timeout). The section was a top-level `alerts:` before; that name
  // still loads, with a warning.
  core::Duration alert_resolve_timeout = std::chrono::minutes(5);
  // ingest.alerts.flush_interval: accepted alerts are held in memory at once and written to the
  // store this often (and at a graceful stop); a crash loses at most this window.
  core::Duration alert_flush_interval = std::chrono::milliseconds(200);
  // ingest.expected_sources: the telemetry the dead-man switch expects (alerting/deadman.h).
  std::vector<alerting::ExpectedSource> expected_sources;
  // History older than this is pruned from the store; zero keeps everything.
  core::Duration retention = std::chrono::hours(24 * 14);
  readiness::GatePolicy gate;
  // detectors: settings of the built-in component evaluators (docs/components.md).
  components::ComponentsConfig detectors;
  BusConfig bus;
  StoreConfig store;
  ReplicaConfig replica;
  // alerting: the alerting policy, an Alertmanager configuration inline or in the file
  // alerting.config_file names (app/alerting_config.h); absent: alerting::default_policy().
  alerting::Policy alerting = alerting::default_policy();
  DeliveryConfig delivery;
  // status_page: the public status page's title, groups and history retention
  // (server/status_page.h).
  server::StatusPageOptions status_page;
  // drills: the forced-failure drill scenarios and how a running drill observes opsready
  // (app/drills_config.h, docs/drills.md).
  DrillsConfig drills;
  // validation: scheduled validation commands and game days (docs/operator-guide.md
  // "Continuous validation").
  ValidationConfig validation;
  // compliance: security reviews, secrets rotation, access reviews, ... (docs/operator-guide.md
  // "Compliance cadence").
  ComplianceConfig compliance;
  // Not a setting: what the load found worth saying without refusing the file (a deprecated
  // name). `serve` logs them, `check-config` prints them as FILE:LINE: warning: MESSAGE.
  std::vector<ConfigError> warnings;

  bool operator==(const Config&) const = default;
};

using ConfigResult = std::expected<Config, std::vector<ConfigError>>;

[[nodiscard]] ConfigResult load_config_file(const std::filesystem::path& file);
// `name` is used in error messages in place of a file name.
[[nodiscard]] ConfigResult parse_config(const std::string& yaml, const std::string& name);

// Every key parse_config() accepts, as a dotted path, from the reader's own tables (top level
// first, in the tables' order): "listen", "http", "http.threads", ..., "bus.nats.servers", ...
// The items of a list of mappings are "[]" ("components[].max_age",
// "alerting.receivers[].slack_configs[].api_url"), names the user chooses "*"
// ("detectors.ingest_slos.dimensions.*.freshness_target", "alerting.route.match.*"). The route
// tree is listed two levels deep ("alerting.route.receiver", "alerting.route.routes[].receiver"):
// a deeper route has the same keys. Deprecated names are included; they still load.
[[nodiscard]] std::vector<std::string> known_config_keys();

[[nodiscard]] core::Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace opsready::app
