#include "opsready/app/config.h"

#include "opsready/app/drills_config.h"

#include "opsready/app/alerting_config.h"
#include "opsready/app/components_config.h"
#include "opsready/app/config_reader.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "opsready/core/snapshot.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"
#include "opsready/core/topic_pattern.h"

namespace opsready::app {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Adds the tokens of one source (a file's lines or an env var's comma-separated list). Error
// messages name the source and the line, never a token.
void add_tokens(config::Reader& r, const YAML::Node& at, const std::string& source,
                std::string_view text, char separator, std::vector<std::string>& out) {
  std::size_t added = 0;
  std::size_t item = 0;
  for (std::size_t pos = 0; pos <= text.size();) {
    const auto end = std::min(text.find(separator, pos), text.size());
    std::string_view t = core::trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++item;
    if (separator == '\n' && t.starts_with('#')) continue;
    if (t.empty()) continue;
    if (t.find_first_of(" \t\r") != std::string_view::npos) {
      r.error(at, source + ": " + (separator == '\n' ? "line " : "entry ") + std::to_string(item) +
                      " contains whitespace (a token must not)");
      continue;
    }
    out.emplace_back(t);
    ++added;
  }
  if (added == 0) r.error(at, source + " holds no token");
}

// The check of a string value: `ok(value)`, else "PATH 'value' <what>".
config::Check<std::string> must(std::function<bool(const std::string&)> ok, std::string what) {
  return [ok = std::move(ok), what = std::move(what)](
             const std::string& v, const std::string& path) -> std::optional<std::string> {
    if (ok(v)) return std::nullopt;
    return path + " '" + v + "' " + what;
  };
}

config::Table auth_table(const std::string& file, std::vector<std::string>& tokens) {
  return {
      config::custom(
          "tokens_file",
          [&file, &tokens](config::Reader& r, const YAML::Node& n, const std::string& path) {
            const auto s = r.scalar(n, path);
            if (!s) return;
            // Relative to the configuration file, as Prometheus resolves its *_file settings.
            std::filesystem::path p = *s;
            if (p.is_relative()) p = std::filesystem::path(file).parent_path() / p;
            std::ifstream in(p, std::ios::binary);
            if (s->empty() || !in) {
              r.error(n, path + ": cannot read '" + p.string() + "': " + std::strerror(errno));
              return;
            }
            std::stringstream buf;
            buf << in.rdbuf();
            add_tokens(r, n, path + " '" + p.string() + "'", buf.str(), '\n', tokens);
          }),
      config::custom("tokens_env",
                     [&tokens](config::Reader& r, const YAML::Node& n, const std::string& path) {
                       const auto s = r.scalar(n, path);
                       if (!s) return;
                       const char* value = s->empty() ? nullptr : std::getenv(s->c_str());
                       if (value == nullptr) {
                         r.error(n, path + ": environment variable '" + *s + "' is not set");
                         return;
                       }
                       add_tokens(r, n, path + " '" + *s + "'", value, ',', tokens);
                     }),
  };
}

// ingest.alerts: the external alerts that POST /api/v2/alerts receives (formerly `alerts`).
config::Table ingest_alerts_table(Config& cfg) {
  return {
      config::duration("resolve_timeout", cfg.alert_resolve_timeout, {config::positive()}),
      config::duration("flush_interval", cfg.alert_flush_interval,
                       {config::between(milliseconds(10), hours(1))}),
  };
}

config::Table ingest_table(const std::string& file, Config& cfg) {
  return {
      config::integer("max_body_bytes", cfg.max_body_bytes, 1024, 1LL << 31),
      config::integer("queue_capacity", cfg.queue_capacity, 1, 1 << 24),
      config::section("auth", [&file, &cfg] { return auth_table(file, cfg.ingest_tokens); }),
      config::section("alerts", [&cfg] { return ingest_alerts_table(cfg); }),
      // The dead-man switch: each source must send an event on a topic matching `topic` at
      // least every `after`, or OpsreadyTelemetryAbsent{source=<name>} fires (docs/alerting.md).
      config::items<alerting::ExpectedSource>(
          "expected_sources", cfg.expected_sources, "a list of {name, topic, after}",
          [](alerting::ExpectedSource& e) {
            return config::Table{
                config::required(config::text("name", e.name, {config::not_empty()})),
                config::required(config::custom(
                    "topic",
                    [&e](config::Reader& r, const YAML::Node& n, const std::string& path) {
                      const auto t = r.scalar(n, path);
                      if (!t) return;
                      if (auto p = core::TopicPattern::parse(*t); !p) {
                        r.error(n, path + ": '" + *t + "': " + p.error().message);
                        return;
                      }
                      e.topic_pattern = *t;
                    })),
                config::required(config::duration("after", e.after, {config::positive()}))};
          }),
  };
}

config::Table http_table(HttpConfig& c) {
  return {
      config::integer("threads", c.listener.threads, 1, 64),
      config::integer("workers", c.listener.workers, 1, 256),
      config::duration("header_timeout", c.listener.header_timeout,
                       {config::between(milliseconds(100), hours(1))}),
      config::duration("body_timeout", c.listener.body_timeout,
                       {config::between(milliseconds(100), hours(1))}),
      config::duration("idle_timeout", c.listener.idle_timeout,
                       {config::between(milliseconds(100), hours(24))}),
      config::duration("write_timeout", c.listener.write_timeout,
                       {config::between(milliseconds(100), hours(1))}),
      config::integer("max_connections", c.listener.max_connections, 1, 1000000),
      config::integer("max_connections_per_client", c.listener.max_connections_per_client, 1,
                      1000000),
      config::integer("max_header_bytes", c.listener.max_header_bytes, 1024, 16 << 20),
      config::integer("offload_body_bytes", c.listener.offload_body_bytes, 0, 1LL << 31),
      config::integer("max_stream_buffer_bytes", c.listener.max_stream_buffer_bytes, 4096,
                      1LL << 30),
      config::duration("stream_heartbeat", c.stream_heartbeat,
                       {config::between(milliseconds(100), hours(1))}),
  };
}

std::optional<std::string> nats_url(const std::string& url, const std::string& path) {
  if (url.empty()) return path + " entry must not be empty";
  if (!url.starts_with("nats://") && !url.starts_with("tls://")) {
    return path + ": '" + url + "' is not a nats:// or tls:// URL";
  }
  return std::nullopt;
}

bool is_durable_name(const std::string& v) {
  return v.size() <= 128 && std::all_of(v.begin(), v.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
         });
}

std::optional<std::string> topic_pattern(const std::string& v, const std::string& path) {
  if (auto pattern = core::TopicPattern::parse(v); !pattern) {
    return path + ": " + pattern.error().message;
  }
  return std::nullopt;
}

config::Table nats_table(NatsConfig& n) {
  const auto positive = config::positive();
  return {
      config::strings("servers", n.servers,
                      {.expected = "a non-empty list of URLs (nats://HOST:PORT)",
                       .non_empty = true,
                       .item_checks = {nats_url}}),
      config::text(
          "stream", n.stream,
          {config::not_empty(),
           must([](const std::string& v) { return v.find_first_of(" .*>\t") == std::string::npos; },
                "must not contain spaces, '.', '*' or '>'")}),
      config::text(
          "subject_prefix", n.subject_prefix,
          {config::not_empty(), must([](const std::string& v) { return core::is_valid_topic(v); },
                                     "must be dot-separated tokens of [a-z0-9_-]")}),
      config::flag("create_stream", n.create_stream),
      config::flag("memory_storage", n.memory_storage),
      config::duration("duplicate_window", n.duplicate_window, {positive}),
      config::duration("connect_timeout", n.connect_timeout, {positive}),
      config::duration("publish_timeout", n.publish_timeout, {positive}),
      config::duration("reconnect_initial", n.reconnect_initial, {positive}),
      config::duration("reconnect_max", n.reconnect_max, {positive}),
      config::flag("ingest", n.ingest),
      config::text("durable", n.durable,
                   {config::not_empty(), must(is_durable_name, "must be 1-128 of [A-Za-z0-9_-]")}),
      config::text("filter", n.filter, {config::not_empty(), topic_pattern}),
      config::integer("batch", n.batch, 1, 10000),
      config::duration("fetch_timeout", n.fetch_timeout, {positive}),
      config::duration("ack_wait", n.ack_wait, {positive}),
      config::integer("max_ack_pending", n.max_ack_pending, 1, 10000000),
      config::flag("ordered", n.ordered),
      config::strings("watch_consumers", n.watch_consumers,
                      {.expected = "a list of STREAM/CONSUMER names",
                       .item_checks = {must(
                           [](const std::string& v) {
                             const auto slash = v.find('/');
                             return slash != std::string::npos && slash > 0 &&
                                    slash + 1 < v.size() &&
                                    v.find('/', slash + 1) == std::string::npos;
                           },
                           "must be STREAM/CONSUMER")}}),
  };
}

config::Table spool_table(BusConfig& bus) {
  return {
      config::text("dir", bus.spool_dir, {config::not_empty()}),
      config::choice<std::string>(
          "fsync", bus.spool_fsync,
          {{"always", "always"}, {"interval", "interval"}, {"never", "never"}}),
      config::duration("fsync_interval", bus.spool_fsync_interval, {config::positive()}),
      config::integer("max_bytes", bus.spool_max_bytes, 1 << 20, 1LL << 50),
  };
}

config::Table bus_table(BusConfig& bus) {
  return {
      // Present, even empty (`nats:`), turns NATS on with every default.
      config::section("nats",
                      [&bus] {
                        bus.nats.emplace();
                        return nats_table(*bus.nats);
                      }),
      config::section("spool", [&bus] { return spool_table(bus); }),
      config::duration("retry_interval", bus.retry_interval, {config::positive()}),
      config::duration("health_interval", bus.health_interval, {config::positive()}),
  };
}

config::Table gate_table(readiness::GatePolicy& g) {
  return {
      config::statuses("block_on", g.block_on),
      config::statuses("warn_on", g.warn_on),
      config::duration("max_age", g.max_age, {config::positive()}),
      config::status("stale_status", g.stale_status),
      config::integer("max_fail_components", g.max_fail_components, 0, 1000000),
      config::integer("max_warn_components", g.max_warn_components, 0, 1000000),
      config::choice("empty_decision", g.empty_decision,
                     {{"pass", readiness::GateDecision::Decision::kPass},
                      {"warn", readiness::GateDecision::Decision::kWarn},
                      {"block", readiness::GateDecision::Decision::kBlock}}),
  };
}

config::Table component_table(readiness::ComponentRule& rule) {
  return {
      config::handled("name"),  // read first: it names the others' paths
      config::duration("max_age", rule.max_age, {config::positive()}),
      config::flag("required", rule.required),
      config::status("stale_status", rule.stale_status),
      config::statuses("block_on", rule.block_on),
      config::statuses("warn_on", rule.warn_on),
  };
}

// One entry of `components:`. An entry without a valid, unique name is still read (under
// components[INDEX]) so that its other errors are reported too, and then left out.
void read_component(config::Reader& r, const YAML::Node& c, readiness::GatePolicy& policy,
                    std::size_t index) {
  if (!c.IsMap()) {
    r.error(c, "each component must be a mapping with at least 'name'");
    return;
  }
  std::optional<std::string> name;
  if (!c["name"]) {
    r.error(c, "component is missing 'name'");
  } else {
    name = r.scalar(c["name"], "component name");
    if (name && !core::is_valid_component_name(*name)) {
      r.error(c["name"], "'" + *name + "' is not a component name ([a-z0-9_.-]+)");
      name.reset();
    } else if (name && policy.components.contains(*name)) {
      r.error(c["name"], "component '" + *name + "' is listed twice");
      name.reset();
    }
  }
  readiness::ComponentRule rule;
  r.read(c, name ? "components." + *name : "components[" + std::to_string(index) + "]",
         component_table(rule));
  if (name) policy.components.emplace(*name, std::move(rule));
}

config::Table delivery_table(DeliveryConfig& d) {
  return {
      config::text("external_url", d.external_url),
      config::integer("max_in_flight", d.max_in_flight, 1, 100000),
      config::integer("max_in_flight_per_receiver", d.max_in_flight_per_receiver, 1, 100000),
      config::duration("connect_timeout", d.connect_timeout,
                       {config::between(milliseconds(10), hours(1))}),
      config::duration("timeout", d.timeout, {config::between(milliseconds(10), hours(1))}),
      config::duration("backoff_initial", d.backoff_initial,
                       {config::between(milliseconds(1), hours(1))}),
      config::duration("backoff_max", d.backoff_max, {config::between(milliseconds(1), hours(24))}),
      config::duration("give_up_after", d.give_up_after, {config::positive()}),
      config::integer("failing_after_attempts", d.failing_after_attempts, 1, 1000),
      config::duration("retention", d.retention, {config::positive()}),
  };
}

config::Table status_group_table(server::StatusGroupOptions& g) {
  return {
      config::required(config::text("name", g.name, {config::not_empty()})),
      config::text("description", g.description),
      config::required(config::strings("components", g.components,
                                       {.expected = "a non-empty list of component names or "
                                                    "glob patterns",
                                        .non_empty = true,
                                        .item_checks = {config::not_empty()}})),
  };
}

config::Table status_page_table(server::StatusPageOptions& o) {
  return {
      config::text("title", o.title, {config::not_empty()}),
      config::text("url", o.url),
      config::list(
          "groups", "a list of {name, description, components}",
          [&o](config::Reader& r, const YAML::Node& item, const std::string& path,
               std::size_t index) {
            server::StatusGroupOptions g;
            const std::string at = path + "[" + std::to_string(index) + "]";
            if (!r.read(item, at, status_group_table(g))) return;
            const bool twice = std::any_of(
                o.groups.begin(), o.groups.end(),
                [&g](const server::StatusGroupOptions& other) { return other.name == g.name; });
            if (twice) {
              r.error(item["name"], at + ": group '" + g.name + "' is listed twice");
              return;
            }
            if (g.name == server::kUngroupedName) {
              r.error(item["name"], at + ": '" + g.name +
                                        "' is the name of the ungrouped components' "
                                        "group; choose another");
              return;
            }
            o.groups.push_back(std::move(g));
          },
          [] {
            server::StatusGroupOptions g;
            return config::item_keys(config::known_keys(status_group_table(g)));
          }),
      config::flag("show_ungrouped", o.show_ungrouped),
      config::strings("incident_receivers", o.incident_receivers,
                      {.item_checks = {config::not_empty()}}),
      config::integer("status_days", o.status_days, server::kStatusHistoryDays, 100000),
  };
}

config::Table compliance_table(Config& cfg) {
  return {config::items<components::SignoffCadence>(
      "signoffs", cfg.compliance.signoffs, "a list of {name, owner, every, ...}",
      [](components::SignoffCadence& c) {
        return config::Table{
            config::required(config::custom(
                "name",
                [&c](config::Reader& r, const YAML::Node& n, const std::string& path) {
                  const auto name = r.scalar(n, path);
                  if (!name) return;
                  // A label value and a URL segment (/api/v1/signoffs?signoff=NAME).
                  if (!core::is_valid_component_name(*name)) {
                    r.error(n, path + ": '" + *name +
                                   "' is not a sign-off name ([a-z0-9_.-]+, at most 128)");
                    return;
                  }
                  c.name = *name;
                })),
            config::custom("kind",
                           [&c](config::Reader& r, const YAML::Node& n, const std::string& path) {
                             const auto kind = r.scalar(n, path);
                             if (!kind) return;
                             if (!components::is_signoff_kind(*kind)) {
                               std::string known;
                               for (auto k : components::kSignoffKinds) {
                                 known += (known.empty() ? "" : ", ") + std::string(k);
                               }
                               r.error(n,
                                       path + " must be one of " + known + ", got '" + *kind + "'");
                               return;
                             }
                             c.kind = *kind;
                           }),
            config::required(config::text("owner", c.owner, {config::not_empty()})),
            config::required(
                config::duration("every", c.every, {config::at_least(std::chrono::hours(1))})),
            config::duration("due_soon", c.due_soon),
            config::choice("overdue", c.overdue,
                           {{"fail", core::Status::kFail}, {"warn", core::Status::kWarn}}),
            config::timestamp("since", c.since),
            config::text("description", c.description),
            config::text("runbook", c.runbook, {config::not_empty()}),
        };
      })};
}

config::Table validation_schedule_table(Config& cfg, ValidationSchedule& v) {
  return config::Table{
      config::required(config::text("name", v.name, {config::not_empty()})),
      config::duration("every", v.every, {config::at_least(seconds(1))}),
      config::custom("cron",
                     [&v](config::Reader& r, const YAML::Node& n, const std::string& path) {
                       const auto s = r.scalar(n, path);
                       if (!s) return;
                       auto c = core::CronSchedule::parse(*s);
                       if (!c) {
                         r.error(n, path + ": " + c.error().message);
                         return;
                       }
                       v.cron = std::move(*c);
                     }),
      config::text("command", v.command, {config::not_empty()}),
      config::custom("drill",
                     [&cfg, &v](config::Reader& r, const YAML::Node& n, const std::string& path) {
                       const auto name = r.scalar(n, path);
                       if (!name) return;
                       const auto& all = cfg.drills.scenarios;
                       if (std::none_of(all.begin(), all.end(),
                                        [&](const auto& s) { return s.name == *name; })) {
                         r.error(n, path + ": no drill scenario is named '" + *name +
                                        "' (drills.scenarios)");
                         return;
                       }
                       v.drill = *name;
                     }),
      config::custom("topic",
                     [&v](config::Reader& r, const YAML::Node& n, const std::string& path) {
                       const auto t = r.scalar(n, path);
                       if (!t) return;
                       if (!core::is_valid_topic(*t)) {
                         r.error(n, path + ": '" + *t +
                                        "' is not a topic (dot-separated tokens of "
                                        "[a-z0-9_-])");
                         return;
                       }
                       v.topic = *t;
                     }),
      config::duration("timeout", v.timeout, {config::positive()}),
      config::custom("grace",
                     [&v](config::Reader& r, const YAML::Node& n, const std::string& path) {
                       if (auto d = r.duration(n, path)) v.grace = *d;
                     }),
      config::duration("first_run_after", v.first_run_after),
  };
}

// One of validation.schedules; the checks across its keys are reported at the item.
void read_validation_schedule(config::Reader& r, const YAML::Node& item, const std::string& at,
                              Config& cfg) {
  ValidationSchedule v;
  if (!r.read(item, at, validation_schedule_table(cfg, v))) return;
  // By the keys given, so that a key whose value is wrong is not reported twice.
  if (item["every"].IsDefined() == item["cron"].IsDefined()) {
    r.error(item, at + ": '" + v.name + "' needs exactly one of every and cron");
  }
  if (item["command"].IsDefined() == item["drill"].IsDefined()) {
    r.error(item, at + ": '" + v.name + "' needs exactly one of command and drill");
  }
  const auto& all = cfg.validation.schedules;
  if (!v.name.empty() && std::any_of(all.begin(), all.end(), [&v](const ValidationSchedule& o) {
        return o.name == v.name;
      })) {
    r.error(item["name"], at + ": two schedules are named '" + v.name + "'");
    return;
  }
  if (!v.cron && v.grace == core::Duration::zero()) v.grace = v.every;
  cfg.validation.schedules.push_back(std::move(v));
}

config::Table validation_table(Config& cfg) {
  return {config::list(
      "schedules", "a list of {name, every | cron, command | drill, ...}",
      [&cfg](config::Reader& r, const YAML::Node& item, const std::string& path,
             std::size_t index) {
        read_validation_schedule(r, item, path + "[" + std::to_string(index) + "]", cfg);
      },
      [] {
        Config cfg;
        ValidationSchedule v;
        return config::item_keys(config::known_keys(validation_schedule_table(cfg, v)));
      })};
}

// Whether a PostgreSQL DSN names a password: `password=` in the key/value form, or
// user:password@ in the URI form.
bool dsn_names_password(std::string_view dsn) {
  if (dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")) {
    const auto rest = dsn.substr(dsn.find("://") + 3);
    const auto at = rest.find('@');
    if (at != std::string_view::npos && rest.substr(0, at).find(':') != std::string_view::npos) {
      return true;
    }
    return rest.find("password=") != std::string_view::npos;
  }
  return dsn.find("password") != std::string_view::npos;
}

// store.postgres: the connection of the shared store. The DSN is a secret (it may hold the
// password): messages never quote it.
config::Table postgres_table(const std::string& file, StoreConfig& store,
                             store::PostgresOptions& o) {
  return {
      config::custom("dsn",
                     [&store, &o](config::Reader& r, const YAML::Node& n, const std::string& path) {
                       const auto s = r.scalar(n, path);
                       if (!s) return;
                       if (s->empty()) {
                         r.error(n, path + " is empty");
                         return;
                       }
                       o.dsn = *s;
                       store.dsn_has_inline_password = dsn_names_password(*s);
                     }),
      config::custom("dsn_file",
                     [&file, &o](config::Reader& r, const YAML::Node& n, const std::string& path) {
                       const auto s = r.scalar(n, path);
                       if (!s) return;
                       if (!o.dsn.empty()) {
                         r.error(n, path + ": give either dsn or dsn_file, not both");
                         return;
                       }
                       // Relative to the configuration file, as Prometheus resolves its *_file
                       // settings.
                       std::filesystem::path p = *s;
                       if (p.is_relative()) p = std::filesystem::path(file).parent_path() / p;
                       std::ifstream in(p, std::ios::binary);
                       if (s->empty() || !in) {
                         r.error(n, path + ": cannot read '" + p.string() +
                                        "': " + std::strerror(errno));
                         return;
                       }
                       std::stringstream buf;
                       buf << in.rdbuf();
                       const std::string dsn(core::trim(buf.str()));
                       if (dsn.empty()) {
                         r.error(n, path + ": '" + p.string() + "' is empty");
                         return;
                       }
                       o.dsn = dsn;
                     }),
      config::integer("pool_size", o.pool_size, 1, 256),
      config::duration("connect_timeout", o.connect_timeout, {config::at_least(seconds(2))}),
      config::duration("statement_timeout", o.statement_timeout,
                       {config::at_least(milliseconds(1))}),
      config::duration("reconnect_backoff_initial", o.reconnect_backoff_initial,
                       {config::positive()}),
      config::duration("reconnect_backoff_max", o.reconnect_backoff_max, {config::positive()}),
  };
}

config::Table store_table(const std::string& file, StoreConfig& store) {
  return {config::custom(
      "postgres",
      [&file, &store](config::Reader& r, const YAML::Node& n, const std::string& path) {
        store::PostgresOptions o;
        const std::size_t errors = r.error_count();
        if (!r.read(n, path, postgres_table(file, store, o)) || r.error_count() > errors) return;
        if (o.dsn.empty()) {
          r.error(n, path + " needs 'dsn' or 'dsn_file'");
          return;
        }
        if (o.reconnect_backoff_max < o.reconnect_backoff_initial) {
          r.error(n, path + ".reconnect_backoff_max is shorter than reconnect_backoff_initial");
          return;
        }
        store.postgres = std::move(o);
      },
      [&file] {
        StoreConfig store;
        store::PostgresOptions o;
        return config::mapping_keys(config::known_keys(postgres_table(file, store, o)));
      })};
}

config::Table replica_fields(ReplicaConfig& r) {
  return {
      config::text("name", r.name, {config::not_empty()}),
      config::duration("claim_lease", r.claim_lease, {config::between(seconds(1), hours(1))}),
      config::duration("claim_interval", r.claim_interval,
                       {config::between(milliseconds(10), minutes(10))}),
  };
}

config::Field replica_field(ReplicaConfig& replica) {
  return config::custom(
      "replica",
      [&replica](config::Reader& r, const YAML::Node& n, const std::string& path) {
        ReplicaConfig o;
        const std::size_t errors = r.error_count();
        if (!r.read(n, path, replica_fields(o)) || r.error_count() > errors) return;
        // A claim is renewed at least twice before it ends: one renewal that is late or lost
        // does not hand a notification being sent to another replica.
        if (o.claim_interval * 2 > o.claim_lease) {
          r.error(n, path + ".claim_interval must be at most half of claim_lease (" +
                         core::format_duration(o.claim_lease) + ")");
          return;
        }
        replica = std::move(o);
      },
      [] {
        ReplicaConfig o;
        return config::mapping_keys(config::known_keys(replica_fields(o)));
      });
}

config::Table top_table(const std::string& file, Config& cfg, OtherFileSinks other_file) {
  return {
      config::custom("listen",
                     [&cfg](config::Reader& r, const YAML::Node& n, const std::string& path) {
                       const auto s = r.scalar(n, path);
                       if (!s) return;
                       if (auto addr = parse_listen_address(*s)) {
                         cfg.listen = *addr;
                       } else {
                         r.error(n, path + ": " + addr.error().message);
                       }
                     }),
      config::text("data_dir", cfg.data_dir, {config::not_empty()}),
      config::duration("evaluation_interval", cfg.evaluation_interval,
                       {config::at_least(milliseconds(10))}),
      config::duration("shutdown_timeout", cfg.shutdown_timeout),
      config::duration("retention", cfg.retention),
      config::section("http", [&cfg] { return http_table(cfg.http); }),
      config::section("ingest", [&file, &cfg] { return ingest_table(file, cfg); }),
      config::section("bus", [&cfg] { return bus_table(cfg.bus); }),
      config::section("store", [&file, &cfg] { return store_table(file, cfg.store); }),
      replica_field(cfg.replica),
      config::section("gate", [&cfg] { return gate_table(cfg.gate); }),
      config::list(
          "components", "a list of {name, max_age, required, ...}",
          [&cfg](config::Reader& r, const YAML::Node& item, const std::string&, std::size_t index) {
            read_component(r, item, cfg.gate, index);
          },
          [] {
            readiness::ComponentRule rule;
            return config::item_keys(config::known_keys(component_table(rule)));
          }),
      detectors_field("detectors", cfg.detectors),
      alerting_field("alerting", file, cfg.alerting, other_file),
      // After alerting: the scenarios' receivers are checked against its policy.
      drills_field("drills", file, cfg.drills, cfg.alerting, other_file),
      // After drills: a schedule may start a drill scenario.
      config::section("validation", [&cfg] { return validation_table(cfg); }),
      config::section("compliance", [&cfg] { return compliance_table(cfg); }),
      config::section("delivery", [&cfg] { return delivery_table(cfg.delivery); }),
      config::section("status_page", [&cfg] { return status_page_table(cfg.status_page); }),
      // Until issue 11 these settings of external alerts were a top-level `alerts:`, a name now
      // kept for alerting policy.
      config::deprecated(config::section("alerts", [&cfg] { return ingest_alerts_table(cfg); }),
                         "ingest.alerts"),
  };
}

// Reads a document into a Config, collecting its errors and warnings with file:line.
class Loader {
 public:
  explicit Loader(std::string file)
      : file_(std::move(file)),
        reader_([this](const YAML::Node& at, std::string m) { add(errors_, at, std::move(m)); },
                [this](const YAML::Node& at, std::string m) { add(warnings_, at, std::move(m)); }) {
  }
  Loader(const Loader&) = delete;  // the reader's sinks hold `this`
  Loader& operator=(const Loader&) = delete;

  void load(const YAML::Node& root, Config& cfg) {
    if (!root.IsNull() && !root.IsMap()) {
      reader_.error(root, "the configuration must be a YAML mapping");
      return;
    }
    // Diagnostics in the file alerting.config_file names carry that file's name.
    reader_.read(root, "",
                 top_table(file_, cfg,
                           {.error = [this](ConfigError e) { errors_.push_back(e); },
                            .warning = [this](ConfigError e) { warnings_.push_back(e); }}));
    reader_.finish();
  }

  std::vector<ConfigError>& errors() { return errors_; }
  std::vector<ConfigError>& warnings() { return warnings_; }

 private:
  void add(std::vector<ConfigError>& to, const YAML::Node& at, std::string message) {
    const int line = at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    to.push_back({file_, line, std::move(message)});
  }

  std::string file_;
  std::vector<ConfigError> errors_;
  std::vector<ConfigError> warnings_;
  config::Reader reader_;
};

}  // namespace

std::string replica_name(const ReplicaConfig& replica) {
  if (!replica.name.empty()) return replica.name;
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') return host.data();
  return "opsready";
}

std::string ConfigError::describe(std::string_view kind) const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!kind.empty()) out.append(kind).append(": ");
  return out + message;
}

core::Result<ListenAddress> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return core::fail("invalid_listen_address",
                      "'" + std::string(text) + "' is not HOST:PORT (e.g. 127.0.0.1:9477)");
  }
  ListenAddress out;
  out.host = std::string(text.substr(0, colon));
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const std::string port(text.substr(colon + 1));
  int p = -1;
  if (!port.empty() && port.size() <= 5 &&
      port.find_first_not_of("0123456789") == std::string::npos) {
    p = std::stoi(port);
  }
  if (p < 0 || p > 65535) {
    return core::fail("invalid_listen_address",
                      "port '" + port + "' in '" + std::string(text) + "' is not 0-65535");
  }
  out.port = p;
  return out;
}

std::vector<std::string> known_config_keys() {
  const std::string file;
  Config cfg;
  return config::known_keys(top_table(file, cfg, {}));
}

ConfigResult parse_config(const std::string& yaml, const std::string& name) {
  Config cfg;
  Loader loader(name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return std::unexpected(std::vector<ConfigError>{
        {name, e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML syntax error: " + e.msg}});
  }
  try {
    loader.load(root, cfg);
  } catch (const YAML::Exception& e) {
    loader.errors().push_back({name, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg});
  }
  // One concept, one value: Alertmanager's alerting.global.resolve_timeout is how long a
  // posted alert without endsAt fires, which is ingest.alerts.resolve_timeout. An Alertmanager
  // file's value applies; giving both (different) is an error.
  if (const auto it = cfg.alerting.global.find("resolve_timeout");
      it != cfg.alerting.global.end() && it->is_string()) {
    const Config defaults;
    auto d = alerting::parse_alertmanager_duration(it->get<std::string>());
    if (!d) {
      loader.errors().push_back({name, 0, "alerting.global.resolve_timeout: " + d.error().message});
    } else if (cfg.alert_resolve_timeout != defaults.alert_resolve_timeout &&
               cfg.alert_resolve_timeout != *d) {
      loader.errors().push_back(
          {name, 0,
           "ingest.alerts.resolve_timeout and alerting.global.resolve_timeout are the same "
           "setting; give one (they differ: " +
               core::format_duration(cfg.alert_resolve_timeout) + " and " +
               core::format_duration(*d) + ")"});
    } else {
      cfg.alert_resolve_timeout = *d;
    }
  }
  {
    std::set<std::string> names;
    for (const auto& c : cfg.compliance.signoffs) {
      if (!names.insert(c.name).second) {
        loader.errors().push_back(
            {name, 0, "compliance.signoffs: two sign-offs are named '" + c.name + "'"});
      }
      if (c.due_soon > c.every) {
        loader.errors().push_back({name, 0,
                                   "compliance.signoffs: '" + c.name + "': due_soon (" +
                                       core::format_duration(c.due_soon) +
                                       ") is longer than every (" + core::format_duration(c.every) +
                                       ")"});
      }
    }
  }
  if (!loader.errors().empty()) return std::unexpected(std::move(loader.errors()));
  cfg.warnings = std::move(loader.warnings());
  return cfg;
}

ConfigResult load_config_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return std::unexpected(
        std::vector<ConfigError>{{file.string(), 0, "cannot open the file for reading"}});
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_config(buf.str(), file.string());
}

}  // namespace opsready::app
