#include "opsready/app/config.h"

#include "opsready/app/components_config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "opsready/bus/topic_pattern.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::app {
namespace {

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Node& at, std::string message) {
    const int line = at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    errors_.push_back({file_, line, std::move(message)});
  }
  std::vector<ConfigError>& errors() { return errors_; }

  // Checks that every key of `map` is in `known`, reporting the others.
  void known_keys(const YAML::Node& map, const std::set<std::string>& known,
                  const std::string& where) {
    for (const auto& kv : map) {
      const auto key = kv.first.Scalar();
      if (!known.contains(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        error(kv.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      }
    }
  }

  std::optional<std::string> scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      error(n, what + " must be a single value");
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<core::Duration> duration(const YAML::Node& n, const std::string& what) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    auto d = core::parse_duration(*s);
    if (!d) {
      error(n, what + ": " + d.error().message);
      return std::nullopt;
    }
    return *d;
  }

  std::optional<long long> integer(const YAML::Node& n, const std::string& what, long long min,
                                   long long max) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    long long v = 0;
    std::size_t used = 0;
    try {
      v = std::stoll(*s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s->size()) {
      error(n, what + " must be an integer, got '" + *s + "'");
      return std::nullopt;
    }
    if (v < min || v > max) {
      error(n, what + " must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& what) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    if (*s == "true") return true;
    if (*s == "false") return false;
    error(n, what + " must be true or false, got '" + *s + "'");
    return std::nullopt;
  }

  std::optional<core::Status> status(const YAML::Node& n, const std::string& what) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    auto st = core::parse_status(*s);
    if (!st) {
      error(n, what + ": " + st.error().message);
      return std::nullopt;
    }
    return *st;
  }

  std::optional<std::vector<core::Status>> statuses(const YAML::Node& n, const std::string& what) {
    if (!n.IsSequence()) {
      error(n, what + " must be a list of statuses, e.g. [fail]");
      return std::nullopt;
    }
    std::vector<core::Status> out;
    bool ok = true;
    for (const auto& item : n) {
      auto st = status(item, what);
      if (st) {
        out.push_back(*st);
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  void load_gate(const YAML::Node& g, readiness::GatePolicy& policy) {
    if (!g.IsMap()) {
      error(g, "gate must be a mapping");
      return;
    }
    known_keys(g,
               {"block_on", "warn_on", "max_age", "stale_status", "max_fail_components",
                "max_warn_components"},
               "gate");
    if (g["block_on"]) {
      if (auto v = statuses(g["block_on"], "gate.block_on")) policy.block_on = *v;
    }
    if (g["warn_on"]) {
      if (auto v = statuses(g["warn_on"], "gate.warn_on")) policy.warn_on = *v;
    }
    if (g["max_age"]) {
      if (auto v = duration(g["max_age"], "gate.max_age")) {
        policy.max_age = *v;
        if (*v <= core::Duration::zero()) error(g["max_age"], "gate.max_age must be positive");
      }
    }
    if (g["stale_status"]) {
      if (auto v = status(g["stale_status"], "gate.stale_status")) policy.stale_status = *v;
    }
    if (g["max_fail_components"]) {
      if (auto v = integer(g["max_fail_components"], "gate.max_fail_components", 0, 1000000)) {
        policy.max_fail_components = static_cast<int>(*v);
      }
    }
    if (g["max_warn_components"]) {
      if (auto v = integer(g["max_warn_components"], "gate.max_warn_components", 0, 1000000)) {
        policy.max_warn_components = static_cast<int>(*v);
      }
    }
  }

  void load_components(const YAML::Node& list, readiness::GatePolicy& policy) {
    if (!list.IsSequence()) {
      error(list, "components must be a list of {name, max_age, required, ...}");
      return;
    }
    for (const auto& c : list) {
      if (!c.IsMap()) {
        error(c, "each component must be a mapping with at least 'name'");
        continue;
      }
      known_keys(c, {"name", "max_age", "required", "stale_status", "block_on", "warn_on"},
                 "component");
      if (!c["name"]) {
        error(c, "component is missing 'name'");
        continue;
      }
      auto name = scalar(c["name"], "component name");
      if (!name) continue;
      if (!core::is_valid_component_name(*name)) {
        error(c["name"], "'" + *name + "' is not a component name ([a-z0-9_.-]+)");
        continue;
      }
      if (policy.components.contains(*name)) {
        error(c["name"], "component '" + *name + "' is listed twice");
        continue;
      }
      readiness::ComponentRule rule;
      const std::string where = "components." + *name;
      if (c["max_age"]) {
        if (auto v = duration(c["max_age"], where + ".max_age")) {
          rule.max_age = *v;
          if (*v <= core::Duration::zero())
            error(c["max_age"], where + ".max_age must be positive");
        }
      }
      if (c["required"]) {
        if (auto v = boolean(c["required"], where + ".required")) rule.required = *v;
      }
      if (c["stale_status"]) {
        if (auto v = status(c["stale_status"], where + ".stale_status")) rule.stale_status = *v;
      }
      if (c["block_on"]) {
        if (auto v = statuses(c["block_on"], where + ".block_on")) rule.block_on = *v;
      }
      if (c["warn_on"]) {
        if (auto v = statuses(c["warn_on"], where + ".warn_on")) rule.warn_on = *v;
      }
      policy.components.emplace(*name, std::move(rule));
    }
  }

  // Adds the tokens of one source (a file's lines or an env var's comma-separated list). Error
  // messages name the source and the line, never a token.
  void add_tokens(const YAML::Node& at, const std::string& source, std::string_view text,
                  char separator, std::vector<std::string>& out) {
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
        error(at, source + ": " + (separator == '\n' ? "line " : "entry ") + std::to_string(item) +
                      " contains whitespace (a token must not)");
        continue;
      }
      out.emplace_back(t);
      ++added;
    }
    if (added == 0) error(at, source + " holds no token");
  }

  void load_auth(const YAML::Node& auth, Config& cfg) {
    if (!auth.IsMap()) {
      error(auth, "ingest.auth must be a mapping");
      return;
    }
    known_keys(auth, {"tokens_file", "tokens_env"}, "ingest.auth");
    if (const auto f = auth["tokens_file"]) {
      if (auto s = scalar(f, "ingest.auth.tokens_file")) {
        // Relative to the configuration file, as Prometheus resolves its *_file settings.
        std::filesystem::path path = *s;
        if (path.is_relative()) path = std::filesystem::path(file_).parent_path() / path;
        std::ifstream in(path, std::ios::binary);
        if (s->empty() || !in) {
          error(f, "ingest.auth.tokens_file: cannot read '" + path.string() +
                       "': " + std::strerror(errno));
        } else {
          std::stringstream buf;
          buf << in.rdbuf();
          add_tokens(f, "ingest.auth.tokens_file '" + path.string() + "'", buf.str(), '\n',
                     cfg.ingest_tokens);
        }
      }
    }
    if (const auto e = auth["tokens_env"]) {
      if (auto s = scalar(e, "ingest.auth.tokens_env")) {
        const char* value = s->empty() ? nullptr : std::getenv(s->c_str());
        if (value == nullptr) {
          error(e, "ingest.auth.tokens_env: environment variable '" + *s + "' is not set");
        } else {
          add_tokens(e, "ingest.auth.tokens_env '" + *s + "'", value, ',', cfg.ingest_tokens);
        }
      }
    }
  }

  std::optional<std::string> nonempty(const YAML::Node& n, const std::string& what) {
    auto s = scalar(n, what);
    if (s && s->empty()) {
      error(n, what + " must not be empty");
      return std::nullopt;
    }
    return s;
  }

  // A positive duration into `out`, when the key is present.
  void positive(const YAML::Node& map, const char* key, const std::string& where,
                core::Duration& out) {
    if (!map[key]) return;
    const std::string what = where + "." + key;
    if (auto d = duration(map[key], what)) {
      if (*d <= core::Duration::zero()) {
        error(map[key], what + " must be positive");
      } else {
        out = *d;
      }
    }
  }

  void load_nats(const YAML::Node& n, NatsConfig& nats) {
    if (n.IsNull()) return;  // `nats:` alone: every default
    if (!n.IsMap()) {
      error(n, "bus.nats must be a mapping");
      return;
    }
    known_keys(n,
               {"servers", "stream", "subject_prefix", "create_stream", "memory_storage",
                "duplicate_window", "connect_timeout", "publish_timeout", "reconnect_initial",
                "reconnect_max", "ingest", "durable", "filter", "batch", "fetch_timeout",
                "ack_wait", "max_ack_pending", "ordered"},
               "bus.nats");
    if (const auto servers = n["servers"]) {
      if (!servers.IsSequence() || servers.size() == 0) {
        error(servers, "bus.nats.servers must be a non-empty list of URLs (nats://HOST:PORT)");
      } else {
        nats.servers.clear();
        for (const auto& url : servers) {
          auto u = nonempty(url, "bus.nats.servers entry");
          if (!u) continue;
          if (!u->starts_with("nats://") && !u->starts_with("tls://")) {
            error(url, "bus.nats.servers: '" + *u + "' is not a nats:// or tls:// URL");
            continue;
          }
          nats.servers.push_back(*u);
        }
      }
    }
    if (n["stream"]) {
      if (auto v = nonempty(n["stream"], "bus.nats.stream")) {
        if (v->find_first_of(" .*>\t") != std::string::npos) {
          error(n["stream"],
                "bus.nats.stream '" + *v + "' must not contain spaces, '.', '*' or '>'");
        } else {
          nats.stream = *v;
        }
      }
    }
    if (n["subject_prefix"]) {
      if (auto v = nonempty(n["subject_prefix"], "bus.nats.subject_prefix")) {
        if (!core::is_valid_topic(*v)) {
          error(n["subject_prefix"],
                "bus.nats.subject_prefix '" + *v + "' must be dot-separated tokens of [a-z0-9_-]");
        } else {
          nats.subject_prefix = *v;
        }
      }
    }
    if (n["create_stream"]) {
      if (auto v = boolean(n["create_stream"], "bus.nats.create_stream")) nats.create_stream = *v;
    }
    if (n["memory_storage"]) {
      if (auto v = boolean(n["memory_storage"], "bus.nats.memory_storage")) {
        nats.memory_storage = *v;
      }
    }
    positive(n, "duplicate_window", "bus.nats", nats.duplicate_window);
    positive(n, "connect_timeout", "bus.nats", nats.connect_timeout);
    positive(n, "publish_timeout", "bus.nats", nats.publish_timeout);
    positive(n, "reconnect_initial", "bus.nats", nats.reconnect_initial);
    positive(n, "reconnect_max", "bus.nats", nats.reconnect_max);
    positive(n, "fetch_timeout", "bus.nats", nats.fetch_timeout);
    positive(n, "ack_wait", "bus.nats", nats.ack_wait);
    if (n["ingest"]) {
      if (auto v = boolean(n["ingest"], "bus.nats.ingest")) nats.ingest = *v;
    }
    if (n["ordered"]) {
      if (auto v = boolean(n["ordered"], "bus.nats.ordered")) nats.ordered = *v;
    }
    if (n["durable"]) {
      if (auto v = nonempty(n["durable"], "bus.nats.durable")) {
        const bool ok =
            v->size() <= 128 && std::all_of(v->begin(), v->end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
            });
        if (!ok) {
          error(n["durable"], "bus.nats.durable '" + *v + "' must be 1-128 of [A-Za-z0-9_-]");
        } else {
          nats.durable = *v;
        }
      }
    }
    if (n["filter"]) {
      if (auto v = nonempty(n["filter"], "bus.nats.filter")) {
        if (auto pattern = bus::TopicPattern::parse(*v); !pattern) {
          error(n["filter"], "bus.nats.filter: " + pattern.error().message);
        } else {
          nats.filter = *v;
        }
      }
    }
    if (n["batch"]) {
      if (auto v = integer(n["batch"], "bus.nats.batch", 1, 10000))
        nats.batch = static_cast<int>(*v);
    }
    if (n["max_ack_pending"]) {
      if (auto v = integer(n["max_ack_pending"], "bus.nats.max_ack_pending", 1, 10000000)) {
        nats.max_ack_pending = *v;
      }
    }
  }

  // One entry per key of a section: its name and how it is read. The known-keys check comes
  // from the same table, so a key is declared once.
  struct Field {
    const char* name;
    std::function<void(const YAML::Node&, const std::string&)> read;
  };

  void read_fields(const YAML::Node& map, const std::string& where,
                   const std::vector<Field>& fields) {
    if (!map.IsMap()) {
      error(map, where + " must be a mapping");
      return;
    }
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      const auto f = std::find_if(fields.begin(), fields.end(),
                                  [&key](const Field& x) { return key == x.name; });
      if (f == fields.end()) {
        std::string list;
        for (const auto& x : fields) list += (list.empty() ? "" : ", ") + std::string(x.name);
        error(kv.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
        continue;
      }
      f->read(kv.second, where + "." + key);
    }
  }

  Field duration_field(const char* name, core::Duration& out, core::Duration min,
                       core::Duration max) {
    return {name, [this, &out, min, max](const YAML::Node& n, const std::string& what) {
              if (auto d = duration(n, what)) {
                if (*d < min || *d > max) {
                  error(n, what + " must be between " + core::format_duration(min) + " and " +
                               core::format_duration(max));
                } else {
                  out = *d;
                }
              }
            }};
  }

  Field size_field(const char* name, std::size_t& out, long long min, long long max) {
    return {name, [this, &out, min, max](const YAML::Node& n, const std::string& what) {
              if (auto v = integer(n, what, min, max)) out = static_cast<std::size_t>(*v);
            }};
  }

  void load_http(const YAML::Node& h, HttpConfig& c) {
    using std::chrono::hours;
    using std::chrono::milliseconds;
    read_fields(
        h, "http",
        {size_field("threads", c.threads, 1, 64), size_field("workers", c.workers, 1, 256),
         duration_field("header_timeout", c.header_timeout, milliseconds(100), hours(1)),
         duration_field("body_timeout", c.body_timeout, milliseconds(100), hours(1)),
         duration_field("idle_timeout", c.idle_timeout, milliseconds(100), hours(24)),
         duration_field("write_timeout", c.write_timeout, milliseconds(100), hours(1)),
         size_field("max_connections", c.max_connections, 1, 1000000),
         size_field("max_connections_per_client", c.max_connections_per_client, 1, 1000000),
         size_field("max_header_bytes", c.max_header_bytes, 1024, 16 << 20),
         size_field("offload_body_bytes", c.offload_body_bytes, 0, 1LL << 31),
         size_field("max_stream_buffer_bytes", c.max_stream_buffer_bytes, 4096, 1LL << 30),
         duration_field("stream_heartbeat", c.stream_heartbeat, milliseconds(100), hours(1))});
  }

  void load_bus(const YAML::Node& b, BusConfig& bus) {
    if (!b.IsMap()) {
      error(b, "bus must be a mapping");
      return;
    }
    known_keys(b, {"nats", "spool", "retry_interval", "health_interval"}, "bus");
    if (const auto n = b["nats"]) {
      bus.nats.emplace();
      load_nats(n, *bus.nats);
    }
    if (const auto sp = b["spool"]) {
      if (!sp.IsMap()) {
        error(sp, "bus.spool must be a mapping");
      } else {
        known_keys(sp, {"dir", "fsync", "fsync_interval", "max_bytes"}, "bus.spool");
        if (sp["dir"]) {
          if (auto v = nonempty(sp["dir"], "bus.spool.dir")) bus.spool_dir = *v;
        }
        if (sp["fsync"]) {
          if (auto v = scalar(sp["fsync"], "bus.spool.fsync")) {
            if (*v != "always" && *v != "interval" && *v != "never") {
              error(sp["fsync"],
                    "bus.spool.fsync must be always, interval or never, got '" + *v + "'");
            } else {
              bus.spool_fsync = *v;
            }
          }
        }
        positive(sp, "fsync_interval", "bus.spool", bus.spool_fsync_interval);
        if (sp["max_bytes"]) {
          if (auto v = integer(sp["max_bytes"], "bus.spool.max_bytes", 1 << 20, 1LL << 50)) {
            bus.spool_max_bytes = static_cast<std::uint64_t>(*v);
          }
        }
      }
    }
    positive(b, "retry_interval", "bus", bus.retry_interval);
    positive(b, "health_interval", "bus", bus.health_interval);
  }

  void load(const YAML::Node& root, Config& cfg) {
    if (root.IsNull()) return;  // an empty file means "all defaults"
    if (!root.IsMap()) {
      error(root, "the configuration must be a YAML mapping");
      return;
    }
    known_keys(root,
               {"listen", "http", "data_dir", "evaluation_interval", "shutdown_timeout", "ingest",
                "alerts", "retention", "gate", "components", "detectors", "bus"},
               "the top level");
    if (root["listen"]) {
      if (auto s = scalar(root["listen"], "listen")) {
        auto addr = parse_listen_address(*s);
        if (addr) {
          cfg.listen = *addr;
        } else {
          error(root["listen"], "listen: " + addr.error().message);
        }
      }
    }
    if (root["data_dir"]) {
      if (auto s = scalar(root["data_dir"], "data_dir")) {
        if (s->empty()) {
          error(root["data_dir"], "data_dir must not be empty");
        } else {
          cfg.data_dir = *s;
        }
      }
    }
    if (root["evaluation_interval"]) {
      if (auto d = duration(root["evaluation_interval"], "evaluation_interval")) {
        if (*d < std::chrono::milliseconds(10)) {
          error(root["evaluation_interval"], "evaluation_interval must be at least 10ms");
        } else {
          cfg.evaluation_interval = *d;
        }
      }
    }
    if (root["shutdown_timeout"]) {
      if (auto d = duration(root["shutdown_timeout"], "shutdown_timeout")) {
        cfg.shutdown_timeout = *d;
      }
    }
    if (root["retention"]) {
      if (auto d = duration(root["retention"], "retention")) cfg.retention = *d;
    }
    if (const auto ingest = root["ingest"]) {
      if (!ingest.IsMap()) {
        error(ingest, "ingest must be a mapping");
      } else {
        known_keys(ingest, {"max_body_bytes", "queue_capacity", "auth"}, "ingest");
        if (ingest["max_body_bytes"]) {
          if (auto v =
                  integer(ingest["max_body_bytes"], "ingest.max_body_bytes", 1024, 1LL << 31)) {
            cfg.max_body_bytes = static_cast<std::size_t>(*v);
          }
        }
        if (ingest["queue_capacity"]) {
          if (auto v = integer(ingest["queue_capacity"], "ingest.queue_capacity", 1, 1 << 24)) {
            cfg.queue_capacity = static_cast<std::size_t>(*v);
          }
        }
        if (ingest["auth"]) load_auth(ingest["auth"], cfg);
      }
    }
    if (const auto alerts = root["alerts"]) {
      if (!alerts.IsMap()) {
        error(alerts, "alerts must be a mapping");
      } else {
        known_keys(alerts, {"resolve_timeout", "flush_interval"}, "alerts");
        if (alerts["resolve_timeout"]) {
          if (auto d = duration(alerts["resolve_timeout"], "alerts.resolve_timeout")) {
            if (*d <= core::Duration::zero()) {
              error(alerts["resolve_timeout"], "alerts.resolve_timeout must be positive");
            } else {
              cfg.alert_resolve_timeout = *d;
            }
          }
        }
        if (alerts["flush_interval"]) {
          if (auto d = duration(alerts["flush_interval"], "alerts.flush_interval")) {
            if (*d < std::chrono::milliseconds(10) || *d > std::chrono::hours(1)) {
              error(alerts["flush_interval"], "alerts.flush_interval must be between 10ms and 1h");
            } else {
              cfg.alert_flush_interval = *d;
            }
          }
        }
      }
    }
    if (root["http"]) load_http(root["http"], cfg.http);
    if (root["bus"]) load_bus(root["bus"], cfg.bus);
    if (root["gate"]) load_gate(root["gate"], cfg.gate);
    if (root["components"]) load_components(root["components"], cfg.gate);
    if (root["detectors"]) {
      load_components_config(
          root["detectors"], cfg.detectors,
          [this](const YAML::Node& at, std::string m) { error(at, std::move(m)); });
    }
  }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace

std::string ConfigError::describe() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  return out + ": " + message;
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
  if (!loader.errors().empty()) return std::unexpected(std::move(loader.errors()));
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
