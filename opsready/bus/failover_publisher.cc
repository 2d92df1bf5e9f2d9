#include "opsready/bus/failover_publisher.h"

#include <condition_variable>
#include <cstdio>
#include <exception>
#include <fstream>
#include <random>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "opsready/core/time.h"

namespace opsready::bus {
namespace {

std::string random_nonce() {
  std::random_device rd;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  return buf;
}

}  // namespace

std::string_view to_string(PublishStage s) {
  switch (s) {
    case PublishStage::kBus:
      return "bus";
    case PublishStage::kSpool:
      return "spool";
    case PublishStage::kReplay:
      return "replay";
  }
  return "unknown";
}

std::string PublishError::describe() const {
  std::string s =
      "Failed to publish event '" + event_type + "' via " + std::string(to_string(stage));
  if (!bus.empty()) s += " (bus '" + bus + "')";
  return s + ": " + message;
}

FailoverPublisher::FailoverPublisher(std::vector<EventBus*> buses, FailoverOptions options,
                                     const core::Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  if (options_.publisher_id.empty()) options_.publisher_id = "opsready";
  id_prefix_ = options_.publisher_id + "-" + random_nonce() + "-";
  for (EventBus* bus : buses) {
    if (bus == nullptr) continue;
    BusState state;
    state.bus = bus;
    state.counters.name = std::string(bus->name());
    buses_.push_back(std::move(state));
  }
  totals_.spool_configured = !options_.spool_dir.empty();
  if (totals_.spool_configured && ensure_spool() && !spool_->empty()) {
    log_to(options_.log, LogLevel::kInfo,
           "spool " + options_.spool_dir.string() + " holds " + std::to_string(spool_->pending()) +
               " events from an earlier run; they will be "
               "replayed before new events");
    spooling_ = true;
  }
}

FailoverPublisher::~FailoverPublisher() = default;

bool FailoverPublisher::ensure_spool() {
  if (spool_) return true;
  if (options_.spool_dir.empty()) return false;
  auto opened = Spool::open(options_.spool_dir, options_.spool, options_.log, clock_);
  if (!opened) {
    spool_error_ = opened.error();
    if (!spool_error_logged_) {
      log_to(options_.log, LogLevel::kError,
             "spool unavailable (" + spool_error_.code + ": " + spool_error_.message +
                 "); events that no bus takes will fail");
      spool_error_logged_ = true;
    }
    return false;
  }
  if (spool_error_logged_) {
    log_to(options_.log, LogLevel::kInfo,
           "spool " + options_.spool_dir.string() + " is available again");
  }
  spool_ = std::move(*opened);
  spool_error_ = {};
  spool_error_logged_ = false;
  return true;
}

PublishError FailoverPublisher::error(PublishError e) {
  ++totals_.errors;
  return e;
}

std::string FailoverPublisher::fallback_name(std::size_t index) const {
  if (index + 1 < buses_.size()) return "'" + buses_[index + 1].counters.name + "'";
  if (totals_.spool_configured) return "the spool";
  return "nothing (no spool configured)";
}

void FailoverPublisher::mark_down(std::size_t index, const PublishResult& result) {
  BusState& s = buses_[index];
  const core::TimePoint now = clock_.now();
  ++s.counters.failures;
  s.counters.last_error = result.reason;
  s.retry_at = now + options_.retry_interval;
  if (s.counters.up) {
    s.counters.up = false;
    ++s.counters.outages;
    s.down_since = now;
    s.failures_this_outage = 0;
    log_to(options_.log, LogLevel::kWarn,
           "event bus '" + s.counters.name + "' " + std::string(to_string(result.status)) + ": " +
               result.reason + "; falling back to " + fallback_name(index));
  }
  ++s.failures_this_outage;
}

void FailoverPublisher::mark_up(std::size_t index) {
  BusState& s = buses_[index];
  ++s.counters.delivered;
  if (!s.counters.up) {
    s.counters.up = true;
    log_to(options_.log, LogLevel::kInfo,
           "event bus '" + s.counters.name + "' recovered after " +
               std::to_string(s.failures_this_outage) + " refused attempts (down for " +
               core::format_duration(clock_.now() - s.down_since) + ")");
  }
}

std::expected<FailoverPublisher::Attempt, PublishError> FailoverPublisher::try_buses(
    const core::TelemetryEvent& event, const std::string& message_id, PublishStage stage) {
  Attempt a;
  const core::TimePoint now = clock_.now();
  for (std::size_t i = 0; i < buses_.size(); ++i) {
    BusState& s = buses_[i];
    if (!s.counters.up && now < s.retry_at) {
      a.all_permanent = false;  // not tried: it may take the event later
      if (!a.reasons.empty()) a.reasons += "; ";
      a.reasons +=
          s.counters.name + ": down, next retry in " + core::format_duration(s.retry_at - now);
      continue;
    }
    a.any_tried = true;
    PublishResult r;
    try {
      r = s.bus->publish(event, message_id);
    } catch (const std::exception& e) {
      return std::unexpected(PublishError{stage, s.counters.name, event.topic, "bus_exception",
                                          std::string("the bus threw: ") + e.what()});
    } catch (...) {
      return std::unexpected(PublishError{stage, s.counters.name, event.topic, "bus_exception",
                                          "the bus threw a non-standard exception"});
    }
    if (r.delivered()) {
      mark_up(i);
      a.delivered = true;
      a.bus_index = i;
      a.subscribers = r.subscribers;
      return a;
    }
    if (!a.reasons.empty()) a.reasons += "; ";
    a.reasons += s.counters.name + ": " + r.reason;
    if (r.status == PublishStatus::kFailed && !r.retryable) {
      // About this event, not the bus: the bus stays up for the next one.
      ++s.counters.failures;
      s.counters.last_error = r.reason;
      continue;
    }
    a.all_permanent = false;
    mark_down(i, r);
  }
  return a;
}

std::expected<Delivery, PublishError> FailoverPublisher::spool_event(
    const core::TelemetryEvent& event, const std::string& message_id, const std::string& reasons) {
  if (!totals_.spool_configured) {
    return std::unexpected(
        error({PublishStage::kSpool, "", event.topic, "no_spool",
               "every bus failed and no spool is configured (" + reasons + ")"}));
  }
  if (!ensure_spool()) {
    return std::unexpected(error({PublishStage::kSpool, "", event.topic, spool_error_.code,
                                  spool_error_.message + " (buses: " + reasons + ")"}));
  }
  if (auto r = spool_->append(message_id, event); !r) {
    if (!spool_error_logged_) {
      log_to(options_.log, LogLevel::kError,
             "spool " + options_.spool_dir.string() + " refused an event (" + r.error().code +
                 ": " + r.error().message + "); events are being lost to errors");
      spool_error_logged_ = true;
    }
    return std::unexpected(error({PublishStage::kSpool, "", event.topic, r.error().code,
                                  r.error().message + " (buses: " + reasons + ")"}));
  }
  spool_error_logged_ = false;
  ++totals_.spooled;
  if (!spooling_) {
    spooling_ = true;
    log_to(options_.log, LogLevel::kWarn,
           "every event bus failed (" + reasons + "); spooling events to " +
               options_.spool_dir.string());
  }
  return Delivery{Delivery::Route::kSpool, 0, {}, 0, message_id};
}

void FailoverPublisher::dead_letter(const SpoolRecord& record, const std::string& reasons) {
  ++totals_.rejected;
  const auto path = options_.spool_dir / "rejected.jsonl";
  std::ofstream out(path, std::ios::app);
  out << nlohmann::json{{"id", record.message_id},
                        {"reason", reasons},
                        {"event", core::to_json(record.event)}}
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
      << '\n';
  out.flush();
  log_to(options_.log, LogLevel::kError,
         "spooled event '" + record.event.topic + "' (" + record.message_id +
             ") was refused permanently by every bus (" + reasons + "); moved to " + path.string() +
             (out ? "" : " -- which could not be written"));
}

std::expected<std::size_t, PublishError> FailoverPublisher::replay_locked() {
  if (!spool_ || spool_->empty()) return 0;
  std::size_t replayed = 0;
  while (!spool_->empty()) {
    auto record = spool_->front();
    if (!record) {
      return std::unexpected(
          error({PublishStage::kReplay, "", "", record.error().code, record.error().message}));
    }
    if (!*record) break;
    const SpoolRecord& rec = **record;
    auto attempt = try_buses(rec.event, rec.message_id, PublishStage::kReplay);
    if (!attempt) return std::unexpected(error(std::move(attempt.error())));
    if (!attempt->delivered && !(attempt->any_tried && attempt->all_permanent)) break;
    if (!attempt->delivered) {
      dead_letter(rec, attempt->reasons);
    } else {
      ++totals_.replayed;
      ++replayed;
    }
    if (auto popped = spool_->pop_front(); !popped) {
      return std::unexpected(error({PublishStage::kReplay, "", rec.event.topic, popped.error().code,
                                    popped.error().message}));
    }
  }
  if (spool_->empty() && spooling_) {
    spooling_ = false;
    log_to(options_.log, LogLevel::kInfo,
           "spool " + options_.spool_dir.string() + " replayed completely (" +
               std::to_string(totals_.replayed) + " events replayed so far)");
  }
  return replayed;
}

std::expected<Delivery, PublishError> FailoverPublisher::publish(
    const core::TelemetryEvent& event) {
  std::lock_guard lock(mu_);
  PublishStage stage = PublishStage::kReplay;
  try {
    const std::string message_id = id_prefix_ + std::to_string(next_sequence_++);
    if (spool_ && !spool_->empty()) {
      if (auto replayed = replay_locked(); !replayed) {
        log_to(options_.log, LogLevel::kError, replayed.error().describe());
      }
      if (!spool_->empty()) {  // no bus took the backlog: queue behind it
        stage = PublishStage::kSpool;
        auto spooled = spool_event(event, message_id, "the spool is not yet replayed");
        if (spooled) ++totals_.published;
        return spooled;
      }
    }
    stage = PublishStage::kBus;
    auto attempt = try_buses(event, message_id, PublishStage::kBus);
    if (!attempt) return std::unexpected(error(std::move(attempt.error())));
    if (attempt->delivered) {
      ++totals_.published;
      return Delivery{Delivery::Route::kBus, attempt->bus_index,
                      buses_[attempt->bus_index].counters.name, attempt->subscribers, message_id};
    }
    if (attempt->any_tried && attempt->all_permanent) {
      return std::unexpected(
          error({PublishStage::kBus, "", event.topic, "rejected_by_every_bus",
                 "every bus refused the event permanently (" + attempt->reasons + ")"}));
    }
    stage = PublishStage::kSpool;
    auto spooled =
        spool_event(event, message_id, buses_.empty() ? "no bus configured" : attempt->reasons);
    if (spooled) ++totals_.published;
    return spooled;
  } catch (const std::exception& e) {
    return std::unexpected(error({stage, "", event.topic, "unexpected_exception", e.what()}));
  }
}

std::expected<std::size_t, PublishError> FailoverPublisher::replay() {
  std::lock_guard lock(mu_);
  try {
    if (!spool_ && totals_.spool_configured) ensure_spool();
    if (spool_) {
      if (auto synced = spool_->sync_if_due(); !synced) {
        return std::unexpected(
            error({PublishStage::kSpool, "", "", synced.error().code, synced.error().message}));
      }
    }
    return replay_locked();
  } catch (const std::exception& e) {
    return std::unexpected(
        error({PublishStage::kReplay, "", "", "unexpected_exception", e.what()}));
  }
}

void FailoverPublisher::run(std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  const core::Duration pause =
      std::max<core::Duration>(options_.retry_interval, std::chrono::milliseconds(10));
  bool logged = false;
  while (!stop.stop_requested()) {
    auto r = replay();
    if (!r && !logged) {
      log_to(options_.log, LogLevel::kError, r.error().describe());
      logged = true;
    } else if (r) {
      logged = false;
    }
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, pause, [] { return false; });
  }
}

FailoverCounters FailoverPublisher::counters() const {
  std::lock_guard lock(mu_);
  FailoverCounters c = totals_;
  for (const BusState& s : buses_) c.buses.push_back(s.counters);
  c.spool_available = spool_ != nullptr;
  c.spool_error = spool_error_.code.empty() ? "" : spool_error_.code + ": " + spool_error_.message;
  if (spool_) c.spool = spool_->stats();
  return c;
}

std::uint64_t FailoverPublisher::spool_pending() const {
  std::lock_guard lock(mu_);
  return spool_ ? spool_->pending() : 0;
}

}  // namespace opsready::bus
