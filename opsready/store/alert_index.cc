#include "opsready/store/alert_index.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace opsready::store {

struct AlertIndex::Shard {
  struct Entry {
    core::Alert alert;
    bool dirty = false;
  };
  mutable std::mutex mu;
  // Node-based: an Entry's address is stable until it is erased, which prune() does only to
  // clean entries, so `dirty` may point at entries.
  std::unordered_map<std::string, Entry> alerts;
  std::vector<Entry*> dirty;

  void mark(Entry& e) {
    if (e.dirty) return;
    e.dirty = true;
    dirty.push_back(&e);
  }
};

AlertIndex::AlertIndex(std::size_t shards)
    : shards_(std::make_unique<Shard[]>(std::max<std::size_t>(shards, 1))),
      shard_count_(std::max<std::size_t>(shards, 1)) {}

AlertIndex::~AlertIndex() = default;

AlertIndex::Shard& AlertIndex::shard_for(const std::string& fingerprint) const {
  return shards_[std::hash<std::string_view>{}(fingerprint) % shard_count_];
}

core::Result<std::size_t> AlertIndex::restore(const Store& store) {
  auto stored = store.alerts(/*active_only=*/false, core::TimePoint{});
  if (!stored) return std::unexpected(stored.error());
  for (auto& a : *stored) {
    Shard& s = shard_for(a.fingerprint);
    std::lock_guard lock(s.mu);
    auto [it, inserted] = s.alerts.try_emplace(a.fingerprint);
    it->second.alert = std::move(a);
  }
  return stored->size();
}

void AlertIndex::put(const std::vector<core::Alert>& batch) {
  for (const auto& a : batch) {
    Shard& s = shard_for(a.fingerprint);
    std::lock_guard lock(s.mu);
    auto it = s.alerts.find(a.fingerprint);
    if (it == s.alerts.end()) {
      it = s.alerts.emplace(a.fingerprint, Shard::Entry{.alert = a}).first;
    } else {
      core::merge_alert_into(it->second.alert, a);
    }
    s.mark(it->second);
  }
}

std::vector<core::Alert> AlertIndex::list(bool active_only, core::TimePoint now) const {
  std::vector<core::Alert> out;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    for (const auto& [fingerprint, e] : s.alerts) {
      if (!active_only || !core::is_resolved(e.alert, now)) out.push_back(e.alert);
    }
  }
  std::sort(out.begin(), out.end(), [](const core::Alert& a, const core::Alert& b) {
    return a.fingerprint < b.fingerprint;
  });
  return out;
}

core::Result<std::size_t> AlertIndex::flush(Store& store) {
  std::lock_guard flushing(flush_mu_);
  std::vector<core::Alert> batch;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    for (Shard::Entry* e : s.dirty) {
      e->dirty = false;
      batch.push_back(e->alert);
    }
    s.dirty.clear();
  }
  if (batch.empty()) return 0;
  if (auto written = store.replace_alerts(batch); !written) {
    mark_dirty(std::move(batch));
    return std::unexpected(written.error());
  }
  return batch.size();
}

// After a failed write: every alert of the batch is dirty again. One that was re-posted in the
// meantime is dirty already (with a newer state); one pruned in the meantime comes back, since
// the store never received it.
void AlertIndex::mark_dirty(std::vector<core::Alert> unwritten) {
  for (auto& a : unwritten) {
    Shard& s = shard_for(a.fingerprint);
    std::lock_guard lock(s.mu);
    auto it = s.alerts.find(a.fingerprint);
    if (it == s.alerts.end()) {
      std::string key = a.fingerprint;
      it = s.alerts.emplace(std::move(key), Shard::Entry{.alert = std::move(a)}).first;
    }
    s.mark(it->second);
  }
}

std::size_t AlertIndex::prune(core::TimePoint before) {
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    dropped += std::erase_if(s.alerts, [before](const auto& kv) {
      return !kv.second.dirty && kv.second.alert.ends_at < before;
    });
  }
  return dropped;
}

std::size_t AlertIndex::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].alerts.size();
  }
  return n;
}

std::size_t AlertIndex::dirty() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].dirty.size();
  }
  return n;
}

}  // namespace opsready::store
