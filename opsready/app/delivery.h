#pragma once
// Delivery: the daemon's side of the durable outbox (docs/alerting.md#delivery). The engine
// decides a notification on the evaluation strand; Delivery turns it into one outbox row per
// integration of its receiver (rows()), the runtime writes those rows in the same store
// transaction as the decision's log rows, and only after that commit hands them to send(). The
// Sender (alerting/notify/sender.h) runs every request on the delivery thread (run()); each
// outcome comes back through the `Report` callback as the row's new delivery state, for the
// runtime's persistence loop to write, plus, when an integration keeps failing or recovers,
// the OpsreadyNotificationFailing alert to put into the engine like any other alert.
//
//   Delivery d(config.delivery, {.owner = "replica-1"}, config.alerting, url, clock, registry,
//              report);
//   auto rows = d.rows(decision);                  // evaluation strand
//   (claim each row for d.owner() until now + d.lease())
//   store->write_alerting(state, log, rows);       // persistence loop: durable first
//   for (auto& r : rows) d.send(r);                // then sent
//   store->extend_outbox_claims(d.owner(), now);          // start: its own claims end, then
//   d.claimed(store->claim_outbox(d.owner(), now, lease, limit).value());  // at start and every
//   store->extend_outbox_claims(d.owner(), now + lease, now + lease / 2);  // claim_interval
//   d.run(stop_token);                             // the delivery thread
//
// The guarantee (tested by tests/integration/delivery_test.cc, documented in docs/alerting.md):
// a row is on disk before its first request, and marked after the receiver answered. After a
// crash at any moment, every pending row is sent again with the same id (Idempotency-Key,
// X-Opsready-Notification-Id, Message-ID, the GitHub marker), once per crash: at the next
// start, or by another replica sharing the store once the dead one's claims end
// (docs/replicas.md). A row is claimed by the replica that sends it; a claimed row this
// Delivery already sends (held(), until its final state is committed) is never sent twice.
//
// Thread-safety: rows() on the evaluation strand; send()/resend() from any thread; run() on one
// thread; Report is called on the run() thread (on send()'s caller for a row refused at once)
// and must not block. Metrics are its own (one declaration each).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "opsready/alerting/notify/sender.h"
#include "opsready/alerting/policy.h"
#include "opsready/app/config.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/engine/engine.h"
#include "opsready/metrics/registry.h"
#include "opsready/store/store.h"

namespace opsready::app {

namespace notify = alerting::notify;

// The alert delivery raises about itself.
inline constexpr std::string_view kNotificationFailingAlert = "OpsreadyNotificationFailing";

// The reason word of a decision: first, new_alerts, new_resolved, all_resolved, repeat, or
// escalation (an escalation step's notification).
[[nodiscard]] std::string_view decision_reason(const engine::Decision& d);

class Delivery {
 public:
  struct Report {
    std::optional<store::OutboxUpdate> update;  // the row's new state, for the store
    // OpsreadyNotificationFailing alerts to put (firing: ends_at in the future; resolved:
    // ends_at = now). Empty most of the time.
    std::vector<core::Alert> alerts;
  };

  // Who claims the rows this Delivery sends, and for how long a claim lasts unrenewed.
  struct Claims {
    std::string owner;
    core::Duration lease = std::chrono::seconds(30);
  };

  Delivery(const DeliveryConfig& config, Claims claims, alerting::Policy policy,
           std::string external_url, const core::Clock& clock, metrics::Registry& registry,
           std::function<void(Report)> report);
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  // The outbox rows of a decided notification: one per integration that has something to
  // send (see notify::outbox_rows). Empty for a receiver without integrations. An integration
  // without an endpoint (alerting::lint()'s integration_records_only: the brief's default
  // policy ships its channels that way) gets no row: the decision's notification log record
  // is all there is of it, counted as opsready_notifications_total{outcome="recorded"}.
  // The writer claims them for owner() (OutboxRow::claimed_by, claimed_until = the time of the
  // write + lease()) before it writes them.
  [[nodiscard]] std::vector<store::OutboxRow> rows(const engine::Decision& d) const;

  // Sends a row written to the store. A row that cannot be sent with this configuration (its
  // receiver or integration is gone, its payload or template does not build) is reported
  // failed at once. A row already held (being sent, or its final state not yet committed) is
  // not sent again.
  void send(const store::OutboxRow& row);
  // Rows Store::claim_outbox gave owner(), in their order, each with its attempts: at start the
  // rows a crash or stop left pending, later those a dead replica's claims left. Those held
  // already are skipped. Returns how many were new.
  std::size_t claimed(const std::vector<store::OutboxRow>& rows);

  [[nodiscard]] const std::string& owner() const { return claims_.owner; }
  [[nodiscard]] core::Duration lease() const { return claims_.lease; }
  // Rows held: sent and not yet final in the store. Their claims are to be renewed.
  [[nodiscard]] std::size_t held() const;

  // The delivery loop (blocks until `stop`); rows still in flight stay pending in the store.
  void run(std::stop_token stop);
  // Before a graceful stop (notify::Sender::drain): nothing new starts, and the requests
  // running may end, for at most `timeout`. True when none runs any more.
  bool drain(core::Duration timeout) { return sender_->drain(timeout); }

  // The store committed these rows' final state (sent or failed): their request slots are
  // free. Until then a finished row holds its slot, so a crash resends at most
  // delivery.max_in_flight notifications that a receiver had already taken. From any thread.
  // `committed` says whether the final states were written: only then are the rows no longer
  // held (a row whose mark could not be written stays held, so a claim does not send it again
  // while the mark waits for the store).
  void recorded(std::vector<std::string> ids, bool committed);

  [[nodiscard]] notify::Sender::Counts counts() const { return sender_->counts(); }

  // A drill's receiver outage (docs/drills.md): the receiver's requests are refused
  // (notify::Sender::set_outage) and the OpsreadyNotificationFailing alerts it raises carry
  // drill="true". From any thread.
  void set_outage(const std::string& receiver, bool down);

 private:
  struct Metrics;
  void on_outcome(const notify::Outcome& o);
  void refuse(const store::OutboxRow& row, const std::string& why);
  // The failing alert of (receiver, integration, reason), firing or resolved at `now`.
  [[nodiscard]] core::Alert failing_alert(const std::string& receiver,
                                          const std::string& integration, const std::string& reason,
                                          const std::string& error, bool firing,
                                          core::TimePoint now);

  DeliveryConfig config_;
  Claims claims_;
  alerting::Policy policy_;
  std::map<std::string, const alerting::Receiver*, std::less<>> receivers_;
  // (receiver, integration name) of the integrations that only record (no endpoint).
  std::set<std::pair<std::string, std::string>> records_only_;
  std::string external_url_;
  const core::Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  std::function<void(Report)> report_;
  std::unique_ptr<notify::Sender> sender_;
  // Guards what follows: outcomes come on the delivery thread, refusals on send()'s.
  mutable std::mutex mu_;
  std::unordered_map<std::string, core::TimePoint> decided_at_;  // by row id, until finished
  std::unordered_set<std::string> held_;  // by row id: sent, final state not yet committed
  // The failing alerts raised, by (receiver, integration), with the reasons they were raised
  // for.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> failing_;
  // Receivers in a drill's outage, and the failing alerts raised with drill="true" (receiver,
  // integration, reason) until they resolve.
  std::set<std::string, std::less<>> drill_outages_;
  std::set<std::tuple<std::string, std::string, std::string>> drill_raised_;
  // Consecutive failed attempts per (receiver, integration).
  std::map<std::pair<std::string, std::string>, int> streak_;
};

}  // namespace opsready::app
