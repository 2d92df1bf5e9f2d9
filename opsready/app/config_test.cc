#include "opsready/app/config.h"
#include "opsready/core/time.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace opsready::app {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> describe_all(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.describe());
  return out;
}

// Valid documents, section by section: the Config each one loads to (the defaults, changed by
// `want`), with no warning.
TEST(Config, EverySectionLoads) {
  struct Case {
    const char* name;
    const char* yaml;
    std::function<void(Config&)> want;
  };
  const Case cases[] = {
      {"empty file", "", [](Config&) {}},
      {"comment only", "# nothing\n", [](Config&) {}},
      {"top level",
       "listen: '[::1]:0'\ndata_dir: /var/lib/opsready\nevaluation_interval: 10ms\n"
       "shutdown_timeout: 1m\nretention: 0s\n",
       [](Config& c) {
         c.listen = {.host = "::1", .port = 0};
         c.data_dir = "/var/lib/opsready";
         c.evaluation_interval = 10ms;
         c.shutdown_timeout = 1min;
         c.retention = 0s;
       }},
      {"http", "http:\n  threads: 4\n  idle_timeout: 1d\n  offload_body_bytes: 0\n",
       [](Config& c) {
         c.http.listener.threads = 4;
         c.http.listener.idle_timeout = 24h;
         c.http.listener.offload_body_bytes = 0;
       }},
      {"ingest", "ingest:\n  max_body_bytes: 1024\n  queue_capacity: 16777216\n",
       [](Config& c) {
         c.max_body_bytes = 1024;
         c.queue_capacity = 16777216;
       }},
      {"ingest.alerts", "ingest:\n  alerts:\n    resolve_timeout: 1h\n    flush_interval: 10ms\n",
       [](Config& c) {
         c.alert_resolve_timeout = 1h;
         c.alert_flush_interval = 10ms;
       }},
      {"ingest.alerts at the upper limit", "ingest:\n  alerts: {flush_interval: 1h}\n",
       [](Config& c) { c.alert_flush_interval = 1h; }},
      {"delivery",
       "delivery:\n  external_url: https://opsready.desk\n  max_in_flight: 8\n"
       "  max_in_flight_per_receiver: 2\n  connect_timeout: 1s\n  timeout: 3s\n"
       "  backoff_initial: 100ms\n  backoff_max: 5s\n  give_up_after: 1h\n"
       "  failing_after_attempts: 1\n  retention: 1d\n",
       [](Config& c) {
         c.delivery.external_url = "https://opsready.desk";
         c.delivery.max_in_flight = 8;
         c.delivery.max_in_flight_per_receiver = 2;
         c.delivery.connect_timeout = 1s;
         c.delivery.timeout = 3s;
         c.delivery.backoff_initial = 100ms;
         c.delivery.backoff_max = 5s;
         c.delivery.give_up_after = 1h;
         c.delivery.failing_after_attempts = 1;
         c.delivery.retention = 24h;
       }},
      {"bus.spool", "bus:\n  spool:\n    dir: spool\n    fsync: never\n    max_bytes: 1048576\n",
       [](Config& c) {
         c.bus.spool_dir = "spool";
         c.bus.spool_fsync = "never";
         c.bus.spool_max_bytes = 1048576;
       }},
      {"bus.nats",
       "bus:\n  nats:\n    servers: [tls://a:4443]\n    batch: 10000\n    ordered: false\n",
       [](Config& c) {
         c.bus.nats.emplace();
         c.bus.nats->servers = {"tls://a:4443"};
         c.bus.nats->batch = 10000;
         c.bus.nats->ordered = false;
       }},
      {"gate",
       "gate:\n  block_on: [fail, warn]\n  warn_on: []\n  max_age: 90s\n  stale_status: fail\n"
       "  max_fail_components: 0\n  max_warn_components: 3\n  empty_decision: block\n",
       [](Config& c) {
         c.gate.block_on = {core::Status::kFail, core::Status::kWarn};
         c.gate.warn_on = {};
         c.gate.max_age = 90s;
         c.gate.stale_status = core::Status::kFail;
         c.gate.max_fail_components = 0;
         c.gate.max_warn_components = 3;
         c.gate.empty_decision = readiness::GateDecision::Decision::kBlock;
       }},
      {"components",
       "components:\n  - name: fix_gateway\n    required: true\n    max_age: 30s\n"
       "    stale_status: fail\n    block_on: [fail, warn]\n    warn_on: []\n"
       "  - {name: backups}\n",
       [](Config& c) {
         c.gate.components["fix_gateway"] = {
             .max_age = 30s,
             .required = true,
             .stale_status = core::Status::kFail,
             .block_on = std::vector{core::Status::kFail, core::Status::kWarn},
             .warn_on = std::vector<core::Status>{}};
         c.gate.components["backups"] = {};
       }},
      {"detectors",
       "detectors:\n  sensory_drift: {lookback: 7}\n  ingest_slos:\n    burn_rate:\n"
       "      windows: [{long: 1h, short: 5m, burn_rate: 2}]\n",
       [](Config& c) {
         c.detectors.sensory_drift.lookback = 7;
         c.detectors.ingest_slos.burn_rate.windows = {
             {.long_window = 1h, .short_window = 5min, .burn_rate = 2}};
       }},
      {"compliance",
       "compliance:\n  signoffs:\n    - name: security-review\n      kind: security_review\n"
       "      owner: secops\n      every: 90d\n      due_soon: 10d\n      overdue: warn\n"
       "      since: 2026-12-01T00:00:00Z\n      description: quarterly\n"
       "    - {name: rotation, owner: platform, every: 30d}\n",
       [](Config& c) {
         c.compliance.signoffs = {{.name = "security-review",
                                   .kind = "security_review",
                                   .owner = "secops",
                                   .every = 24h * 90,
                                   .due_soon = 24h * 10,
                                   .overdue = core::Status::kWarn,
                                   .since = core::parse_rfc3339("2026-12-01T00:00:00Z").value(),
                                   .description = "quarterly"},
                                  {.name = "rotation", .owner = "platform", .every = 24h * 30}};
       }},
      {"validation, interval and cron",
       "validation:\n  schedules:\n    - {name: hourly, every: 1h, command: validate}\n"
       "    - name: nightly\n      cron: '30 2 * * mon-fri'\n      command: validate --all\n"
       "      grace: 3h\n",
       [](Config& c) {
         c.validation.schedules = {
             {.name = "hourly", .every = 1h, .command = "validate", .grace = 1h},
             {.name = "nightly",
              .cron = core::CronSchedule::parse("30 2 * * mon-fri").value(),
              .command = "validate --all",
              .grace = 3h}};
       }},
      {"store.postgres",
       "store:\n  postgres:\n    dsn: 'host=db1 dbname=opsready user=opsready'\n"
       "    pool_size: 8\n    connect_timeout: 3s\n    statement_timeout: 2s\n"
       "    reconnect_backoff_initial: 50ms\n    reconnect_backoff_max: 5s\n",
       [](Config& c) {
         c.store.postgres = store::PostgresOptions{.dsn = "host=db1 dbname=opsready user=opsready",
                                                   .pool_size = 8,
                                                   .connect_timeout = 3s,
                                                   .statement_timeout = 2s,
                                                   .reconnect_backoff_initial = 50ms,
                                                   .reconnect_backoff_max = 5s};
       }},
      {"store without postgres is SQLite", "store:\n", [](Config&) {}},
      {"replica", "replica:\n  name: opsready-2\n  claim_lease: 10s\n  claim_interval: 500ms\n",
       [](Config& c) {
         c.replica = {.name = "opsready-2", .claim_lease = 10s, .claim_interval = 500ms};
       }},
      // A key with nothing under it is an empty section; `nats:` alone turns NATS on.
      {"empty sections", "http:\ningest:\nbus:\n  nats:\ngate:\ndetectors:\n",
       [](Config& c) { c.bus.nats.emplace(); }},
  };
  for (const auto& c : cases) {
    auto cfg = parse_config(c.yaml, "t.yml");
    ASSERT_TRUE(cfg) << c.name << ": " << cfg.error().front().describe();
    Config want;
    c.want(want);
    EXPECT_EQ(*cfg, want) << c.name;
    EXPECT_TRUE(cfg->warnings.empty()) << c.name;
  }
}

// Invalid documents: each gives exactly one error, FILE:LINE: MESSAGE. At least one per kind of
// key and per kind of check.
TEST(Config, EveryKindOfErrorNamesFileAndLine) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      // The document and its sections.
      {"[1, 2]\n", "t.yml:1: the configuration must be a YAML mapping"},
      {"listen: 127.0.0.1:0\nlisten_on: x\n",
       "t.yml:2: unknown key 'listen_on' in the top level (known: listen, data_dir, "
       "evaluation_interval, shutdown_timeout, retention, http, ingest, bus, store, replica, gate, "
       "components, "
       "detectors, alerting, drills, validation, compliance, delivery, status_page)"},
      {"gate:\n  max_age: 1m\n  max_age: 2m\n", "t.yml:3: key 'max_age' is given twice in gate"},
      {"compliance:\n  signoffs:\n    - {name: sec, owner: a, every: 90d, kind: review}\n",
       "t.yml:3: compliance.signoffs[0].kind must be one of security_review, secrets_rotation, "
       "access_review, compliance_signoff, postmortem_review, other, got 'review'"},
      {"compliance:\n  signoffs:\n    - {name: Sec Review, owner: a, every: 90d}\n",
       "t.yml:3: compliance.signoffs[0].name: 'Sec Review' is not a sign-off name ([a-z0-9_.-]+, "
       "at most 128)"},
      {"compliance:\n  signoffs:\n    - {name: sec, owner: a, every: 90d, overdue: block}\n",
       "t.yml:3: compliance.signoffs[0].overdue must be fail or warn, got 'block'"},
      {"compliance:\n  signoffs:\n    - {name: sec, every: 90d}\n",
       "t.yml:3: compliance.signoffs[0] needs 'owner'"},
      {"compliance:\n  signoffs:\n    - {name: sec, owner: a, every: 7d, due_soon: 8d}\n",
       "t.yml: compliance.signoffs: 'sec': due_soon (1w1d) is longer than every (1w)"},
      {"gate: [fail]\n", "t.yml:1: gate must be a mapping"},
      {"store:\n  postgres:\n    pool_size: 2\n",
       "t.yml:3: store.postgres needs 'dsn' or 'dsn_file'"},
      {"store:\n  postgres:\n    dsn: host=a\n    dsn_file: /nonexistent/dsn\n",
       "t.yml:4: store.postgres.dsn_file: give either dsn or dsn_file, not both"},
      {"store:\n  postgres:\n    dsn_file: /nonexistent/dsn\n",
       "t.yml:3: store.postgres.dsn_file: cannot read '/nonexistent/dsn': No such file or "
       "directory"},
      {"store:\n  postgres:\n    dsn: host=a\n    pool_size: 0\n",
       "t.yml:4: store.postgres.pool_size must be between 1 and 256"},
      {"replica:\n  claim_lease: 4s\n  claim_interval: 3s\n",
       "t.yml:2: replica.claim_interval must be at most half of claim_lease (4s)"},
      {"replica:\n  name: ''\n", "t.yml:2: replica.name must not be empty"},
      {"replica:\n  claim_lease: 2h\n", "t.yml:2: replica.claim_lease must be between 1s and 1h"},
      {"ingest:\n  auth: tokens\n", "t.yml:2: ingest.auth must be a mapping"},
      {"bus:\n  spool:\n    size: 1\n",
       "t.yml:3: unknown key 'size' in bus.spool (known: dir, fsync, fsync_interval, max_bytes)"},
      // Single values.
      {"data_dir: [a]\n", "t.yml:1: data_dir must be a single value"},
      {"data_dir: ''\n", "t.yml:1: data_dir must not be empty"},
      {"listen: nowhere\n", "t.yml:1: listen: 'nowhere' is not HOST:PORT (e.g. 127.0.0.1:9477)"},
      {"bus:\n  nats:\n    stream: a.b\n",
       "t.yml:3: bus.nats.stream 'a.b' must not contain spaces, '.', '*' or '>'"},
      {"bus:\n  nats:\n    durable: a/b\n",
       "t.yml:3: bus.nats.durable 'a/b' must be 1-128 of [A-Za-z0-9_-]"},
      {"bus:\n  nats:\n    filter: 'a.>.b'\n",
       "t.yml:3: bus.nats.filter: '>' must be the last token of 'a.>.b'"},
      {"bus:\n  nats:\n    ingest: yes\n",
       "t.yml:3: bus.nats.ingest must be true or false, got 'yes'"},
      {"bus:\n  spool:\n    fsync: sometimes\n",
       "t.yml:3: bus.spool.fsync must be always, interval or never, got 'sometimes'"},
      // Integers.
      {"ingest:\n  queue_capacity: lots\n",
       "t.yml:2: ingest.queue_capacity must be an integer, got 'lots'"},
      {"ingest:\n  max_body_bytes: 1023\n",
       "t.yml:2: ingest.max_body_bytes must be between 1024 and 2147483648"},
      {"gate:\n  max_fail_components: -1\n",
       "t.yml:2: gate.max_fail_components must be between 0 and 1000000"},
      {"detectors:\n  drift_sentry:\n    max_metrics: 1.5\n",
       "t.yml:3: detectors.drift_sentry.max_metrics must be a whole number from 0 to 4294967295, "
       "got '1.5'"},
      {"detectors:\n  sensory_drift:\n    psi_alert: high\n",
       "t.yml:3: detectors.sensory_drift.psi_alert must be a number, got 'high'"},
      // Durations.
      {"shutdown_timeout: 5 minutes\n",
       "t.yml:1: shutdown_timeout: invalid duration '5 minutes': unknown unit '' (use ms, s, m, "
       "h, d or w)"},
      {"evaluation_interval: 9ms\n", "t.yml:1: evaluation_interval must be at least 10ms"},
      {"gate:\n  max_age: 0s\n", "t.yml:2: gate.max_age must be positive"},
      {"bus:\n  nats:\n    reconnect_max: 0s\n",
       "t.yml:3: bus.nats.reconnect_max must be positive"},
      {"http:\n  stream_heartbeat: 2h\n",
       "t.yml:2: http.stream_heartbeat must be between 100ms and 1h"},
      {"ingest:\n  alerts:\n    flush_interval: 5ms\n",
       "t.yml:3: ingest.alerts.flush_interval must be between 10ms and 1h"},
      {"ingest:\n  alerts:\n    resolve_timeout: 0s\n",
       "t.yml:3: ingest.alerts.resolve_timeout must be positive"},
      {"delivery:\n  max_in_flight: 0\n",
       "t.yml:2: delivery.max_in_flight must be between 1 and 100000"},
      {"delivery:\n  retention: 0s\n", "t.yml:2: delivery.retention must be positive"},
      {"delivery:\n  timeout: 5ms\n", "t.yml:2: delivery.timeout must be between 10ms and 1h"},
      // Statuses and timestamps.
      {"gate:\n  stale_status: purple\n",
       "t.yml:2: gate.stale_status: unknown status word 'purple' (expected ok/warn/fail or an "
       "equivalent: pass, met/at_risk/breached, normal/alert, error, ready/degraded/blocked)"},
      {"gate:\n  block_on: fail\n",
       "t.yml:2: gate.block_on must be a list of statuses, e.g. [fail]"},
      {"detectors:\n  strategy_performance:\n    period_start: yesterday\n",
       "t.yml:3: detectors.strategy_performance.period_start: invalid RFC 3339 timestamp "
       "'yesterday': "},
      // Lists.
      {"bus:\n  nats:\n    servers: []\n",
       "t.yml:3: bus.nats.servers must be a non-empty list of URLs (nats://HOST:PORT)"},
      {"bus:\n  nats:\n    servers: [nats://a:1, http://b:2]\n",
       "t.yml:3: bus.nats.servers: 'http://b:2' is not a nats:// or tls:// URL"},
      {"bus:\n  nats:\n    servers: [nats://a:1, '']\n",
       "t.yml:3: bus.nats.servers entry must not be empty"},
      {"detectors:\n  sensory_drift:\n    dimensions: WHY\n",
       "t.yml:3: detectors.sensory_drift.dimensions must be a list"},
      {"detectors:\n  sensory_drift:\n    dimensions: [[WHY]]\n",
       "t.yml:3: detectors.sensory_drift.dimensions must be a single value"},
      {"components: {name: x}\n",
       "t.yml:1: components must be a list of {name, max_age, required, ...}"},
      {"components:\n  - fix_gateway\n",
       "t.yml:2: each component must be a mapping with at least 'name'"},
      {"components:\n  - required: true\n", "t.yml:2: component is missing 'name'"},
      {"components:\n  - name: Fix Gateway\n",
       "t.yml:2: 'Fix Gateway' is not a component name ([a-z0-9_.-]+)"},
      {"components:\n  - name: a\n  - name: a\n", "t.yml:3: component 'a' is listed twice"},
      {"components:\n  - name: a\n    max_age: 0s\n",
       "t.yml:3: components.a.max_age must be positive"},
      {"components:\n  - name: a\n    colour: red\n",
       "t.yml:3: unknown key 'colour' in components.a (known: name, max_age, required, "
       "stale_status, block_on, warn_on)"},
      {"components:\n  - name: ''\n", "t.yml:2: '' is not a component name ([a-z0-9_.-]+)"},
      {"detectors:\n  ingest_slos:\n    burn_rate:\n      windows: [{long: 1h, burn_rate: 2}]\n",
       "t.yml:4: detectors.ingest_slos.burn_rate.windows[0] needs 'short'"},
      {"detectors:\n  ingest_slos:\n    burn_rate:\n      windows: {long: 1h}\n",
       "t.yml:4: detectors.ingest_slos.burn_rate.windows must be a list of {long, short, "
       "burn_rate, severity}"},
      // Mappings of user-chosen names.
      {"detectors:\n  ingest_slos:\n    dimensions: [bars]\n",
       "t.yml:3: detectors.ingest_slos.dimensions must be a mapping {dimension: targets}"},
      {"detectors:\n  ingest_slos:\n    dimensions:\n      bars: {freshness: 1h}\n",
       "t.yml:4: unknown key 'freshness' in detectors.ingest_slos.dimensions.bars (known: "
       "freshness_target, freshness_breach, completeness_target, completeness_breach, "
       "latency_target_p95, latency_breach_p95)"},
      {"detectors:\n  drift_sentry:\n    training_reference: [a]\n",
       "t.yml:3: detectors.drift_sentry.training_reference must be a mapping {metric: "
       "reference}"},
      // Cross-field validation of the detectors, at the key.
      {"detectors:\n  sensory_drift:\n    warn_threshold: 0.9\n    alert_threshold: 0.5\n",
       "t.yml:3: detectors.sensory_drift.warn_threshold: must not be above alert_threshold "
       "(0.5)"},
      // validation.schedules: a cron field that is wrong is named; the checks across keys
      // point at the schedule.
      {"validation:\n  schedules:\n    - name: x\n      cron: '61 * * * *'\n      command: c\n",
       "t.yml:4: validation.schedules[0].cron: minute field '61': 61 is not in 0-59"},
      {"validation:\n  schedules:\n    - {name: x, cron: '0 0 30 2 *', command: c}\n",
       "t.yml:3: validation.schedules[0].cron: '0 0 30 2 *' never fires: no month of the month "
       "field has a day of the day-of-month field"},
      {"validation:\n  schedules:\n    - {name: x, cron: '* * * *', command: c}\n",
       "t.yml:3: validation.schedules[0].cron: '* * * *' is not a 5-field cron expression "
       "(minute hour day-of-month month day-of-week), it has 4 field(s)"},
      {"validation:\n  schedules:\n    - name: x\n      every: 1h\n      cron: '* * * * *'\n"
       "      command: c\n",
       "t.yml:3: validation.schedules[0]: 'x' needs exactly one of every and cron"},
      {"validation:\n  schedules:\n    - {name: x, command: c}\n",
       "t.yml:3: validation.schedules[0]: 'x' needs exactly one of every and cron"},
      {"validation:\n  schedules:\n    - {name: x, every: 1m}\n",
       "t.yml:3: validation.schedules[0]: 'x' needs exactly one of command and drill"},
      {"validation:\n  schedules:\n    - {name: x, every: 1m, command: a}\n"
       "    - {name: x, cron: '* * * * *', command: b}\n",
       "t.yml:4: validation.schedules[1]: two schedules are named 'x'"},
      // Secrets: the variable is named, its value never.
      {"ingest:\n  auth:\n    tokens_env: OPSREADY_CONFIG_TEST_UNSET\n",
       "t.yml:3: ingest.auth.tokens_env: environment variable 'OPSREADY_CONFIG_TEST_UNSET' is "
       "not set"},
  };
  unsetenv("OPSREADY_CONFIG_TEST_UNSET");
  for (const auto& c : cases) {
    auto cfg = parse_config(c.yaml, "t.yml");
    ASSERT_FALSE(cfg) << c.yaml;
    const auto got = describe_all(cfg.error());
    ASSERT_EQ(got.size(), 1u) << c.yaml << ::testing::PrintToString(got);
    // Messages that end in another layer's explanation are compared up to it.
    const std::string want = c.want;
    if (want.ends_with(": ")) {
      EXPECT_TRUE(got[0].starts_with(want)) << got[0] << "\n  want: " << want;
    } else {
      EXPECT_EQ(got[0], want);
    }
  }
}

TEST(Config, SyntaxErrorNamesTheLine) {
  auto cfg = parse_config("gate:\n  block_on: [fail\n", "t.yml");
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 1u);
  EXPECT_TRUE(cfg.error()[0].message.starts_with("YAML syntax error: ")) << cfg.error()[0].message;
  EXPECT_GT(cfg.error()[0].line, 0);
}

// Every error of a file at once, in the order of the tables, each section's unknown keys first.
TEST(Config, CollectsEveryError) {
  auto cfg = parse_config("gate:\n  max_age: soon\n  colour: red\nlisten: x\nhttp:\n  threads: 0\n",
                          "t.yml");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(describe_all(cfg.error()),
            (std::vector<std::string>{
                "t.yml:4: listen: 'x' is not HOST:PORT (e.g. 127.0.0.1:9477)",
                "t.yml:6: http.threads must be between 1 and 64",
                "t.yml:3: unknown key 'colour' in gate (known: block_on, warn_on, max_age, "
                "stale_status, max_fail_components, max_warn_components, empty_decision)",
                "t.yml:2: gate.max_age: invalid duration 'soon' (expected e.g. 30s, 5m, 1h30m, "
                "250ms)",
            }));
}

// A component entry without a usable name is still checked, under its index, and left out.
TEST(Config, ComponentWithoutANameIsCheckedUnderItsIndex) {
  auto cfg = parse_config(
      "components:\n  - name: a\n  - {required: maybe}\n  - {name: a, max_age: 0s}\n", "t.yml");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(describe_all(cfg.error()),
            (std::vector<std::string>{
                "t.yml:3: component is missing 'name'",
                "t.yml:3: components[1].required must be true or false, got 'maybe'",
                "t.yml:4: component 'a' is listed twice",
                "t.yml:4: components[2].max_age must be positive",
            }));
}

TEST(Config, IngestTokensFromFileAndEnvironment) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "opsready_config_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokens") << "# tokens\n\ntok-a\n tok-b \n";
  setenv("OPSREADY_CONFIG_TEST_TOKENS", "tok-c, tok-d", 1);
  // A relative tokens_file is resolved against the configuration file's directory.
  auto cfg = parse_config(
      "ingest:\n  auth:\n    tokens_file: tokens\n"
      "    tokens_env: OPSREADY_CONFIG_TEST_TOKENS\n",
      (dir / "opsready.yml").string());
  unsetenv("OPSREADY_CONFIG_TEST_TOKENS");
  ASSERT_TRUE(cfg) << cfg.error().front().describe();
  EXPECT_EQ(cfg->ingest_tokens, (std::vector<std::string>{"tok-a", "tok-b", "tok-c", "tok-d"}));

  std::ofstream(dir / "spaced") << "tok a\n";
  cfg =
      parse_config("ingest:\n  auth:\n    tokens_file: spaced\n", (dir / "opsready.yml").string());
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 2u);
  EXPECT_EQ(cfg.error()[0].message, "ingest.auth.tokens_file '" + (dir / "spaced").string() +
                                        "': line 1 contains whitespace (a token must not)");
  EXPECT_EQ(cfg.error()[1].message,
            "ingest.auth.tokens_file '" + (dir / "spaced").string() + "' holds no token");
  std::filesystem::remove_all(dir);
}

// `alerts:` (external alerts) is now `ingest.alerts:`; the old name loads with one warning.
TEST(Config, DeprecatedAlertsSectionStillLoadsWithAWarning) {
  const char* old_name =
      "listen: 127.0.0.1:0\nalerts:\n  resolve_timeout: 1h\n"
      "  flush_interval: 1s\n";
  const char* new_name =
      "listen: 127.0.0.1:0\ningest:\n  alerts:\n    resolve_timeout: 1h\n"
      "    flush_interval: 1s\n";
  auto old_cfg = parse_config(old_name, "t.yml");
  auto new_cfg = parse_config(new_name, "t.yml");
  ASSERT_TRUE(old_cfg) << old_cfg.error().front().describe();
  ASSERT_TRUE(new_cfg) << new_cfg.error().front().describe();
  EXPECT_EQ(old_cfg->alert_resolve_timeout, 1h);
  EXPECT_EQ(old_cfg->alert_flush_interval, 1s);
  EXPECT_EQ(
      old_cfg->warnings,
      (std::vector<ConfigError>{
          {"t.yml", 2, "'alerts' is deprecated; write it as 'ingest.alerts' (the same keys)"}}));
  EXPECT_EQ(old_cfg->warnings[0].describe("warning"),
            "t.yml:2: warning: 'alerts' is deprecated; write it as 'ingest.alerts' (the same "
            "keys)");
  EXPECT_TRUE(new_cfg->warnings.empty());
  old_cfg->warnings.clear();
  EXPECT_EQ(*old_cfg, *new_cfg);

  // Errors under the old name name the old path, as the user wrote it.
  auto bad = parse_config("alerts:\n  flush_interval: 5ms\n", "t.yml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(
      describe_all(bad.error()),
      (std::vector<std::string>{"t.yml:2: alerts.flush_interval must be between 10ms and 1h"}));
  bad = parse_config("alerts: 5m\n", "t.yml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(describe_all(bad.error()),
            (std::vector<std::string>{"t.yml:1: alerts must be a mapping"}));
}

TEST(Config, OldAndNewAlertsSectionsTogetherAreAnError) {
  for (const char* yaml : {"alerts:\n  resolve_timeout: 1h\ningest:\n  alerts: {}\n",
                           "ingest:\n  alerts:\n    flush_interval: 1s\nalerts: {}\n"}) {
    auto cfg = parse_config(yaml, "t.yml");
    ASSERT_FALSE(cfg) << yaml;
    const int line = std::string(yaml).starts_with("alerts") ? 1 : 4;
    EXPECT_EQ(describe_all(cfg.error()),
              (std::vector<std::string>{"t.yml:" + std::to_string(line) +
                                        ": 'alerts' is the deprecated name of 'ingest.alerts'; "
                                        "set only 'ingest.alerts'"}))
        << yaml;
  }
}

TEST(Config, DescribeWithAndWithoutLine) {
  EXPECT_EQ((ConfigError{"a.yml", 3, "m"}).describe(), "a.yml:3: m");
  EXPECT_EQ((ConfigError{"a.yml", 0, "m"}).describe(), "a.yml: m");
  EXPECT_EQ((ConfigError{"a.yml", 0, "m"}).describe("warning"), "a.yml: warning: m");
}

TEST(Config, TheExampleFileLoadsWithoutWarnings) {
  const auto repo = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  auto cfg = load_config_file(repo / "examples" / "opsready.yml");
  ASSERT_TRUE(cfg) << cfg.error().front().describe();
  EXPECT_TRUE(cfg->warnings.empty()) << cfg->warnings.front().describe();
  EXPECT_EQ(cfg->alert_flush_interval, 200ms);
  EXPECT_EQ(cfg->gate.components.size(), 4u);
}

}  // namespace
}  // namespace opsready::app

namespace opsready::app {
namespace {

TEST(Config, AlertmanagersGlobalResolveTimeoutIsTheIngestOne) {
  using std::chrono::minutes;
  const std::string policy =
      "alerting:\n  global:\n    resolve_timeout: 10m\n  route:\n    receiver: r\n"
      "  receivers:\n    - name: r\n";
  auto cfg = parse_config(policy, "t.yml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().front().describe();
  EXPECT_EQ(cfg->alert_resolve_timeout, minutes(10));
  // The same value twice is fine; two different ones are not.
  EXPECT_TRUE(parse_config("ingest:\n  alerts:\n    resolve_timeout: 10m\n" + policy, "t.yml"));
  auto both = parse_config("ingest:\n  alerts:\n    resolve_timeout: 2m\n" + policy, "t.yml");
  ASSERT_FALSE(both.has_value());
  EXPECT_NE(both.error().front().describe().find("are the same setting"), std::string::npos)
      << both.error().front().describe();
}

TEST(Config, StatusPageSectionLoadsWithItsDefaults) {
  auto none = parse_config("", "t.yml");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status_page, server::StatusPageOptions{});
  EXPECT_EQ(none->status_page.title, "opsready status");
  EXPECT_TRUE(none->status_page.show_ungrouped);
  EXPECT_EQ(none->status_page.status_days, 400);
  auto cfg = parse_config(
      "status_page:\n"
      "  title: Desk status\n"
      "  url: https://status.example.com\n"
      "  show_ungrouped: false\n"
      "  incident_receivers: [public]\n"
      "  status_days: 120\n"
      "  groups:\n"
      "    - name: Market data\n"
      "      description: Prices and order flow\n"
      "      components: [\"ingest*\", event_bus]\n"
      "    - name: Risk\n"
      "      components: [risk]\n",
      "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().front().describe();
  const server::StatusPageOptions want{.title = "Desk status",
                                       .url = "https://status.example.com",
                                       .groups = {{.name = "Market data",
                                                   .description = "Prices and order flow",
                                                   .components = {"ingest*", "event_bus"}},
                                                  {.name = "Risk", .components = {"risk"}}},
                                       .show_ungrouped = false,
                                       .incident_receivers = {"public"},
                                       .status_days = 120};
  EXPECT_EQ(cfg->status_page, want);
}

TEST(Config, StatusPageErrorsNameFileAndLine) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"status_page:\n  colour: red\n",
       "t.yml:2: unknown key 'colour' in status_page (known: title, url, groups, show_ungrouped, "
       "incident_receivers, status_days)"},
      {"status_page:\n  groups:\n    - name: A\n      components: [a]\n      icon: x\n",
       "t.yml:5: unknown key 'icon' in status_page.groups[0] (known: name, description, "
       "components)"},
      {"status_page:\n  groups:\n    - name: A\n      components: [a]\n    - name: A\n"
       "      components: [b]\n",
       "t.yml:5: status_page.groups[1]: group 'A' is listed twice"},
      {"status_page:\n  groups:\n    - name: Other\n      components: [a]\n",
       "t.yml:3: status_page.groups[0]: 'Other' is the name of the ungrouped components' group; "
       "choose another"},
      {"status_page:\n  groups:\n    - name: A\n",
       "t.yml:3: status_page.groups[0] needs 'components'"},
      {"status_page:\n  status_days: 30\n",
       "t.yml:2: status_page.status_days must be between 90 and 100000"},
  };
  for (const auto& c : cases) {
    auto cfg = parse_config(c.yaml, "t.yml");
    ASSERT_FALSE(cfg) << c.yaml;
    const auto got = describe_all(cfg.error());
    ASSERT_EQ(got.size(), 1u) << c.yaml << ::testing::PrintToString(got);
    EXPECT_EQ(got[0], c.want);
  }
}

// A document that holds the key `path` (as known_config_keys() writes it) with a value at the
// end, in YAML's flow style: "a.b[].c.*.d" → {a: {b: [{c: {x: {d: x}}}]}}. Not null: a null
// integration setting is the same as an absent one.
std::string holding(std::string_view path) {
  if (path.empty()) return "x";
  if (path.starts_with("[]")) {
    path.remove_prefix(2);
    if (path.starts_with('.')) path.remove_prefix(1);
    return "[" + (path.empty() ? std::string("{}") : holding(path)) + "]";
  }
  const auto stop = std::min(path.find('.'), path.find('['));
  std::string key(path.substr(0, stop));
  if (key == "*") key = "x";
  std::string_view rest = stop == std::string_view::npos ? "" : path.substr(stop);
  if (rest.starts_with('.')) rest.remove_prefix(1);
  return "{" + key + ": " + holding(rest) + "}";
}

// The errors of `yaml` that say a key is not one the reader takes.
std::vector<std::string> unknown_keys(const std::string& yaml) {
  std::vector<std::string> out;
  const auto loaded = parse_config(yaml, "probe.yml");
  if (loaded) return out;
  for (const auto& e : loaded.error()) {
    if (e.message.find("unknown key") != std::string::npos ||
        e.message.find("not supported") != std::string::npos) {
      out.push_back(e.describe());
    }
  }
  return out;
}

// known_config_keys() lists what the reader takes: a document holding any listed key loads
// without an unknown-key error, and one holding a key it does not list fails with one (so the
// probe can fail), at every kind of nesting.
// store.postgres.dsn_file: the DSN (a secret) from a file beside the configuration, trimmed;
// an inline DSN with a password is noted for the secrets hygiene check.
TEST(Config, PostgresDsnFromAFileOrInline) {
  const auto dir = std::filesystem::temp_directory_path() / "opsready-config-dsn";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "pg.dsn") << "  host=db1 dbname=opsready password=s3cret\n"; }
  auto cfg =
      parse_config("store:\n  postgres:\n    dsn_file: pg.dsn\n", (dir / "opsready.yml").string());
  ASSERT_TRUE(cfg) << cfg.error().front().describe();
  ASSERT_TRUE(cfg->store.postgres);
  EXPECT_EQ(cfg->store.postgres->dsn, "host=db1 dbname=opsready password=s3cret");
  EXPECT_FALSE(cfg->store.dsn_has_inline_password);
  auto inline_cfg =
      parse_config("store:\n  postgres:\n    dsn: postgresql://u:pw@db1/opsready\n", "t.yml");
  ASSERT_TRUE(inline_cfg);
  EXPECT_TRUE(inline_cfg->store.dsn_has_inline_password);
  auto plain = parse_config("store:\n  postgres:\n    dsn: postgresql://u@db1/opsready\n", "t.yml");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->store.dsn_has_inline_password);
  std::ofstream(dir / "empty.dsn") << "\n";
  auto empty = parse_config("store:\n  postgres:\n    dsn_file: empty.dsn\n",
                            (dir / "opsready.yml").string());
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().front().message,
            "store.postgres.dsn_file: '" + (dir / "empty.dsn").string() + "' is empty");
  std::filesystem::remove_all(dir);
}

TEST(Config, KnownKeysAreTheKeysTheReaderTakes) {
  const std::vector<std::string> keys = known_config_keys();
  for (const auto& key : keys) {
    EXPECT_EQ(unknown_keys(holding(key)), std::vector<std::string>{}) << key;
  }
  for (const char* key : {"listen",
                          "http.threads",
                          "ingest.auth.tokens_file",
                          "ingest.alerts.resolve_timeout",
                          "alerts.resolve_timeout",
                          "bus.nats.batch",
                          "bus.spool.dir",
                          "store.postgres.dsn",
                          "store.postgres.dsn_file",
                          "gate.block_on",
                          "components[]",
                          "components[].max_age",
                          "detectors.sensory_drift.lookback",
                          "detectors.ingest_slos.burn_rate.windows[].long",
                          "detectors.ingest_slos.dimensions.*.freshness_target",
                          "detectors.drift_sentry.training_reference.*",
                          "alerting.config_file",
                          "alerting.global.smtp_smarthost",
                          "alerting.global.http_config.tls_config.ca_file",
                          "alerting.route.receiver",
                          "alerting.route.match.*",
                          "alerting.route.routes[].receiver",
                          "alerting.route.routes[].routes",
                          "alerting.receivers[].name",
                          "alerting.receivers[].slack_configs[].api_url",
                          "alerting.receivers[].slack_configs[].fields[].title",
                          "alerting.receivers[].webhook_configs[].headers.*",
                          "alerting.receivers[].escalation[].after",
                          "alerting.inhibit_rules[].equal",
                          "alerting.time_intervals[].time_intervals[].times[].end_time",
                          "delivery.external_url",
                          "status_page.groups[].components"}) {
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
  }
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size()) << "listed twice";
  for (const char* key :
       {"no_such_key", "bus.nats.no_such_key", "components[].no_such_key",
        "detectors.ingest_slos.dimensions.*.no_such_key", "alerting.route.routes[].no_such_key",
        "alerting.receivers[].slack_configs[].no_such_key",
        "alerting.receivers[].pagerduty_configs", "status_page.groups[].no_such_key"}) {
    EXPECT_EQ(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
    EXPECT_EQ(unknown_keys(holding(key)).size(), 1u) << key;
  }
}

}  // namespace
}  // namespace opsready::app
