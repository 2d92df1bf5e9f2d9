#pragma once
// DashboardStreams: the dashboard's server-sent-event streams (GET /api/v1/dashboard/stream).
// Each kind of event (readiness, dashboard, alerts, supervision, stats) is sent when its
// content changed since the last one of its kind, and a new stream first gets the last event of
// every kind, so a page that connects (or reconnects) has everything at once. Streams live on
// the listener's event loop (EventStream): a connected dashboard holds no request worker.
//
// Readiness is sent as deltas: a new stream first gets the whole snapshot (`readiness`: the
// readiness document plus "version"), then one `readiness_delta` per change, holding only what
// changed (readiness_delta_event below). With 1 000 components, one of them refreshed every
// few seconds, that is a few hundred bytes per change and stream instead of 250 KB.
//
//   DashboardStreams streams(std::chrono::seconds(15), offload);
//   streams.add(res.stream(), [&] { return backend.current(); });
//   streams.publish_readiness(snapshot);
//   streams.publish("alerts", streams.next_sequence("alerts"), key, sse_event("alerts", data));
//
// Thread-safe. publish() of one kind must be called in order (the caller numbers renders made
// on several threads with next_sequence() and publish drops one that lost the race).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/core/clock.h"
#include "opsready/readiness/readiness.h"
#include "opsready/server/http_listener.h"

namespace opsready::server {

class DashboardStreams {
 public:
  using Snapshot = std::shared_ptr<const readiness::ReadinessSnapshot>;
  // Runs a render off the caller's thread (the server's worker pool).
  using Offload = std::function<void(std::function<void()>)>;

  DashboardStreams(core::Duration heartbeat, Offload offload);

  [[nodiscard]] bool empty() const;
  [[nodiscard]] std::size_t size() const;
  // A new stream gets the readiness snapshot the deltas are made from and the last event of
  // every other kind; when no stream was open, what was last sent may be old, so it is dropped,
  // the stream gets `current()` (non-null) and the other kinds follow with the next tick.
  void add(std::shared_ptr<EventStream> stream, const std::function<Snapshot()>& current);
  // Sends what changed between the last snapshot sent and `snapshot` as a `readiness_delta`
  // (rendered off the caller's thread; snapshots that arrive faster than they are sent are
  // coalesced, the delta then spanning them). Nothing when no stream is open.
  void publish_readiness(Snapshot snapshot);
  // A number for a render of `kind` about to start; pass it to publish().
  [[nodiscard]] std::uint64_t next_sequence(std::string_view kind);
  // Sends `text` (whole SSE records) to every stream when `key` differs from the key last sent
  // for `kind` (`always`: also when it does not) and `sequence` is newer than the last
  // published render of `kind`. Sends a heartbeat comment instead when nothing was sent for
  // the heartbeat interval.
  void publish(std::string_view kind, std::uint64_t sequence, std::string key, std::string text,
               bool always = false);
  // Closes every stream (the server is stopping).
  void close_all();

 private:
  struct Last {
    std::uint64_t issued = 0;     // next_sequence()
    std::uint64_t published = 0;  // the newest render published
    std::string key;
    std::string text;
  };
  void send_locked(std::string_view text);
  void drain_readiness();

  const std::chrono::steady_clock::duration heartbeat_;
  const Offload offload_;
  // Held while a readiness delta is made and sent, and while a new stream gets its snapshot,
  // so every stream has the snapshot of `version_` when the next delta goes out. Taken
  // before mu_.
  std::mutex chain_mu_;
  Snapshot sent_;              // guarded by chain_mu_: what the deltas are made from
  std::uint64_t version_ = 0;  // guarded by chain_mu_: the version of sent_
  std::string full_;           // guarded by chain_mu_: readiness_event(*sent_, full_version_)
  std::uint64_t full_version_ = 0;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<EventStream>> streams_;
  std::map<std::string, Last, std::less<>> last_;
  std::chrono::steady_clock::time_point last_sent_{};
  Snapshot pending_;       // guarded by mu_: the newest snapshot not yet sent
  bool draining_ = false;  // guarded by mu_: a drain_readiness() is queued or running
};

// The first readiness event of a stream: "event: readiness", data = readiness::to_json(s) plus
// "version".
[[nodiscard]] std::string readiness_event(const readiness::ReadinessSnapshot& s,
                                          std::uint64_t version);
// "event: readiness_delta", data = {"version", "base", "generated_at", "status", "counts",
// "components": [each component added or changed, whole], "removed": [names], "gate" (only when
// it changed)}; applied in order to the snapshot of `base` it gives the snapshot of `version`
// (the issue catalog being every component's issues in component order). Nothing when only
// generated_at differs. Both snapshots' components are sorted by name (aggregate() sorts them).
[[nodiscard]] std::optional<std::string> readiness_delta_event(
    const readiness::ReadinessSnapshot& from, const readiness::ReadinessSnapshot& to,
    std::uint64_t base, std::uint64_t version);

// One SSE record: "event: <kind>\ndata: <data>\n\n" (data must hold no newline: compact JSON).
[[nodiscard]] std::string sse_event(std::string_view kind, std::string_view data);

}  // namespace opsready::server
