#include "opsready/app/delivery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

#include "opsready/alerting/notify/outbox.h"
#include "opsready/alerting/notify/transports.h"
#include "opsready/app/version.h"
#include "opsready/core/time.h"

namespace opsready::app {

std::string_view decision_reason(const engine::Decision& d) {
  if (d.escalation) return "escalation";
  switch (d.notification.reason) {
    case alerting::NotifyReason::kFirst:
      return "first";
    case alerting::NotifyReason::kNewAlerts:
      return "new_alerts";
    case alerting::NotifyReason::kNewResolved:
      return "new_resolved";
    case alerting::NotifyReason::kAllResolved:
      return "all_resolved";
    case alerting::NotifyReason::kRepeat:
      return "repeat";
  }
  return "unknown";
}

namespace {

// The `reason` label of a failed attempt: what kind of failure, in a few fixed words (so the
// label stays bounded), Alertmanager's clientError/serverError/other made finer.
std::string failure_kind(const notify::Outcome& o) {
  if (o.status == 429) return "rate_limited";
  if (o.status >= 500 && o.status < 600) return "server_error";
  if (o.status >= 400 && o.status < 500) return "client_error";
  if (o.status > 0) return "unexpected_status";
  const std::string_view e = o.error;
  if (e.starts_with("timeout") || e.find(": timeout") != std::string_view::npos) return "timeout";
  if (e.starts_with("connection error") || e.find(": connection error") != std::string_view::npos) {
    return "connection_error";
  }
  if (e.starts_with("gave up")) return "gave_up";
  return "other";
}

}  // namespace

struct Delivery::Metrics {
  explicit Metrics(metrics::Registry& r)
      : notifications(r.counter(
            "opsready_notifications_total",
            "Notifications that finished, by receiver, integration and outcome (sent: the "
            "receiver accepted it; failed: refused for good, or given up; recorded: the "
            "integration has no endpoint, the notification log holds it, nothing is sent).",
            {"receiver", "integration", "outcome"})),
        attempts_failed(r.counter("opsready_notification_attempts_failed_total",
                                  "Delivery attempts that failed, by receiver, integration and "
                                  "reason (client_error, server_error, rate_limited, timeout, "
                                  "connection_error, config, other).",
                                  {"receiver", "integration", "reason"})),
        truncated(r.counter("opsready_notifications_truncated_total",
                            "Notifications cut to fit their receiver's limits (a field cut with a "
                            "visible marker, or alerts left out by max_alerts).",
                            {"receiver", "integration"})),
        latency(r.histogram(
            "opsready_notification_latency_seconds",
            "From the decision of a notification to its receiver's acceptance, "
            "retries included, by receiver.",
            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
            {"receiver"})),
        claimed(r.counter("opsready_notifications_claimed_total",
                          "Outbox rows this replica claimed to send that it was not sending "
                          "already: those left pending by its last stop or crash, and those "
                          "another replica's claims left when it died or stopped "
                          "(docs/replicas.md).")),
        held(r.gauge("opsready_notification_claims",
                     "Outbox rows this replica holds a claim on: being sent, or sent and "
                     "their final state not yet committed.")),
        queued(r.gauge("opsready_notifications_queued",
                       "Notifications waiting for their retry time or a free request slot.")),
        in_flight(r.gauge("opsready_notifications_in_flight", "Delivery requests running.")) {}

  metrics::CounterFamily& notifications;
  metrics::CounterFamily& attempts_failed;
  metrics::CounterFamily& truncated;
  metrics::HistogramFamily& latency;
  metrics::CounterFamily& claimed;
  metrics::GaugeFamily& held;
  metrics::GaugeFamily& queued;
  metrics::GaugeFamily& in_flight;
};

Delivery::Delivery(const DeliveryConfig& config, Claims claims, alerting::Policy policy,
                   std::string external_url, const core::Clock& clock, metrics::Registry& registry,
                   std::function<void(Report)> report)
    : config_(config),
      claims_(std::move(claims)),
      policy_(std::move(policy)),
      external_url_(std::move(external_url)),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry)),
      report_(std::move(report)) {
  for (const alerting::Receiver& r : policy_.receivers) {
    receivers_.emplace(r.name, &r);
    const auto names = notify::integration_names(r);
    for (std::size_t i = 0; i < r.integrations.size(); ++i) {
      const auto lints = alerting::lint(r.integrations[i], policy_.global);
      if (std::ranges::any_of(
              lints, [](const core::Error& e) { return e.code == "integration_records_only"; })) {
        records_only_.emplace(r.name, names[i]);
      }
    }
  }
  notify::SenderOptions o{
      .max_in_flight = config_.max_in_flight,
      .max_in_flight_per_receiver = config_.max_in_flight_per_receiver,
      .backoff_initial =
          std::chrono::duration_cast<std::chrono::milliseconds>(config_.backoff_initial),
      .backoff_max = std::chrono::duration_cast<std::chrono::milliseconds>(config_.backoff_max),
      .give_up_after = config_.give_up_after,
      .hold_until_recorded = true,
  };
  sender_ = std::make_unique<notify::Sender>(o, clock_,
                                             [this](const notify::Outcome& x) { on_outcome(x); });
}

Delivery::~Delivery() = default;

std::vector<store::OutboxRow> Delivery::rows(const engine::Decision& d) const {
  const auto it = receivers_.find(d.notification.receiver);
  if (it == receivers_.end()) return {};
  auto rows = notify::outbox_rows(*it->second,
                                  {.notification = &d.notification,
                                   .group_id = d.group_id,
                                   .reason = std::string(decision_reason(d)),
                                   .step = d.step},
                                  external_url_);
  if (records_only_.empty()) return rows;
  std::erase_if(rows, [this](const store::OutboxRow& row) {
    if (!records_only_.contains({row.receiver, row.integration})) return false;
    metrics_->notifications.with({row.receiver, row.integration, "recorded"}).inc();
    return true;
  });
  return rows;
}

void Delivery::send(const store::OutboxRow& row) {
  {
    std::lock_guard lock(mu_);
    if (!held_.insert(row.id).second) return;
    metrics_->held.with({}).set(static_cast<double>(held_.size()));
  }
  const auto it = receivers_.find(row.receiver);
  if (it == receivers_.end()) {
    refuse(row, "receiver '" + row.receiver + "' is no longer configured");
    return;
  }
  const alerting::Integration* integration = notify::find_integration(*it->second, row.integration);
  if (integration == nullptr) {
    refuse(row, "receiver '" + row.receiver + "' has no integration " + row.integration);
    return;
  }
  // The payload is read and the request built on the Sender's thread when the job starts
  // (Job::prepare), not here on the persistence strand: for groups of a thousand alerts that
  // was most of the strand's time, and the group commits of POST /api/v2/alerts waited
  // behind it. A payload or template that cannot be used fails the notification for good.
  auto prepare = [this, integration, row]() -> core::Result<std::unique_ptr<notify::Exchange>> {
    auto data = notify::data_of(row);
    if (!data) return core::fail(data.error().code, "config: " + data.error().message);
    auto exchange = notify::make_exchange(
        *integration, *data,
        {.global = policy_.global,
         .user_agent = "opsready/" + std::string(kVersion),
         .connect_timeout =
             std::chrono::duration_cast<std::chrono::milliseconds>(config_.connect_timeout),
         .timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.timeout)});
    if (!exchange)
      return core::fail(exchange.error().code, "config: " + exchange.error().describe());
    if (const notify::Truncation t = (*exchange)->truncation(); t.fields > 0 || t.alerts > 0) {
      metrics_->truncated.with({row.receiver, row.integration}).inc();
    }
    return std::move(*exchange);
  };
  {
    std::lock_guard lock(mu_);
    decided_at_.emplace(row.id, row.decided_at);
  }
  sender_->submit({.id = row.id,
                   .receiver = row.receiver,
                   .integration = row.integration,
                   // One group's notifications reach each integration in decision order.
                   .order_key = row.receiver + '\x1f' + row.integration + '\x1f' + row.group_key,
                   .prepare = std::move(prepare),
                   .attempts = row.attempts,
                   .not_before = row.next_attempt_at,
                   // give_up_after counts from the decision, across restarts.
                   .first_tried = row.decided_at});
  const auto c = sender_->counts();
  metrics_->queued.with({}).set(static_cast<double>(c.queued));
}

std::size_t Delivery::claimed(const std::vector<store::OutboxRow>& rows) {
  std::vector<const store::OutboxRow*> fresh;
  {
    std::lock_guard lock(mu_);
    for (const store::OutboxRow& row : rows) {
      if (!held_.contains(row.id)) fresh.push_back(&row);
    }
  }
  if (fresh.empty()) return 0;
  spdlog::info(
      "delivery: claimed {} pending notification(s) (left by the last stop, or by a replica "
      "that stopped or died); sending them with their ids",
      fresh.size());
  metrics_->claimed.with({}).inc(static_cast<double>(fresh.size()));
  for (const store::OutboxRow* row : fresh) send(*row);
  return fresh.size();
}

std::size_t Delivery::held() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

void Delivery::recorded(std::vector<std::string> ids, bool committed) {
  if (committed) {
    std::lock_guard lock(mu_);
    for (const std::string& id : ids) held_.erase(id);
    metrics_->held.with({}).set(static_cast<double>(held_.size()));
  }
  sender_->recorded(std::move(ids));
}

void Delivery::run(std::stop_token stop) { sender_->run(std::move(stop)); }

void Delivery::refuse(const store::OutboxRow& row, const std::string& why) {
  notify::Outcome o{.kind = notify::Outcome::Kind::kFailed,
                    .id = row.id,
                    .receiver = row.receiver,
                    .integration = row.integration,
                    .attempts = row.attempts,
                    .error = "config: " + why};
  on_outcome(o);
}

core::Alert Delivery::failing_alert(const std::string& receiver, const std::string& integration,
                                    const std::string& reason, const std::string& error,
                                    bool firing, core::TimePoint now) {
  core::Alert a;
  a.labels = {{"alertname", std::string(kNotificationFailingAlert)},
              {"receiver", receiver},
              {"integration", integration},
              {"reason", reason},
              {"severity", "critical"},
              {"category", "alerting"}};
  // A drill's outage (set_outage): the alert says so, and keeps saying so until it resolves,
  // so its resolution has the same labels (the same fingerprint) as its firing.
  const auto key = std::make_tuple(receiver, integration, reason);
  if (firing && drill_outages_.contains(receiver)) drill_raised_.insert(key);
  if (drill_raised_.contains(key)) {
    a.labels.emplace("drill", "true");
    if (!firing) drill_raised_.erase(key);
  }
  a.annotations = {
      {"summary", "Notifications to receiver " + receiver + " via " + integration + " fail"},
      {"description", error},
      {"runbook", "docs/alerting.md#runbook-a-receiver-is-failing"}};
  a.starts_at = now;
  // Received now, like an alert posted to /api/v2/alerts: the merge of its resolution with the
  // firing alert judges "resolved" at the younger alert's receive time (core::merge_alert), so
  // without it a resolution was taken for a firing alert and the alert kept its long endsAt.
  a.received_at = now;
  // Firing until delivery says otherwise; a long endsAt, renewed with every failure, so that an
  // opsready that stops failing without a success (the receiver removed) still resolves it.
  a.ends_at =
      firing ? now + std::max<core::Duration>(config_.give_up_after, std::chrono::hours(1)) : now;
  a.generator_url = external_url_ + "/api/v2/status";
  core::assign_fingerprint(a);
  return a;
}

void Delivery::set_outage(const std::string& receiver, bool down) {
  {
    std::lock_guard lock(mu_);
    if (down) {
      drill_outages_.insert(receiver);
    } else {
      drill_outages_.erase(receiver);
    }
  }
  sender_->set_outage(receiver, down);
}

void Delivery::on_outcome(const notify::Outcome& o) {
  const core::TimePoint now = clock_.now();
  Report report;
  store::OutboxUpdate u{.id = o.id, .attempts = o.attempts, .last_error = o.error};
  const auto key = std::make_pair(o.receiver, o.integration);
  std::unique_lock lock(mu_);  // refuse() runs on send()'s thread
  std::optional<core::TimePoint> decided;
  if (o.kind != notify::Outcome::Kind::kRetrying) {
    if (auto node = decided_at_.extract(o.id)) decided = node.mapped();
  }
  switch (o.kind) {
    case notify::Outcome::Kind::kSent: {
      u.state = store::OutboxState::kSent;
      u.done_at = now;
      u.last_error.clear();
      metrics_->notifications.with({o.receiver, o.integration, "sent"}).inc();
      if (decided) {
        metrics_->latency.with({o.receiver})
            .observe(std::chrono::duration<double>(now - *decided).count());
      }
      streak_.erase(key);
      if (auto it = failing_.find(key); it != failing_.end()) {
        for (const std::string& reason : it->second) {
          report.alerts.push_back(failing_alert(o.receiver, o.integration, reason, "", false, now));
        }
        failing_.erase(it);
        spdlog::info("delivery: {} {} accepts notifications again", o.receiver, o.integration);
      }
      break;
    }
    case notify::Outcome::Kind::kRetrying:
    case notify::Outcome::Kind::kFailed: {
      const bool final = o.kind == notify::Outcome::Kind::kFailed;
      const std::string reason = o.error.starts_with("config: ") ? "config" : failure_kind(o);
      metrics_->attempts_failed.with({o.receiver, o.integration, reason}).inc();
      if (final) {
        u.state = store::OutboxState::kFailed;
        u.done_at = now;
        metrics_->notifications.with({o.receiver, o.integration, "failed"}).inc();
        spdlog::error("delivery: notification {} to {} {} failed for good after {} attempt(s): {}",
                      o.id, o.receiver, o.integration, o.attempts, o.error);
      } else {
        u.state = store::OutboxState::kPending;
        u.next_attempt_at = o.next_attempt_at;
        spdlog::warn("delivery: notification {} to {} {} failed (attempt {}), retrying at {}: {}",
                     o.id, o.receiver, o.integration, o.attempts,
                     core::format_rfc3339(o.next_attempt_at), o.error);
      }
      // A receiver failing on its own OpsreadyNotificationFailing re-raises the same alert (same
      // labels, same fingerprint): it updates, it does not multiply.
      const int streak = ++streak_[key];
      if (final || streak >= config_.failing_after_attempts) {
        failing_[key].insert(reason);
        report.alerts.push_back(
            failing_alert(o.receiver, o.integration, reason, o.error, true, now));
      }
      break;
    }
  }
  report.update = std::move(u);
  lock.unlock();
  const auto c = sender_->counts();
  metrics_->queued.with({}).set(static_cast<double>(c.queued));
  metrics_->in_flight.with({}).set(static_cast<double>(c.in_flight));
  report_(std::move(report));
}

}  // namespace opsready::app
