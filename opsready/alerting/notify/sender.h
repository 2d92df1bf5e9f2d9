#pragma once
// Sender: runs the Exchanges of notifications (exchange.h) over libcurl's multi interface, on
// the one thread that calls run(): every socket, timeout and retry of delivery lives here, never
// on the evaluation strand and never one thread per request. libcurl's multi handle keeps a
// connection cache, so requests to the same receiver reuse connections (HTTP keep-alive).
//
//   notify::Sender sender(options, clock, [&](notify::Outcome o) { ... });
//   // a supervised loop of its own:   sender.run(stop_token);
//   sender.submit({.id = key, .receiver = "ops", .integration = "webhook/0",
//                  .exchange = std::move(x)});           // from any thread
//
// Per job: the Exchange's requests in turn until it ends. Done → Outcome kSent. Retry (5xx,
// 429, timeouts, connection errors) → Outcome kRetrying and the whole exchange starts again
// after a backoff: Retry-After when the receiver sent one, else exponential from
// `backoff_initial` × `backoff_multiplier` per attempt, randomized by ±`backoff_jitter`, then
// capped at `backoff_max` (Alertmanager's 500 ms × 1.5 ± 50 %, max 60 s are the defaults; a
// Retry-After is honoured as sent, even above backoff_max). A job keeps being retried until it
// is accepted, refused (Fail → kFailed, final) or `give_up_after` has passed since
// Job::first_tried (the caller's first attempt, kept across restarts; its first submission when
// unset) (kFailed, "gave up").
// Concurrency: at most `max_in_flight_per_receiver` requests per receiver and `max_in_flight`
// in all; a receiver that is slow or down holds only its own slots, so it never delays another.
// With `hold_until_recorded`, a slot is free only once the caller says the job's outcome is
// recorded (recorded()), which bounds what a crash can send twice by the in-flight limit.
//
// Outcomes are reported on the run() thread, in the order they happen; the callback must not
// block for long (the daemon posts them to its persistence loop).
//
// submit() and stop requests are thread-safe; run() is called by one thread at a time.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "opsready/alerting/notify/exchange.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::alerting::notify {

struct SenderOptions {
  std::size_t max_in_flight = 256;
  std::size_t max_in_flight_per_receiver = 16;
  std::chrono::milliseconds backoff_initial{500};
  double backoff_multiplier = 1.5;
  double backoff_jitter = 0.5;  // each wait is randomized by ± this fraction
  std::chrono::milliseconds backoff_max{60'000};
  core::Duration give_up_after = std::chrono::hours(24);
  std::size_t max_response_body = 64 * 1024;  // kept of an answer, for errors and GitHub
  std::size_t max_answer = 512;               // of it in Outcome::answer
  std::uint64_t seed = 0;                     // of the jitter; 0 = random
  // When set, a job that ended (kSent or kFailed) keeps its slot until recorded() names it:
  // the daemon calls it once the outcome is committed to the outbox, so a crash can resend at
  // most max_in_flight notifications that a receiver had already taken.
  bool hold_until_recorded = false;
};

struct Job {
  std::string id;  // the outbox id (idempotency key)
  std::string receiver;
  std::string integration;
  // Jobs with the same non-empty key run one at a time, in the order they were submitted: the
  // next starts once the one before has ended (accepted, refused or given up; its retries
  // included). The daemon keys by receiver, integration and group, so a group's notifications
  // reach a receiver in the order they were decided, as Alertmanager's one goroutine per group
  // sends them (a "resolved" never overtakes the "firing" before it).
  std::string order_key;
  std::unique_ptr<Exchange> exchange;
  // When `exchange` is empty: builds it on the sending thread, just before the job starts, so
  // that the submitter does not spend its time building request bodies (the daemon submits
  // from its persistence strand). An error fails the job (Outcome kFailed with its message).
  std::function<core::Result<std::unique_ptr<Exchange>>()> prepare;
  int attempts = 0;                            // exchanges already tried (a resend after a restart)
  core::TimePoint not_before{};                // when to try it first
  std::optional<core::TimePoint> first_tried;  // for give_up_after; now when unset
};

struct Outcome {
  enum class Kind { kSent, kRetrying, kFailed };
  Kind kind = Kind::kSent;
  std::string id;
  std::string receiver;
  std::string integration;
  int attempts = 0;                   // exchanges tried, this one included
  core::TimePoint next_attempt_at{};  // kRetrying: when it is tried again
  long status = 0;                    // of the last answer; 0 when none came
  std::string error;                  // kRetrying / kFailed: why
  std::string answer;                 // the start of the last answer's body (max_answer bytes)
  core::Duration latency{};           // kSent: from the first try of this exchange to accepted
};

class Sender {
 public:
  Sender(SenderOptions options, const core::Clock& clock,
         std::function<void(const Outcome&)> on_outcome);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // From any thread.
  void submit(Job job);
  // From any thread: the outcomes of these jobs are durable; their slots are free again
  // (hold_until_recorded). Unknown ids are ignored.
  void recorded(std::vector<std::string> ids);
  // Runs until `stop` is requested; requests in flight are abandoned then (their rows stay
  // pending in the outbox and are sent again at the next start, with the same key).
  void run(std::stop_token stop);
  // Before a stop: no job starts any more, and the requests running are left to end (their
  // outcomes reported as usual), for at most `timeout`. True when none runs any more. Waits;
  // from any thread but run()'s. Irreversible: the Sender is then only stopped.
  bool drain(core::Duration timeout);

  // A receiver outage (a drill's fault, docs/drills.md): while `down`, every request to
  // `receiver` connects to a loopback port that refuses it, so its jobs fail and are retried
  // as a real outage would make them (backoff, give_up_after, the failing-integration alert);
  // once it is up again the next retry goes through. From any thread.
  void set_outage(const std::string& receiver, bool down);
  [[nodiscard]] std::vector<std::string> outages() const;

  // Snapshot of the queue, for /metrics (thread-safe).
  struct Counts {
    std::size_t queued = 0;     // waiting for their time or a free slot
    std::size_t in_flight = 0;  // requests running, and ended ones not recorded yet
  };
  [[nodiscard]] Counts counts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsready::alerting::notify
