#pragma once
// DashboardStreams: the dashboard's server-sent-event streams (GET /api/v1/dashboard/stream).
// Each kind of event (readiness, dashboard, alerts, supervision, stats) is sent when its
// content changed since the last one of its kind, and a new stream first gets the last event of
// every kind, so a page that connects (or reconnects) has everything at once. Streams live on
// the listener's event loop (EventStream): a connected dashboard holds no request worker.
//
//   DashboardStreams streams(std::chrono::seconds(15));
//   streams.add(res.stream());
//   streams.publish("alerts", key, "event: alerts\ndata: {...}\n\n");
//
// Thread-safe. publish() of one kind must be called in order (the caller numbers renders made
// on several threads with next_sequence() and publish drops one that lost the race).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/core/clock.h"
#include "opsready/server/http_listener.h"

namespace opsready::server {

class DashboardStreams {
 public:
  explicit DashboardStreams(core::Duration heartbeat);

  [[nodiscard]] bool empty() const;
  [[nodiscard]] std::size_t size() const;
  // A new stream gets the last event of every kind; when no stream was open, what was last
  // sent may be old, so it is dropped and the stream gets `readiness` (rendered now) instead,
  // the other kinds following with the next tick.
  void add(std::shared_ptr<EventStream> stream, const std::function<std::string()>& readiness);
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

  const std::chrono::steady_clock::duration heartbeat_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<EventStream>> streams_;
  std::map<std::string, Last, std::less<>> last_;
  std::chrono::steady_clock::time_point last_sent_{};
};

// One SSE record: "event: <kind>\ndata: <data>\n\n" (data must hold no newline: compact JSON).
[[nodiscard]] std::string sse_event(std::string_view kind, std::string_view data);

}  // namespace opsready::server
