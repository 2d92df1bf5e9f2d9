#include "opsready/server/dashboard_streams.h"

namespace opsready::server {

DashboardStreams::DashboardStreams(core::Duration heartbeat)
    : heartbeat_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(heartbeat)) {}

bool DashboardStreams::empty() const {
  std::lock_guard lock(mu_);
  return streams_.empty();
}

std::size_t DashboardStreams::size() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

void DashboardStreams::add(std::shared_ptr<EventStream> stream,
                           const std::function<std::string()>& readiness) {
  std::lock_guard lock(mu_);
  if (streams_.empty()) {
    for (auto& [kind, last] : last_) {
      last.key.clear();
      last.text.clear();
    }
    Last& r = last_["readiness"];
    r.text = readiness();
  }
  for (const auto& [kind, last] : last_) {
    if (!last.text.empty() && !stream->send(last.text)) return;
  }
  // A first comment, so that the client's EventSource opens even before any event exists.
  if (!stream->send(": connected\n\n")) return;
  streams_.push_back(std::move(stream));
}

std::uint64_t DashboardStreams::next_sequence(std::string_view kind) {
  std::lock_guard lock(mu_);
  auto it = last_.find(kind);
  if (it == last_.end()) it = last_.emplace(std::string(kind), Last{}).first;
  return ++it->second.issued;
}

void DashboardStreams::publish(std::string_view kind, std::uint64_t sequence, std::string key,
                               std::string text, bool always) {
  std::lock_guard lock(mu_);
  auto it = last_.find(kind);
  if (it == last_.end()) it = last_.emplace(std::string(kind), Last{}).first;
  Last& last = it->second;
  if (sequence != 0 && sequence <= last.published) return;  // a newer render went out already
  if (sequence != 0) last.published = sequence;
  const auto now = std::chrono::steady_clock::now();
  if (always || key != last.key) {
    last.key = std::move(key);
    last.text = std::move(text);
    send_locked(last.text);
    last_sent_ = now;
  } else if (now - last_sent_ >= heartbeat_) {
    send_locked(": heartbeat\n\n");
    last_sent_ = now;
  }
}

void DashboardStreams::close_all() {
  std::vector<std::shared_ptr<EventStream>> streams;
  {
    std::lock_guard lock(mu_);
    streams.swap(streams_);
  }
  for (const auto& s : streams) s->close();
}

void DashboardStreams::send_locked(std::string_view text) {
  std::erase_if(streams_, [text](const auto& s) { return !s->send(text); });
}

std::string sse_event(std::string_view kind, std::string_view data) {
  std::string out;
  out.reserve(kind.size() + data.size() + 16);
  out.append("event: ").append(kind).append("\ndata: ").append(data).append("\n\n");
  return out;
}

}  // namespace opsready::server
