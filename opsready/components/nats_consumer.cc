#include "opsready/components/nats_consumer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "opsready/components/report.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

constexpr std::string_view kConsumerTopic = "telemetry.bus.consumer";
constexpr std::string_view kKafkaLagTopic = "telemetry.kafka.lag";
constexpr std::string_view kInfoType = "io.nats.jetstream.api.v1.consumer_info_response";
constexpr std::size_t kSummaryMessages = 3;

// NATS stream and consumer names: no whitespace, '.', '*', '>', path separators or control
// characters (nats-server's name rule), so "<stream>/<consumer>" is unambiguous.
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '.' || c == '*' || c == '>' || c == '/' || c == '\\';
  });
}

// A whole, non-negative count (JetStream's counters and sequences).
core::Result<std::optional<double>> count(const Doc& d, std::string_view key) {
  auto n = d.number(key);
  if (!n) return std::unexpected(n.error());
  if (*n && (**n < 0 || **n != std::floor(**n) || **n > 1.8e19)) {
    return std::unexpected(d.error(key, "must be a whole number ≥ 0"));
  }
  return *n;
}

core::Result<double> required_count(const Doc& d, std::string_view key) {
  auto n = count(d, key);
  if (!n) return std::unexpected(n.error());
  if (!*n) return std::unexpected(d.error(key, "required field is missing"));
  return **n;
}

// The one of two spellings given (the API's, or the brief's flattened one); both must agree.
core::Result<std::string> name_of(const Doc& d, std::string_view api_key,
                                  std::string_view short_key) {
  auto a = d.string(api_key);
  if (!a) return std::unexpected(a.error());
  auto b = d.string(short_key);
  if (!b) return std::unexpected(b.error());
  if (*a && *b && **a != **b) {
    return std::unexpected(d.error(short_key, "disagrees with " + std::string(api_key)));
  }
  if (!*a && !*b) {
    return std::unexpected(
        d.error(api_key, "required field is missing (or " + std::string(short_key) + ")"));
  }
  const std::string name = *a ? **a : **b;
  const std::string_view key = *a ? api_key : short_key;
  if (!valid_name(name)) {
    return std::unexpected(d.error(key, "'" + name +
                                            "' is not a NATS name (no whitespace, '.', '*', "
                                            "'>', '/', '\\', at most 255 characters)"));
  }
  return name;
}

// delivered / ack_floor: {consumer_seq, stream_seq, last_active?}.
core::Result<nlohmann::json> sequence_pair(const Doc& d, std::string_view key) {
  auto o = d.object(key);
  if (!o) return std::unexpected(o.error());
  if (!*o) return nlohmann::json();
  const Doc& p = **o;
  if (auto ok = p.only({"consumer_seq", "stream_seq", "last_active"}); !ok) {
    return std::unexpected(ok.error());
  }
  nlohmann::json out = nlohmann::json::object();
  for (const char* seq : {"consumer_seq", "stream_seq"}) {
    auto n = count(p, seq);
    if (!n) return std::unexpected(n.error());
    if (*n) out[seq] = static_cast<std::uint64_t>(**n);
  }
  auto t = p.time("last_active");
  if (!t) return std::unexpected(t.error());
  if (*t) out["last_active"] = core::format_rfc3339(**t);
  return out;
}

// A counter as a JSON integer (-1 is JetStream's "unlimited").
nlohmann::json integer(double v) {
  if (v < 0) return static_cast<std::int64_t>(v);
  return static_cast<std::uint64_t>(v);
}

std::string whole(double v) { return integer(v).dump(); }

}  // namespace

core::Result<void> validate(const NatsConsumerConfig& c) {
  if (c.pending_fail < c.pending_warn) {
    return core::fail("invalid_parameter", "must not be below pending_warn", "pending_fail");
  }
  if (c.stale_after && *c.stale_after <= core::Duration::zero()) {
    return core::fail("invalid_parameter", "must be positive", "stale_after");
  }
  if (c.forget_after && *c.forget_after <= core::Duration::zero()) {
    return core::fail("invalid_parameter", "must be positive", "forget_after");
  }
  if (c.forget_after && c.stale_after && *c.forget_after <= *c.stale_after) {
    return core::fail("invalid_parameter", "must be longer than stale_after", "forget_after");
  }
  if (c.max_consumers < 1) return core::fail("invalid_parameter", "must be ≥ 1", "max_consumers");
  return {};
}

NatsConsumer::NatsConsumer(const NatsConsumerConfig& config) : config_(config) {}

core::Result<std::unique_ptr<NatsConsumer>> NatsConsumer::create(const NatsConsumerConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<NatsConsumer>(new NatsConsumer(config));
}

bool NatsConsumer::consumes(std::string_view topic) const {
  return topic == kConsumerTopic || topic == kKafkaLagTopic;
}

core::Result<NatsConsumer::Parsed> NatsConsumer::parse(const nlohmann::json& doc,
                                                       core::TimePoint received) {
  auto root = root_object(doc, "a JetStream consumer info document");
  if (!root) return std::unexpected(root.error());
  const Doc& d = *root;
  if (const nlohmann::json* err = d.get("error"); err != nullptr) {
    std::string what = "a JetStream error response carries no consumer info";
    if (err->is_object()) {
      if (const auto desc = err->find("description"); desc != err->end() && desc->is_string()) {
        what += " (" + desc->get<std::string>() + ")";
      }
    }
    return std::unexpected(d.error("error", what));
  }
  if (auto ok = d.only(
          {"type",           "stream_name",     "stream",          "name",        "consumer",
           "num_pending",    "num_ack_pending", "num_redelivered", "num_waiting", "delivered",
           "ack_floor",      "config",          "max_ack_pending", "ts",          "observed_at",
           "created",        "cluster",         "push_bound",      "paused",      "pause_remaining",
           "priority_groups"});
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto type = d.string("type"); !type) {
    return std::unexpected(type.error());
  } else if (*type && **type != kInfoType) {
    return std::unexpected(d.error("type", "must be " + std::string(kInfoType)));
  }
  Parsed p;
  auto stream = name_of(d, "stream_name", "stream");
  if (!stream) return std::unexpected(stream.error());
  p.stream = std::move(*stream);
  auto consumer = name_of(d, "name", "consumer");
  if (!consumer) return std::unexpected(consumer.error());
  p.consumer = std::move(*consumer);

  Report& r = p.report;
  auto pending = required_count(d, "num_pending");
  if (!pending) return std::unexpected(pending.error());
  r.num_pending = *pending;
  auto ack_pending = required_count(d, "num_ack_pending");
  if (!ack_pending) return std::unexpected(ack_pending.error());
  r.num_ack_pending = *ack_pending;
  auto redelivered = required_count(d, "num_redelivered");
  if (!redelivered) return std::unexpected(redelivered.error());
  r.num_redelivered = *redelivered;
  auto waiting = count(d, "num_waiting");
  if (!waiting) return std::unexpected(waiting.error());
  r.num_waiting = *waiting;
  auto delivered = sequence_pair(d, "delivered");
  if (!delivered) return std::unexpected(delivered.error());
  r.delivered = std::move(*delivered);
  auto ack_floor = sequence_pair(d, "ack_floor");
  if (!ack_floor) return std::unexpected(ack_floor.error());
  r.ack_floor = std::move(*ack_floor);

  // max_ack_pending: the consumer's config (the API), or flattened; -1 (or 0) is unlimited.
  const auto limit = [](const Doc& in) -> core::Result<std::optional<double>> {
    auto n = in.number("max_ack_pending");
    if (!n) return std::unexpected(n.error());
    if (*n && **n != std::floor(**n)) {
      return std::unexpected(in.error("max_ack_pending", "must be a whole number"));
    }
    return *n;
  };
  auto top_limit = limit(d);
  if (!top_limit) return std::unexpected(top_limit.error());
  r.max_ack_pending = *top_limit;
  auto config = d.object("config");
  if (!config) return std::unexpected(config.error());
  if (*config) {
    // The server's consumer configuration is free-form here; only the two keys read are typed.
    auto cfg_limit = limit(**config);
    if (!cfg_limit) return std::unexpected(cfg_limit.error());
    if (*cfg_limit) {
      if (r.max_ack_pending && *r.max_ack_pending != **cfg_limit) {
        return std::unexpected(d.error("max_ack_pending", "disagrees with config.max_ack_pending"));
      }
      r.max_ack_pending = *cfg_limit;
    }
    auto policy = (*config)->string("ack_policy");
    if (!policy) return std::unexpected(policy.error());
    if (*policy) {
      if (**policy != "none" && **policy != "all" && **policy != "explicit") {
        return std::unexpected((*config)->error(
            "ack_policy", "must be none, all or explicit, got '" + **policy + "'"));
      }
      r.ack_policy = **policy;
    }
  }
  auto paused = d.boolean("paused");
  if (!paused) return std::unexpected(paused.error());
  r.paused = *paused;
  if (auto pb = d.boolean("push_bound"); !pb) return std::unexpected(pb.error());
  if (auto pr = d.number("pause_remaining"); !pr) return std::unexpected(pr.error());
  if (auto created = d.time("created"); !created) return std::unexpected(created.error());
  if (auto cl = d.object("cluster"); !cl) return std::unexpected(cl.error());
  if (auto pg = d.array("priority_groups"); !pg) return std::unexpected(pg.error());

  auto ts = d.time("ts");
  if (!ts) return std::unexpected(ts.error());
  auto observed = d.time("observed_at");
  if (!observed) return std::unexpected(observed.error());
  r.observed_at = observed->value_or(ts->value_or(received));
  return p;
}

core::Result<void> NatsConsumer::apply(const core::TelemetryEvent& event) {
  if (!consumes(event.topic)) {
    return core::fail("unknown_topic", "not a consumer-lag topic", "topic");
  }
  auto parsed = parse(event.payload, event.time);
  if (!parsed) {
    core::Error e = parsed.error();
    e.field = e.field.empty() ? "payload" : "payload." + e.field;
    return std::unexpected(std::move(e));
  }
  auto key = std::make_pair(std::move(parsed->stream), std::move(parsed->consumer));
  auto it = consumers_.find(key);
  if (it == consumers_.end()) {
    if (consumers_.size() >= config_.max_consumers) {
      return core::fail("too_many_consumers", "nats_consumer.max_consumers reached",
                        "payload.stream_name");
    }
    it = consumers_.emplace(std::move(key), Tracked{}).first;
  }
  Tracked& t = it->second;
  Report& r = parsed->report;
  if (t.reports > 0 && r.observed_at <= t.latest.observed_at) {
    // Not newer than what is kept (a late delivery, or the same report delivered again, as
    // NATS delivers at least once): the kept report stands, its redelivery growth included.
    ++applied_;
    last_event_ = std::max(last_event_, event.time);
    return {};
  }
  if (t.reports > 0) {
    const double prev = t.latest.num_redelivered;
    // A counter below the previous one means the consumer was recreated: count from zero.
    t.redelivered_growth = r.num_redelivered >= prev ? r.num_redelivered - prev : r.num_redelivered;
  }
  t.latest = std::move(r);
  ++t.reports;
  ++applied_;
  last_event_ = std::max(last_event_, event.time);
  return {};
}

core::ComponentSnapshot NatsConsumer::snapshot(core::TimePoint now, Detail detail) {
  core::ComponentSnapshot s{.component = std::string(kNatsConsumerName),
                            .observed_at = last_event_};
  if (config_.forget_after) {
    std::erase_if(consumers_, [&](const auto& entry) {
      return now - entry.second.latest.observed_at > *config_.forget_after;
    });
  }
  Findings f{std::string(kNatsConsumerName)};
  nlohmann::json consumers = nlohmann::json::array();
  std::size_t degraded = 0;
  for (const auto& [key, t] : consumers_) {
    const std::string id = key.first + "/" + key.second;
    const Report& r = t.latest;
    const auto code = [&](std::string_view category) {
      return "nats_consumer." + std::string(category) + ":" + id;
    };
    const nlohmann::json who = {{"stream", key.first}, {"consumer", key.second}};
    core::Status st = core::Status::kOk;
    const auto add = [&](std::string category, core::Status sev, std::string message,
                         nlohmann::json detail_json) {
      st = core::escalate(st, sev);
      nlohmann::json d = who;
      d.update(detail_json);
      const std::string c = code(category);
      f.add(std::move(category), sev, id + ": " + message, c, std::move(d));
    };

    if (r.num_pending > config_.pending_fail) {
      add("pending", core::Status::kFail,
          whole(r.num_pending) + " messages pending (> " + std::to_string(config_.pending_fail) +
              ")",
          {{"num_pending", integer(r.num_pending)}, {"threshold", config_.pending_fail}});
    } else if (r.num_pending > config_.pending_warn) {
      add("pending", core::Status::kWarn,
          whole(r.num_pending) + " messages pending (> " + std::to_string(config_.pending_warn) +
              ")",
          {{"num_pending", integer(r.num_pending)}, {"threshold", config_.pending_warn}});
    }
    if (r.max_ack_pending && *r.max_ack_pending > 0 && r.num_ack_pending >= *r.max_ack_pending) {
      add("ack_pending", core::Status::kFail,
          whole(r.num_ack_pending) + " messages awaiting ack, at max_ack_pending " +
              whole(*r.max_ack_pending) + " (delivery suspended)",
          {{"num_ack_pending", integer(r.num_ack_pending)},
           {"max_ack_pending", integer(*r.max_ack_pending)}});
    } else if (r.num_ack_pending > config_.ack_pending_warn) {
      add("ack_pending", core::Status::kWarn,
          whole(r.num_ack_pending) + " messages awaiting ack (> " +
              std::to_string(config_.ack_pending_warn) + ")",
          {{"num_ack_pending", integer(r.num_ack_pending)},
           {"threshold", config_.ack_pending_warn}});
    }
    if (t.redelivered_growth && *t.redelivered_growth > config_.redelivered_warn) {
      add("redelivered", core::Status::kWarn,
          whole(*t.redelivered_growth) + " redeliveries since the previous report (> " +
              std::to_string(config_.redelivered_warn) + ")",
          {{"redelivered_growth", integer(*t.redelivered_growth)},
           {"threshold", config_.redelivered_warn}});
    }
    const core::Duration silent = now > r.observed_at ? now - r.observed_at : core::Duration{};
    if (config_.stale_after && silent > *config_.stale_after) {
      add("stale", core::Status::kWarn,
          "no consumer info for " +
              core::format_duration(std::chrono::duration_cast<std::chrono::seconds>(silent)) +
              " (> " + core::format_duration(*config_.stale_after) + ")",
          {{"silent_seconds", core::to_seconds(silent)},
           {"stale_after_seconds", core::to_seconds(*config_.stale_after)}});
    }
    if (st != core::Status::kOk) ++degraded;

    if (detail == Detail::kFull) {
      nlohmann::json c = who;
      c["status"] = core::to_string(st);
      c["num_pending"] = integer(r.num_pending);
      c["num_ack_pending"] = integer(r.num_ack_pending);
      c["num_redelivered"] = integer(r.num_redelivered);
      if (t.redelivered_growth) c["redelivered_growth"] = integer(*t.redelivered_growth);
      if (r.num_waiting) c["num_waiting"] = integer(*r.num_waiting);
      if (r.max_ack_pending) c["max_ack_pending"] = integer(*r.max_ack_pending);
      if (!r.ack_policy.empty()) c["ack_policy"] = r.ack_policy;
      if (r.paused) c["paused"] = *r.paused;
      if (!r.delivered.is_null()) c["delivered"] = r.delivered;
      if (!r.ack_floor.is_null()) c["ack_floor"] = r.ack_floor;
      c["observed_at"] = core::format_rfc3339(r.observed_at);
      c["silent_seconds"] = core::to_seconds(silent);
      c["reports"] = t.reports;
      consumers.push_back(std::move(c));
    }
  }
  f.write_to(s);

  const std::size_t n = consumers_.size();
  const std::string noun = n == 1 ? " consumer" : " consumers";
  if (n == 0) {
    s.summary = "No consumers reported";
  } else if (degraded == 0) {
    s.summary = std::to_string(n) + noun + " within limits";
  } else {
    s.summary = std::to_string(degraded) + " of " + std::to_string(n) + noun + " degraded: ";
    const auto messages = f.messages();
    for (std::size_t i = 0; i < messages.size() && i < kSummaryMessages; ++i) {
      s.summary += (i ? "; " : "") + messages[i];
    }
    if (messages.size() > kSummaryMessages) {
      s.summary += "; +" + std::to_string(messages.size() - kSummaryMessages) + " more";
    }
  }

  if (detail == Detail::kFull) {
    nlohmann::json& m = s.metadata;
    m["consumer_count"] = n;
    m["degraded_consumers"] = degraded;
    m["consumers"] = std::move(consumers);
    m["thresholds"] = {{"pending_warn", config_.pending_warn},
                       {"pending_fail", config_.pending_fail},
                       {"ack_pending_warn", config_.ack_pending_warn},
                       {"redelivered_warn", config_.redelivered_warn}};
    if (config_.stale_after) {
      m["thresholds"]["stale_after_seconds"] = core::to_seconds(*config_.stale_after);
    }
    f.write_metadata(m);
  }
  return s;
}

}  // namespace opsready::components
