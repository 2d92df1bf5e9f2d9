#include "opsready/store/health.h"

#include <utility>

#include "opsready/core/time.h"

namespace opsready::store {

StoreHealth::StoreHealth(StoreHealthOptions options) : options_(std::move(options)) {}

void StoreHealth::record(std::string_view operation, const core::Result<void>& outcome,
                         core::Duration took, core::TimePoint at) {
  std::lock_guard lock(mu_);
  ++writes_;
  if (outcome) {
    // The store takes writes again: what failed before is over.
    ops_.clear();
  } else if (outcome.error().code.starts_with("store_")) {
    ++failed_;
    troubled_ = true;
    Op& op = ops_[std::string(operation)];
    op.code = outcome.error().code;
    op.message = outcome.error().message;
    op.at = at;
  }
  if (took >= options_.slow_write) {
    troubled_ = true;
    if (!slow_at_ || at - *slow_at_ > options_.slow_window || took >= slowest_) {
      slowest_ = took;
      slow_operation_ = std::string(operation);
    }
    slow_at_ = at;
  }
}

std::string StoreHealth::key_locked(core::TimePoint now) const {
  std::string key;
  for (const auto& [name, op] : ops_) {
    key += name + ",";
  }
  if (key.empty() && slow_at_ && now - *slow_at_ <= options_.slow_window) key = "slow";
  return key;
}

bool StoreHealth::changed(core::TimePoint now) const {
  std::lock_guard lock(mu_);
  return key_locked(now) != last_key_;
}

bool StoreHealth::ever_troubled() const { return troubled_.load(std::memory_order_relaxed); }

core::ComponentSnapshot StoreHealth::snapshot(core::TimePoint now) const {
  std::lock_guard lock(mu_);
  last_key_ = key_locked(now);
  core::ComponentSnapshot s{.component = std::string(kStoreComponent), .observed_at = now};
  nlohmann::json failing = nlohmann::json::array();
  const Op* last_error = nullptr;
  for (const auto& [name, op] : ops_) {
    failing.push_back(name);
    if (last_error == nullptr || op.at > last_error->at) last_error = &op;
    s.issues.push_back({.code = "store.write_failed:" + name,
                        .severity = core::Severity::kCritical,
                        .message = "writes of " + name + " fail (" + op.code + "): " + op.message,
                        .runbook = std::string(kStoreRunbook)});
  }
  const bool slow = slow_at_ && now - *slow_at_ <= options_.slow_window;
  if (!s.issues.empty()) {
    s.status = core::Status::kFail;
    s.summary = std::to_string(s.issues.size()) + " kind(s) of store write fail";
  } else if (slow) {
    s.status = core::Status::kWarn;
    s.summary = "store writes are slow";
    s.issues.push_back({.code = "store.slow_write",
                        .severity = core::Severity::kWarning,
                        .message = "a write of " + slow_operation_ + " took " +
                                   core::format_duration(slowest_) + " (slow from " +
                                   core::format_duration(options_.slow_write) + ")",
                        .runbook = std::string(kStoreRunbook)});
  } else {
    s.summary = "store writes succeed";
  }
  s.metadata = {{"path", options_.path},
                {"failing_operations", std::move(failing)},
                {"writes", writes_},
                {"failed_writes", failed_}};
  if (last_error != nullptr) {
    s.metadata["last_error"] = last_error->code + ": " + last_error->message;
    s.metadata["last_error_at"] = core::format_rfc3339(last_error->at);
  }
  if (slow) s.metadata["slowest_write_seconds"] = core::to_seconds(slowest_);
  return s;
}

}  // namespace opsready::store
