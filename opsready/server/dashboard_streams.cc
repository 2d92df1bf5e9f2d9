#include "opsready/server/dashboard_streams.h"

#include <utility>

#include "opsready/core/time.h"

namespace opsready::server {

DashboardStreams::DashboardStreams(core::Duration heartbeat, Offload offload)
    : heartbeat_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(heartbeat)),
      offload_(std::move(offload)) {}

bool DashboardStreams::empty() const {
  std::lock_guard lock(mu_);
  return streams_.empty();
}

std::size_t DashboardStreams::size() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

void DashboardStreams::add(std::shared_ptr<EventStream> stream,
                           const std::function<Snapshot()>& current) {
  std::lock_guard chain(chain_mu_);
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = streams_.empty();
    if (first) {
      for (auto& [kind, last] : last_) {
        last.key.clear();
        last.text.clear();
      }
    }
  }
  if (first || !sent_) {
    sent_ = current();
    ++version_;
  }
  // Rendered outside mu_ (other kinds keep flowing); chain_mu_ holds the deltas back, so the
  // next one this stream gets is made from this snapshot.
  if (full_version_ != version_) {  // one render per version, however many streams open
    full_ = readiness_event(*sent_, version_);
    full_version_ = version_;
  }
  std::lock_guard lock(mu_);
  if (!stream->send(full_)) return;
  for (const auto& [kind, last] : last_) {
    if (!last.text.empty() && !stream->send(last.text)) return;
  }
  // A first comment, so that the client's EventSource opens even before any event exists.
  if (!stream->send(": connected\n\n")) return;
  streams_.push_back(std::move(stream));
}

void DashboardStreams::publish_readiness(Snapshot snapshot) {
  {
    std::lock_guard lock(mu_);
    if (streams_.empty() || !snapshot) return;
    pending_ = std::move(snapshot);
    if (draining_) return;
    draining_ = true;
  }
  offload_([this] { drain_readiness(); });
}

// One drain at a time (draining_), so deltas go out in order; a snapshot published while one
// is being rendered replaces pending_, and the next delta spans both.
void DashboardStreams::drain_readiness() {
  for (;;) {
    Snapshot next;
    {
      std::lock_guard lock(mu_);
      next = std::exchange(pending_, nullptr);
      if (!next) {
        draining_ = false;
        return;
      }
    }
    std::lock_guard chain(chain_mu_);
    bool nobody = false;
    {
      std::lock_guard lock(mu_);
      nobody = streams_.empty();
    }
    if (nobody || !sent_) {
      sent_ = std::move(next);  // the next stream starts from current() anyway
      continue;
    }
    std::optional<std::string> delta = readiness_delta_event(*sent_, *next, version_, version_ + 1);
    sent_ = std::move(next);
    if (!delta) continue;
    ++version_;
    std::lock_guard lock(mu_);
    send_locked(*delta);
    last_sent_ = std::chrono::steady_clock::now();
  }
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

std::string readiness_event(const readiness::ReadinessSnapshot& s, std::uint64_t version) {
  nlohmann::json doc = readiness::to_json(s);
  doc["version"] = version;
  return sse_event("readiness", doc.dump());
}

std::optional<std::string> readiness_delta_event(const readiness::ReadinessSnapshot& from,
                                                 const readiness::ReadinessSnapshot& to,
                                                 std::uint64_t base, std::uint64_t version) {
  nlohmann::json changed = nlohmann::json::array();
  nlohmann::json removed = nlohmann::json::array();
  // Both lists are sorted by name: one merge walk.
  auto a = from.components.begin();
  auto b = to.components.begin();
  while (a != from.components.end() || b != to.components.end()) {
    if (b == to.components.end() || (a != from.components.end() && a->component < b->component)) {
      removed.push_back((a++)->component);
    } else if (a == from.components.end() || b->component < a->component) {
      changed.push_back(core::to_json(*b++));
    } else {
      if (!(*a == *b)) changed.push_back(core::to_json(*b));
      ++a;
      ++b;
    }
  }
  const bool gate_changed = !(from.gate == to.gate);
  if (changed.empty() && removed.empty() && !gate_changed && from.status == to.status &&
      from.counts == to.counts) {
    return std::nullopt;
  }
  nlohmann::json d = {{"version", version},
                      {"base", base},
                      {"generated_at", core::format_rfc3339(to.generated_at)},
                      {"status", core::to_string(to.status)},
                      {"counts", readiness::counts_to_json(to.counts)},
                      {"components", std::move(changed)},
                      {"removed", std::move(removed)}};
  if (gate_changed) d["gate"] = readiness::to_json(to.gate);
  return sse_event("readiness_delta", d.dump());
}

}  // namespace opsready::server
