#include "opsready/bus/nats_bus.h"

#include <nats/nats.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "opsready/core/compression.h"
#include "opsready/core/event_batch.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"
#include "opsready/core/topic_pattern.h"

namespace opsready::bus {
namespace {

std::int64_t to_ms(core::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}
std::int64_t to_ns(core::TimePoint t) { return t.time_since_epoch().count(); }
constexpr std::int64_t kNoTime = INT64_MIN;
std::optional<core::TimePoint> from_ns(std::int64_t ns) {
  if (ns == kNoTime) return std::nullopt;
  return core::TimePoint(core::Duration(ns));
}

std::string describe(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string text = natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && text != detail)
    text += " (" + std::string(detail) + ")";
  if (jerr != 0) text += " [jetstream error " + std::to_string(static_cast<int>(jerr)) + "]";
  return text;
}

// Whether the same event may be taken later. Unknown conditions count as retryable: the
// failover publisher then spools the event rather than losing it.
bool retryable(natsStatus s, jsErrCode jerr) {
  switch (s) {
    case NATS_MAX_PAYLOAD:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_ARG:
      return false;
    default:
      break;
  }
  return jerr != JSStreamMessageExceedsMaximumErr && jerr != JSStreamNotMatchErr;
}

std::string_view status_name(natsConnStatus s) {
  switch (s) {
    case NATS_CONN_STATUS_DISCONNECTED:
      return "disconnected";
    case NATS_CONN_STATUS_CONNECTING:
      return "connecting";
    case NATS_CONN_STATUS_CONNECTED:
      return "connected";
    case NATS_CONN_STATUS_CLOSED:
      return "closed";
    case NATS_CONN_STATUS_RECONNECTING:
      return "reconnecting";
    case NATS_CONN_STATUS_DRAINING_SUBS:
    case NATS_CONN_STATUS_DRAINING_PUBS:
      return "draining";
  }
  return "unknown";
}

bool valid_durable(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

}  // namespace

namespace detail {

struct NatsShared {
  NatsBusOptions options;
  const core::Clock* clock = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::atomic<bool> closed{false};
  std::mutex close_mu;
  std::condition_variable close_cv;
  bool closed_callback = false;

  std::mutex stream_mu;
  std::atomic<bool> stream_ready{false};

  std::mutex rng_mu;
  std::minstd_rand rng{std::random_device{}()};

  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::int64_t> last_event_ns{kNoTime};
  std::atomic<std::int64_t> started_ns{kNoTime};

  std::mutex pipeline_mu;  // one publish_pipelined() at a time: the error handler is shared
  std::atomic<std::uint64_t> async_failed{0};
  std::mutex async_error_mu;
  std::string async_first_error;

  std::mutex consumers_mu;
  std::vector<std::weak_ptr<NatsConsumerState>> consumers;

  ~NatsShared() {
    close();
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) natsConnection_Destroy(nc);
  }

  void log(LogLevel level, const std::string& message) const {
    log_to(options.log, level, "nats bus '" + options.name + "': " + message);
  }

  void close() {
    if (closed.exchange(true) || nc == nullptr) return;
    natsConnection_Close(nc);
    // libnats delivers the closed callback last, on its own thread; wait for it so that no
    // callback can run once this object is gone.
    std::unique_lock lock(close_mu);
    if (!close_cv.wait_for(lock, std::chrono::seconds(5), [&] { return closed_callback; })) {
      log(LogLevel::kWarn, "connection close was not confirmed within 5s");
    }
  }

  [[nodiscard]] bool connected() const {
    return nc != nullptr && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
  }

  [[nodiscard]] std::string subject_for(std::string_view topic) const {
    return options.subject_prefix + "." + std::string(topic);
  }

  core::Result<void> ensure_stream() {
    if (stream_ready.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(stream_mu);
    if (stream_ready.load(std::memory_order_acquire)) return {};
    if (!connected()) {
      return core::fail(
          "nats_disconnected",
          "not connected to NATS (" + std::string(status_name(natsConnection_Status(nc))) + ")");
    }
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js, options.stream.c_str(), nullptr, &jerr);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      stream_ready.store(true, std::memory_order_release);
      return {};
    }
    if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
      return core::fail("nats_stream_error",
                        "cannot look up stream " + options.stream + ": " + describe(s, jerr));
    }
    if (!options.create_stream) {
      return core::fail("nats_stream_missing", "stream " + options.stream + " does not exist");
    }
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const std::string subjects = options.subject_prefix + ".>";
    const char* list[] = {subjects.c_str()};
    cfg.Name = options.stream.c_str();
    cfg.Subjects = list;
    cfg.SubjectsLen = 1;
    cfg.Storage = options.memory_storage ? js_MemoryStorage : js_FileStorage;
    cfg.Duplicates = options.duplicate_window.count();
    cfg.MaxBytes = options.max_bytes;
    cfg.MaxAge = options.max_age.count();
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
    if (s == NATS_OK || jerr == JSStreamNameExistErr) {
      if (si != nullptr) jsStreamInfo_Destroy(si);
      stream_ready.store(true, std::memory_order_release);
      if (s == NATS_OK) {
        log(LogLevel::kInfo, "created stream " + options.stream + " for " + subjects);
      }
      return {};
    }
    return core::fail("nats_stream_error",
                      "cannot create stream " + options.stream + ": " + describe(s, jerr));
  }
};

struct NatsConsumerState {
  std::shared_ptr<NatsShared> shared;
  NatsConsumerOptions options;
  std::string subject;
  Handler handler;             // per event, or
  BatchHandler batch_handler;  // per fetch
  std::atomic<bool> running{false};
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> handler_errors{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> undecodable{0};
  std::atomic<std::uint64_t> fetch_errors{0};
  std::atomic<std::uint64_t> pending{0};
  std::atomic<std::uint64_t> not_taken{0};
  std::atomic<std::uint64_t> gap_filled{0};
  std::optional<core::TopicPattern> pattern;  // the filter, to check messages read for a gap
  // Loop-thread state: the highest delivery and stream sequences seen (ordered mode).
  std::uint64_t last_delivery_seq = 0;
  std::uint64_t last_stream_seq = 0;
  std::vector<std::uint64_t> gap_seqs;  // batch mode: filled sequences waiting for the handler
  // Loop-thread state: stream sequences already handled, oldest first.
  std::unordered_set<std::uint64_t> seen;
  std::deque<std::uint64_t> seen_order;
  // Loop-thread scratch, reused across fetches.
  std::string inflated;
  std::vector<core::TelemetryEvent> batch_events;
  std::vector<std::pair<natsMsg*, std::uint64_t>> batch_msgs;

  void log(LogLevel level, const std::string& message) const {
    shared->log(level, "consumer '" + options.durable + "': " + message);
  }

  void remember(std::uint64_t seq) {
    if (seq == 0 || options.dedup_window == 0) return;
    if (!seen.insert(seq).second) return;
    seen_order.push_back(seq);
    if (seen_order.size() > options.dedup_window) {
      seen.erase(seen_order.front());
      seen_order.pop_front();
    }
  }

  natsStatus subscribe(natsSubscription** sub, std::string* error) {
    if (auto r = shared->ensure_stream(); !r) {
      *error = r.error().message;
      return NATS_ERR;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = shared->options.stream.c_str();
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckWait = options.ack_wait.count();
    so.Config.MaxAckPending = options.max_ack_pending;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_PullSubscribe(sub, shared->js, subject.c_str(), options.durable.c_str(),
                                          nullptr, &so, &jerr);
    if (s != NATS_OK) *error = describe(s, jerr);
    return s;
  }

  // The subject's topic: what follows "<prefix>.".
  [[nodiscard]] std::string_view topic_of(std::string_view msg_subject) const {
    const std::string& prefix = shared->options.subject_prefix;
    if (msg_subject.size() > prefix.size() + 1 && msg_subject.starts_with(prefix) &&
        msg_subject[prefix.size()] == '.') {
      return msg_subject.substr(prefix.size() + 1);
    }
    return {};
  }

  // The message's events, or why it is not an event batch.
  core::Result<core::IngestParse> decode(natsMsg* msg) {
    std::string_view body(natsMsg_GetData(msg),
                          static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    const char* encoding = nullptr;
    if (natsMsgHeader_Get(msg, "Content-Encoding", &encoding) == NATS_OK && encoding != nullptr) {
      if (std::string_view(encoding) != "gzip") {
        return core::fail("unsupported_encoding",
                          "Content-Encoding '" + std::string(encoding) + "' is not supported");
      }
      if (auto ok = core::gunzip(body, options.max_message_bytes, inflated); !ok) {
        return std::unexpected(ok.error());
      }
      body = inflated;
    }
    if (body.size() > options.max_message_bytes) {
      return core::fail("too_large", "message of " + std::to_string(body.size()) +
                                         " bytes exceeds " +
                                         std::to_string(options.max_message_bytes));
    }
    const std::string_view topic = topic_of(natsMsg_GetSubject(msg));
    if (!core::is_valid_topic(topic)) {
      return core::fail("invalid_topic", "the subject names no valid topic");
    }
    core::IngestParse parsed = core::parse_events(body, shared->clock->now(), topic);
    if (!parsed.errors.empty()) {
      const core::IngestError& e = parsed.errors.front();
      std::string why = "event " + std::to_string(e.index);
      if (e.line > 0) why += " (line " + std::to_string(e.line) + ")";
      if (!e.field.empty()) why += " field " + e.field;
      why += ": " + e.reason;
      if (parsed.errors.size() > 1) {
        why += " (and " + std::to_string(parsed.errors.size() - 1) + " more)";
      }
      return core::fail("invalid_event", why);
    }
    if (options.check) {
      for (std::size_t i = 0; i < parsed.events.size(); ++i) {
        if (auto ok = options.check(parsed.events[i]); !ok) {
          return core::fail("invalid_event", "event " + std::to_string(i) + " field " +
                                                 ok.error().field + ": " + ok.error().message);
        }
      }
    }
    return parsed;
  }

  void reject(natsMsg* msg, std::uint64_t seq, const core::Error& error) {
    const std::uint64_t n = undecodable.fetch_add(1, std::memory_order_relaxed) + 1;
    if (std::has_single_bit(n)) {
      log(LogLevel::kError, "message " + std::to_string(seq) + " on " + natsMsg_GetSubject(msg) +
                                " is not a valid event batch (" + error.message +
                                "); terminated (" + std::to_string(n) + " so far)");
    }
    if (options.on_reject) options.on_reject(natsMsg_GetSubject(msg), seq, error.message);
    natsMsg_Term(msg, nullptr);
    remember(seq);
  }

  void call_handler(const core::TelemetryEvent& event) {
    try {
      handler(event);
      delivered.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::exception& e) {
      const std::uint64_t n = handler_errors.fetch_add(1, std::memory_order_relaxed) + 1;
      if (std::has_single_bit(n)) {
        log(LogLevel::kError, "Error in handler for event type '" + event.topic + "': " + e.what() +
                                  " (" + std::to_string(n) + " so far)");
      }
    } catch (...) {
      handler_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void deliver_each(natsMsg* msg, std::uint64_t seq, const core::IngestParse& parsed) {
    for (const core::TelemetryEvent& event : parsed.events) call_handler(event);
    remember(seq);
    natsMsg_Ack(msg, nullptr);
  }

  // Ordered mode: the stream messages in [from, to) that match the filter and were not handled,
  // read from the stream and handled (or queued for the batch) before the message at `to`.
  void fill_gap(std::uint64_t from, std::uint64_t to) {
    if (to - from > options.max_gap_fill) {
      log(LogLevel::kWarn, "a gap of " + std::to_string(to - from) +
                               " stream messages is larger than max_gap_fill; they will be "
                               "handled when redelivered, out of order");
      return;
    }
    const std::string& prefix = shared->options.subject_prefix;
    for (std::uint64_t s = from; s < to; ++s) {
      if (seen.contains(s)) continue;
      natsMsg* m = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      const natsStatus st =
          js_GetMsg(&m, shared->js, shared->options.stream.c_str(), s, nullptr, &jerr);
      if (st == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;  // deleted
      if (st != NATS_OK) {
        log(LogLevel::kWarn, "cannot read stream message " + std::to_string(s) +
                                 " to fill a delivery gap (" + describe(st, jerr) +
                                 "); it will be handled when redelivered, out of order");
        return;
      }
      const std::string_view subject = natsMsg_GetSubject(m);
      const std::string_view topic = topic_of(subject);
      const bool ours =
          subject.size() > prefix.size() && !topic.empty() && (!pattern || pattern->matches(topic));
      if (ours) {
        gap_filled.fetch_add(1, std::memory_order_relaxed);
        auto parsed = decode(m);
        if (!parsed) {
          const std::uint64_t n = undecodable.fetch_add(1, std::memory_order_relaxed) + 1;
          if (std::has_single_bit(n)) {
            log(LogLevel::kError, "message " + std::to_string(s) + " on " + std::string(subject) +
                                      " is not a valid event batch (" + parsed.error().message +
                                      ")");
          }
          if (options.on_reject) options.on_reject(subject, s, parsed.error().message);
          remember(s);
        } else if (!batch_handler) {
          for (const core::TelemetryEvent& event : parsed->events) call_handler(event);
          remember(s);
        } else {
          append(std::move(parsed->events));
          gap_seqs.push_back(s);
        }
      }
      natsMsg_Destroy(m);
    }
  }

  void append(std::vector<core::TelemetryEvent>&& events) {
    if (batch_events.empty()) {
      batch_events = std::move(events);
    } else {
      batch_events.insert(batch_events.end(), std::make_move_iterator(events.begin()),
                          std::make_move_iterator(events.end()));
    }
  }

  // One fetched list: dedup, decode, deliver, ack (or nak).
  void handle(natsMsgList& list, const std::stop_token& stop) {
    batch_events.clear();
    batch_msgs.clear();
    gap_seqs.clear();
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* msg = list.Msgs[i];
      received.fetch_add(1, std::memory_order_relaxed);
      std::uint64_t seq = 0;
      std::uint64_t delivery = 0;
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        seq = meta->Sequence.Stream;
        delivery = meta->Sequence.Consumer;
        pending.store(meta->NumPending, std::memory_order_relaxed);
        jsMsgMetaData_Destroy(meta);
      }
      if (options.ordered && seq != 0) {
        if (last_delivery_seq != 0 && delivery > last_delivery_seq + 1 && last_stream_seq != 0 &&
            seq > last_stream_seq + 1) {
          fill_gap(last_stream_seq + 1, seq);
        }
        last_delivery_seq = std::max(last_delivery_seq, delivery);
        last_stream_seq = std::max(last_stream_seq, seq);
      }
      if (seq != 0 && seen.contains(seq)) {
        duplicates.fetch_add(1, std::memory_order_relaxed);
        natsMsg_Ack(msg, nullptr);
        continue;
      }
      auto parsed = decode(msg);
      if (!parsed) {
        reject(msg, seq, parsed.error());
        continue;
      }
      if (!batch_handler) {
        deliver_each(msg, seq, *parsed);
        continue;
      }
      append(std::move(parsed->events));
      batch_msgs.emplace_back(msg, seq);
    }
    if (!batch_msgs.empty() || !gap_seqs.empty()) deliver_batch(stop);
    if (list.Count > 0) {
      shared->last_event_ns.store(to_ns(shared->clock->now()), std::memory_order_relaxed);
    }
  }

  void deliver_batch(const std::stop_token& stop) {
    const std::size_t events = batch_events.size();
    bool taken = false;
    try {
      taken = batch_handler(batch_events, stop);
    } catch (const std::exception& e) {
      const std::uint64_t n = handler_errors.fetch_add(1, std::memory_order_relaxed) + 1;
      if (std::has_single_bit(n)) {
        log(LogLevel::kError, std::string("Error in batch handler: ") + e.what() + " (" +
                                  std::to_string(n) + " so far); the batch will be redelivered");
      }
    } catch (...) {
      handler_errors.fetch_add(1, std::memory_order_relaxed);
    }
    if (taken) {
      delivered.fetch_add(events, std::memory_order_relaxed);
      for (std::uint64_t seq : gap_seqs) remember(seq);
      for (auto [msg, seq] : batch_msgs) {
        remember(seq);
        natsMsg_Ack(msg, nullptr);
      }
      return;
    }
    not_taken.fetch_add(batch_msgs.size(), std::memory_order_relaxed);
    const std::int64_t delay = std::max<std::int64_t>(1, to_ms(options.redeliver_delay));
    for (auto [msg, seq] : batch_msgs) natsMsg_NakWithDelay(msg, delay, nullptr);
  }
};

}  // namespace detail

// ---- callbacks (libnats threads) -------------------------------------------------------------

namespace {

detail::NatsShared* shared_of(void* closure) { return static_cast<detail::NatsShared*>(closure); }

std::string connected_url(natsConnection* nc) {
  char buf[256] = {0};
  if (natsConnection_GetConnectedUrl(nc, buf, sizeof buf) != NATS_OK) return "?";
  return buf;
}

void on_connected(natsConnection* nc, void* closure) {
  shared_of(closure)->log(LogLevel::kInfo, "connected to " + connected_url(nc));
}

void on_disconnected(natsConnection*, void* closure) {
  auto* s = shared_of(closure);
  if (s->closed.load()) return;
  s->log(LogLevel::kWarn, "disconnected; reconnecting with backoff");
}

void on_reconnected(natsConnection* nc, void* closure) {
  auto* s = shared_of(closure);
  s->stream_ready.store(false);  // a different or wiped server may lack the stream
  s->log(LogLevel::kInfo, "reconnected to " + connected_url(nc));
}

void on_closed(natsConnection*, void* closure) {
  auto* s = shared_of(closure);
  // Notify under the lock: the waiter (NatsShared::close, then its destructor) cannot return
  // and destroy the condition variable while this thread still uses it.
  std::lock_guard lock(s->close_mu);
  s->closed_callback = true;
  s->close_cv.notify_all();
}

void on_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
  shared_of(closure)->log(LogLevel::kWarn,
                          "asynchronous error: " + std::string(natsStatus_GetText(err)));
}

int64_t reconnect_delay(natsConnection*, int attempts, void* closure) {
  auto* s = shared_of(closure);
  const auto initial =
      static_cast<double>(std::max<std::int64_t>(1, to_ms(s->options.reconnect_initial)));
  const auto max = static_cast<double>(std::max<std::int64_t>(1, to_ms(s->options.reconnect_max)));
  const double base =
      std::min(max, initial * static_cast<double>(1ull << std::clamp(attempts - 1, 0, 30)));
  double factor = 1.0;
  {
    std::lock_guard lock(s->rng_mu);
    factor = std::uniform_real_distribution<double>(0.8, 1.2)(s->rng);
  }
  return static_cast<int64_t>(base * factor);
}

void on_async_error(jsCtx*, jsPubAckErr* pae, void* closure) {
  auto* s = shared_of(closure);
  s->async_failed.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(s->async_error_mu);
  if (s->async_first_error.empty()) {
    s->async_first_error =
        pae->ErrText != nullptr ? pae->ErrText : describe(pae->Err, pae->ErrCode);
  }
}

}  // namespace

// ---- NatsBus ---------------------------------------------------------------------------------

NatsBus::NatsBus(std::shared_ptr<detail::NatsShared> shared) : shared_(std::move(shared)) {}

NatsBus::~NatsBus() { close(); }

core::Result<std::unique_ptr<NatsBus>> NatsBus::connect(NatsBusOptions options,
                                                        const core::Clock& clock) {
  if (options.servers.empty()) return core::fail("invalid_nats_options", "no server given");
  if (!core::is_valid_topic(options.subject_prefix)) {
    return core::fail("invalid_nats_options",
                      "subject prefix '" + options.subject_prefix + "' is not a topic");
  }
  auto shared = std::make_shared<detail::NatsShared>();
  shared->options = std::move(options);
  shared->clock = &clock;
  const NatsBusOptions& o = shared->options;

  natsOptions* opts = nullptr;
  if (natsStatus s = natsOptions_Create(&opts); s != NATS_OK) {
    return core::fail("nats_error", "cannot create NATS options: " + describe(s));
  }
  std::vector<const char*> servers;
  for (const auto& url : o.servers) servers.push_back(url.c_str());
  void* closure = shared.get();
  natsStatus s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts, o.connection_name.c_str());
  if (s == NATS_OK)
    s = natsOptions_SetTimeout(opts, std::max<std::int64_t>(1, to_ms(o.connect_timeout)));
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetCustomReconnectDelay(opts, reconnect_delay, closure);
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, closure);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, closure);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, closure);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_closed, closure);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, on_error, closure);
  if (s == NATS_OK) s = natsOptions_SetFailRequestsOnDisconnect(opts, true);
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    return core::fail("invalid_nats_options", describe(s));
  }
  s = natsConnection_Connect(&shared->nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    return core::fail("nats_connect_failed", "cannot connect to NATS: " + describe(s));
  }
  if (s == NATS_NOT_YET_CONNECTED) {
    shared->log(LogLevel::kWarn, "no server reachable yet; connecting in the background");
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = std::max<std::int64_t>(1, to_ms(o.publish_timeout));
  jo.PublishAsync.MaxPending = static_cast<std::int64_t>(o.async_max_pending);
  jo.PublishAsync.ErrHandler = on_async_error;
  jo.PublishAsync.ErrHandlerClosure = closure;
  if (s = natsConnection_JetStream(&shared->js, shared->nc, &jo); s != NATS_OK) {
    return core::fail("nats_error", "cannot create a JetStream context: " + describe(s));
  }
  shared->started_ns.store(to_ns(clock.now()));
  return std::unique_ptr<NatsBus>(new NatsBus(std::move(shared)));
}

std::string_view NatsBus::name() const { return shared_->options.name; }

bool NatsBus::is_running() const { return !shared_->closed.load(); }

bool NatsBus::connected() const { return !shared_->closed.load() && shared_->connected(); }

std::string NatsBus::subject_for(std::string_view topic) const {
  return shared_->subject_for(topic);
}

core::Result<void> NatsBus::ensure_stream() { return shared_->ensure_stream(); }

core::Result<nlohmann::json> NatsBus::consumer_info(std::string_view stream,
                                                    std::string_view consumer) {
  detail::NatsShared& sh = *shared_;
  if (sh.closed.load()) return core::fail("not_running", "the NATS bus is closed");
  const std::string stream_name(stream.empty() ? std::string_view(sh.options.stream) : stream);
  const std::string consumer_name(consumer);
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s =
      js_GetConsumerInfo(&ci, sh.js, stream_name.c_str(), consumer_name.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    return core::fail("consumer_info_failed", "CONSUMER.INFO " + stream_name + " " + consumer_name +
                                                  ": " + describe(s, jerr));
  }
  nlohmann::json j = {
      {"stream", stream_name},
      {"consumer", consumer_name},
      {"num_pending", ci->NumPending},
      {"num_ack_pending", ci->NumAckPending},
      {"num_redelivered", ci->NumRedelivered},
      {"num_waiting", ci->NumWaiting},
      {"delivered",
       {{"stream_seq", ci->Delivered.Stream}, {"consumer_seq", ci->Delivered.Consumer}}},
      {"ack_floor", {{"stream_seq", ci->AckFloor.Stream}, {"consumer_seq", ci->AckFloor.Consumer}}},
      {"observed_at", core::format_rfc3339(sh.clock->now())}};
  if (ci->Config != nullptr && ci->Config->MaxAckPending > 0) {
    j["max_ack_pending"] = ci->Config->MaxAckPending;
  }
  jsConsumerInfo_Destroy(ci);
  return j;
}

void NatsBus::close() { shared_->close(); }

PublishResult NatsBus::publish(const core::TelemetryEvent& event, std::string_view message_id) {
  detail::NatsShared& sh = *shared_;
  auto refuse = [&](PublishResult r) {
    sh.dropped.fetch_add(1, std::memory_order_relaxed);
    return r;
  };
  if (sh.closed.load()) return refuse(PublishResult::not_running("the NATS bus is closed"));
  if (!core::is_valid_topic(event.topic)) {
    return refuse(PublishResult::failed("'" + event.topic + "' is not a topic", false));
  }
  if (const natsConnStatus st = natsConnection_Status(sh.nc); st != NATS_CONN_STATUS_CONNECTED) {
    return refuse(
        PublishResult::failed("not connected to NATS (" + std::string(status_name(st)) + ")"));
  }
  if (auto r = sh.ensure_stream(); !r) return refuse(PublishResult::failed(r.error().message));
  const std::string subject = sh.subject_for(event.topic);
  std::string data;
  try {
    data = core::to_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return refuse(
        PublishResult::failed(std::string("cannot encode the event: ") + e.what(), false));
  }
  const std::string id(message_id);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = std::max<std::int64_t>(1, to_ms(sh.options.publish_timeout));
  po.ExpectStream = sh.options.stream.c_str();
  if (!id.empty()) po.MsgId = id.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_Publish(&ack, sh.js, subject.c_str(), data.data(),
                                  static_cast<int>(data.size()), &po, &jerr);
  if (s == NATS_OK) {
    if (ack != nullptr && ack->Duplicate) sh.duplicates.fetch_add(1, std::memory_order_relaxed);
    jsPubAck_Destroy(ack);
    sh.published.fetch_add(1, std::memory_order_relaxed);
    sh.last_event_ns.store(to_ns(sh.clock->now()), std::memory_order_relaxed);
    return PublishResult::delivered_to(1);
  }
  if (s == NATS_NO_RESPONDERS || jerr == JSStreamNotFoundErr) sh.stream_ready.store(false);
  return refuse(PublishResult::failed(
      "JetStream publish to " + subject + " failed: " + describe(s, jerr), retryable(s, jerr)));
}

PipelineResult NatsBus::publish_pipelined(std::span<const core::TelemetryEvent> events) {
  detail::NatsShared& sh = *shared_;
  std::lock_guard lock(sh.pipeline_mu);
  PipelineResult result;
  auto fail_all = [&](std::string why) {
    result.failed = events.size();
    result.first_error = std::move(why);
    sh.dropped.fetch_add(events.size(), std::memory_order_relaxed);
    return result;
  };
  if (events.empty()) return result;
  if (sh.closed.load()) return fail_all("the NATS bus is closed");
  if (!sh.connected()) return fail_all("not connected to NATS");
  if (auto r = sh.ensure_stream(); !r) return fail_all(r.error().message);
  sh.async_failed.store(0);
  {
    std::lock_guard err_lock(sh.async_error_mu);
    sh.async_first_error.clear();
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.ExpectStream = sh.options.stream.c_str();
  std::size_t refused = 0;
  std::string subject;
  for (const core::TelemetryEvent& e : events) {
    if (!core::is_valid_topic(e.topic)) {
      if (refused++ == 0) result.first_error = "'" + e.topic + "' is not a topic";
      continue;
    }
    subject = sh.subject_for(e.topic);
    const std::string data =
        core::to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const natsStatus s =
        js_PublishAsync(sh.js, subject.c_str(), data.data(), static_cast<int>(data.size()), &po);
    if (s != NATS_OK && refused++ == 0) result.first_error = describe(s);
  }
  jsPubOptions done;
  jsPubOptions_Init(&done);
  done.MaxWait = std::max<std::int64_t>(1, to_ms(sh.options.publish_timeout));
  if (js_PublishAsyncComplete(sh.js, &done) != NATS_OK) {
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, sh.js) == NATS_OK) {
      refused += static_cast<std::size_t>(pending.Count);
      natsMsgList_Destroy(&pending);
      if (result.first_error.empty()) result.first_error = "timed out waiting for acks";
    }
  }
  const auto async_failed = static_cast<std::size_t>(sh.async_failed.load());
  if (async_failed > 0 && result.first_error.empty()) {
    std::lock_guard err_lock(sh.async_error_mu);
    result.first_error = sh.async_first_error;
  }
  result.failed = std::min(events.size(), refused + async_failed);
  result.acked = events.size() - result.failed;
  sh.published.fetch_add(result.acked, std::memory_order_relaxed);
  sh.dropped.fetch_add(result.failed, std::memory_order_relaxed);
  if (result.acked > 0) sh.last_event_ns.store(to_ns(sh.clock->now()), std::memory_order_relaxed);
  return result;
}

BusCounters NatsBus::counters() const {
  detail::NatsShared& sh = *shared_;
  BusCounters c;
  c.running = is_running() && sh.connected();
  c.published = sh.published.load(std::memory_order_relaxed);
  c.dropped = sh.dropped.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(sh.consumers_mu);
    for (const auto& weak : sh.consumers) {
      const auto state = weak.lock();
      if (!state) continue;
      ++c.subscriber_count;
      ++c.topic_subscribers[state->options.filter];
      c.delivered += state->delivered.load(std::memory_order_relaxed);
      c.handler_errors += state->handler_errors.load(std::memory_order_relaxed);
      c.queue_depth += static_cast<std::size_t>(state->pending.load(std::memory_order_relaxed));
    }
  }
  c.last_event_at = from_ns(sh.last_event_ns.load(std::memory_order_relaxed));
  c.started_at = from_ns(sh.started_ns.load(std::memory_order_relaxed));
  return c;
}

core::Result<std::unique_ptr<NatsConsumer>> NatsBus::consumer(NatsConsumerOptions options,
                                                              Handler handler) {
  if (!handler) return core::fail("invalid_handler", "a consumer needs a handler");
  return make_consumer(std::move(options), std::move(handler), nullptr);
}

core::Result<std::unique_ptr<NatsConsumer>> NatsBus::consumer(NatsConsumerOptions options,
                                                              BatchHandler handler) {
  if (!handler) return core::fail("invalid_handler", "a consumer needs a handler");
  return make_consumer(std::move(options), nullptr, std::move(handler));
}

core::Result<std::unique_ptr<NatsConsumer>> NatsBus::make_consumer(NatsConsumerOptions options,
                                                                   Handler handler,
                                                                   BatchHandler batch_handler) {
  if (!valid_durable(options.durable)) {
    return core::fail("invalid_consumer",
                      "durable name '" + options.durable + "' must be 1-128 of [A-Za-z0-9_-]");
  }
  auto pattern = core::TopicPattern::parse(options.filter);
  if (!pattern) return std::unexpected(pattern.error());
  if (options.batch < 1) options.batch = 1;
  auto state = std::make_shared<detail::NatsConsumerState>();
  state->shared = shared_;
  state->subject = shared_->subject_for(options.filter);
  state->pattern = std::move(*pattern);
  state->options = std::move(options);
  state->handler = std::move(handler);
  state->batch_handler = std::move(batch_handler);
  {
    std::lock_guard lock(shared_->consumers_mu);
    std::erase_if(shared_->consumers, [](const auto& w) { return w.expired(); });
    shared_->consumers.push_back(state);
  }
  return std::unique_ptr<NatsConsumer>(new NatsConsumer(std::move(state)));
}

// ---- NatsConsumer ----------------------------------------------------------------------------

NatsConsumer::NatsConsumer(std::shared_ptr<detail::NatsConsumerState> state)
    : state_(std::move(state)) {}

NatsConsumer::~NatsConsumer() { stop(); }

const std::string& NatsConsumer::durable() const { return state_->options.durable; }

void NatsConsumer::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(std::move(stop)); });
}

void NatsConsumer::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  thread_ = std::jthread();
}

NatsConsumerCounters NatsConsumer::counters() const {
  const auto& s = *state_;
  return {s.received.load(),   s.delivered.load(),   s.handler_errors.load(),
          s.duplicates.load(), s.undecodable.load(), s.fetch_errors.load(),
          s.pending.load(),    s.not_taken.load(),   s.gap_filled.load()};
}

void NatsConsumer::run(std::stop_token stop) {
  detail::NatsConsumerState& st = *state_;
  if (st.running.exchange(true)) {
    st.log(LogLevel::kError, "run() called while already running");
    return;
  }
  const core::Duration initial = st.shared->options.reconnect_initial;
  core::Duration backoff = initial;
  std::mutex sleep_mu;
  std::condition_variable_any sleep_cv;
  auto pause = [&] {
    std::unique_lock lock(sleep_mu);
    sleep_cv.wait_for(lock, stop, backoff, [] { return false; });
    backoff = std::min<core::Duration>(backoff * 2, st.shared->options.reconnect_max);
  };
  bool failing = false;
  auto trouble = [&](const std::string& what) {
    st.fetch_errors.fetch_add(1, std::memory_order_relaxed);
    if (!failing) st.log(LogLevel::kWarn, what + "; retrying with backoff");
    failing = true;
  };
  natsSubscription* sub = nullptr;
  const int timeout_ms =
      static_cast<int>(std::max<std::int64_t>(1, to_ms(st.options.fetch_timeout)));
  while (!stop.stop_requested() && !st.shared->closed.load()) {
    if (sub == nullptr) {
      std::string error;
      if (st.subscribe(&sub, &error) != NATS_OK) {
        sub = nullptr;
        trouble("cannot bind durable consumer: " + error);
        pause();
        continue;
      }
    }
    natsMsgList list{};
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = natsSubscription_Fetch(&list, sub, st.options.batch, timeout_ms, &jerr);
    st.handle(list, stop);
    natsMsgList_Destroy(&list);
    if (s == NATS_OK || s == NATS_TIMEOUT) {
      if (failing && s == NATS_OK) st.log(LogLevel::kInfo, "fetching again");
      if (s == NATS_OK) failing = false;
      backoff = initial;
      continue;
    }
    trouble("fetch failed: " + describe(s, jerr));
    const natsConnStatus cs = natsConnection_Status(st.shared->nc);
    if (cs == NATS_CONN_STATUS_CONNECTED) {
      // Connected yet failing (consumer or stream gone, JetStream restarting): bind anew.
      natsSubscription_Destroy(sub);
      sub = nullptr;
    }
    pause();
  }
  // Destroy, not Unsubscribe: Unsubscribe would delete the durable consumer on the server.
  if (sub != nullptr) natsSubscription_Destroy(sub);
  st.running.store(false);
}

void shutdown_nats_library() { nats_CloseAndWait(5000); }

}  // namespace opsready::bus
