#pragma once
// The durable outbox's rows as delivery makes and reads them: which integrations of a receiver
// a decided notification goes to, the idempotency key of each, and the payload kept with the
// row so that a restart sends exactly what was decided, with the same key.
//
//   auto rows = notify::outbox_rows(policy, decision_input, external_url);  // before sending
//   store->write_alerting(state, log, rows);                                // one transaction
//   core::Result<Data> d = notify::data_of(row);                            // at (re)send time
//
// Pure functions.

#include <cstdint>
#include <string>
#include <vector>

#include "opsready/alerting/group.h"
#include "opsready/alerting/notify/data.h"
#include "opsready/alerting/policy.h"
#include "opsready/core/error.h"
#include "opsready/store/store.h"

namespace opsready::alerting::notify {

// What the engine decided, as delivery needs it.
struct Decided {
  const Notification* notification = nullptr;
  std::string group_id;  // engine::group_id()
  std::string reason;    // first, new_alerts, new_resolved, all_resolved, repeat, escalation
  std::size_t step = 0;  // the escalation step (1-based) when reason is escalation
};

// The idempotency key of one notification to one integration: 32 hex digits of SHA-256 over
// (receiver, integration, group key, alert-set hash, reason, decision time, escalation step).
// Every part is fixed by the decision, so the same decision gives the same key wherever and
// whenever it is made (a restart re-deciding, a replay, a second replica on the same stream).
[[nodiscard]] std::string notification_id(const std::string& receiver,
                                          const std::string& integration,
                                          const std::string& group_key, std::uint64_t hash,
                                          const std::string& reason, core::TimePoint at,
                                          std::size_t step);

// "<type>/<index among the receiver's integrations of that type>": webhook/0, email/1.
[[nodiscard]] std::vector<std::string> integration_names(const Receiver& r);

// One pending row per integration of `receiver` that has something to send: an integration
// without send_resolved gets nothing for a notification whose alerts are all resolved, and
// none of its resolved alerts otherwise. A receiver with no integration gets no row.
[[nodiscard]] std::vector<store::OutboxRow> outbox_rows(const Receiver& receiver, const Decided& d,
                                                        const std::string& external_url);

// The row's payload back as transport data (with the row's id as notification_id).
[[nodiscard]] core::Result<Data> data_of(const store::OutboxRow& row);

// The integration a row names, in `receiver`; nullptr when the configuration no longer has it.
[[nodiscard]] const Integration* find_integration(const Receiver& receiver,
                                                  const std::string& integration);

}  // namespace opsready::alerting::notify
