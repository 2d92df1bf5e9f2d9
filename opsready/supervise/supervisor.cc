#include "opsready/supervise/supervisor.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <iterator>
#include <map>
#include <random>
#include <system_error>
#include <type_traits>
#include <utility>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "opsready/core/time.h"

namespace opsready::supervise {
namespace detail {
namespace {

constexpr Duration kDefaultTaskShutdown = std::chrono::seconds(5);

std::string describe_exception(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

std::string format_metadata(const Metadata& m) {
  std::string out;
  for (const auto& [k, v] : m) {
    if (!out.empty()) out += ", ";
    out += k + "=" + v;
  }
  return out.empty() ? "{}" : "{" + out + "}";
}

// now + d without overflowing for huge (but finite) timeouts.
Duration saturating_add(Duration now, Duration d) {
  return d >= Duration::max() - now ? Duration::max() : now + d;
}

core::Result<void> validate(const ChildSpec& spec, bool has_factory) {
  auto invalid = [&](std::string what) {
    return core::fail("invalid_child_spec", "task '" + spec.name + "': " + what);
  };
  if (!has_factory) return invalid("factory is empty");
  if (spec.name.find('/') != std::string::npos) return invalid("name must not contain '/'");
  if (spec.significant && spec.restart == Restart::kPermanent) {
    return invalid("a significant child must be transient or temporary");
  }
  const Backoff& b = spec.backoff;
  if (!(b.multiplier >= 1.0) || !std::isfinite(b.multiplier)) {
    return invalid("backoff multiplier must be a finite number >= 1");
  }
  if (!(b.jitter >= 0.0 && b.jitter <= 1.0)) return invalid("backoff jitter must be in [0, 1]");
  if (b.initial < Duration::zero() || b.max < Duration::zero() ||
      b.reset_after < Duration::zero()) {
    return invalid("backoff durations must not be negative");
  }
  if (spec.shutdown_timeout && *spec.shutdown_timeout < Duration::zero()) {
    return invalid("shutdown timeout must not be negative");
  }
  return {};
}

// The supervisor's lock. Uncontended, lock() and unlock() are one atomic instruction each,
// inline; std::mutex costs two calls into libpthread for the same. Contended, waiters sleep on
// a futex (std::atomic::wait), as std::mutex's do. Critical sections here are short and never
// call out, so contention is rare: spawn() from another thread, describe().
class Mutex {
 public:
  void lock() noexcept {
    int expected = kFree;
    if (state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) [[likely]] {
      return;
    }
    lock_contended();
  }
  void unlock() noexcept {
    if (state_.exchange(kFree, std::memory_order_release) == kContended) [[unlikely]] {
      state_.notify_one();
    }
  }

 private:
  static constexpr int kFree = 0;
  static constexpr int kLocked = 1;
  static constexpr int kContended = 2;  // locked, and a thread may be waiting

  [[gnu::noinline]] void lock_contended() noexcept {
    // Whoever takes the lock here marks it contended, so that its unlock wakes the next waiter.
    while (state_.exchange(kContended, std::memory_order_acquire) != kFree) {
      state_.wait(kContended, std::memory_order_relaxed);
    }
  }

  std::atomic<int> state_{kFree};
};

}  // namespace

struct Child;
using ChildPtr = std::shared_ptr<Child>;

// One child's record. What a short-lived task touches comes first and together: 168 bytes, 184
// with the control block of the shared_ptr that owns it (make_shared puts it in front). The
// backoff and the metadata are stored (and touched) only when they differ from the defaults;
// what only restarts, failures and abandonment use is in `cold_`, which recycle() resets only
// when it was used. (A spawn and an exit used to touch most of the 368 bytes.)
struct Child {
  // ---- hot: links and run state ----
  // Links: SupervisorCore::children_ (start order), or its pool's free list (`next` only).
  Child* prev = nullptr;
  Child* next = nullptr;
  std::uint64_t gen = 0;    // run number; exits of older runs are stale
  Duration started_mono{};  // started_at is derived from it in describe()
  // Handlers queued in asio that refer to this record by raw pointer: the exit handler of each
  // run not yet ended (abandoned runs included) and a posted start. A removed record stays in
  // children_ (skipped, as removed) while pinned, and is recycled or freed with its last pin.
  std::uint32_t pins = 0;
  TaskState state = TaskState::kStarting;
  TaskState stop_target = TaskState::kStopped;  // state after the current stop
  Restart restart = Restart::kPermanent;        // ChildSpec::restart
  bool significant = false;                     // ChildSpec::significant
  bool live = false;                            // a run's coroutine exists and its exit is awaited
  bool removed = false;                         // gone from the table (temporary that ended)
  bool abandoned = false;                       // the last run ignored cancellation
  bool has_started = false;
  bool has_metadata = false;    // `metadata` is not empty
  bool custom_backoff = false;  // `custom_backoff_` holds the backoff
  bool cold_used = false;       // cold_ may differ from Cold{}

  // ---- hot: the run ----
  // The current run's cancellation signal. A signal must outlive the coroutine bound to it, so
  // when a run is abandoned its signal stays with that run and the next run gets a fresh one.
  // The first is embedded here (the record outlives its pinned runs); later ones are on the
  // heap and retired to SupervisorCore::retired_signals_ on abandonment.
  asio::cancellation_signal* signal = &embedded_signal;
  asio::cancellation_signal embedded_signal;
  TaskFactory factory;
  Duration shutdown_timeout{};  // resolved ChildSpec::shutdown_timeout

  // ---- hot: identity ----
  std::string name;  // resolved ChildSpec::name
  // The record owns itself while it is in children_ or in the pool; SupervisorCore drops this
  // reference to free it (see release_locked()).
  ChildPtr self;
  SupervisorCore* owner = nullptr;  // the supervisor whose pool made it; never changes

  // ---- the rest: touched only by tasks that use it ----
  std::shared_ptr<SupervisorCore> nested;  // set when the child is a supervisor
  Metadata metadata;                       // ChildSpec::metadata

  struct Cold {
    std::uint64_t restart_token = 0;
    std::uint64_t restarts = 0;
    std::uint32_t consecutive = 0;  // backoff exponent
    std::string last_error;
    std::vector<TimePoint> recent_restarts;  // oldest first, at most kRecentRestarts
    std::unique_ptr<asio::cancellation_signal> heap_signal;
  };
  // For writing (and for reading when about to write): marks cold_ as used.
  Cold& cold() {
    cold_used = true;
    return cold_;
  }
  [[nodiscard]] const Cold& peek() const { return cold_; }

  [[nodiscard]] const Backoff& backoff() const {
    static const Backoff kDefault{};
    return custom_backoff ? custom_backoff_ : kDefault;
  }

  // Takes the spec's fields (the name is resolved); writes the backoff and the metadata only
  // when they differ from the defaults, which a recycled record holds.
  void assign(ChildSpec&& spec, Duration timeout) {
    name = std::move(spec.name);
    restart = spec.restart;
    significant = spec.significant;
    shutdown_timeout = timeout;
    if (!(spec.backoff == Backoff{})) {
      custom_backoff_ = spec.backoff;
      custom_backoff = true;
    }
    if (!spec.metadata.empty()) {
      metadata = std::move(spec.metadata);
      has_metadata = true;
    }
  }

  // Readies an ended, unpinned, unreferenced record for reuse by the next spawn. The factory
  // and the nested supervisor were moved out beforehand (their destructors run user code, and
  // this runs under the supervisor's lock). The name is overwritten by the next spawn; `gen`
  // comes from a per-supervisor sequence, so no old run can match a new one.
  void recycle() {
    state = TaskState::kStarting;
    stop_target = TaskState::kStopped;
    live = removed = abandoned = has_started = false;
    started_mono = Duration::zero();
    signal = &embedded_signal;
    custom_backoff = false;
    if (has_metadata) {
      metadata.clear();
      has_metadata = false;
    }
    if (cold_used) {
      cold_ = Cold{};
      cold_used = false;
    }
  }

 private:
  Backoff custom_backoff_;
  Cold cold_;
};

// The children of a supervisor in start order: an intrusive doubly linked list of records
// that own themselves (Child::self). Iterating yields that owning ChildPtr.
class ChildList {
 public:
  class iterator {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = ChildPtr;
    using difference_type = std::ptrdiff_t;
    using pointer = const ChildPtr*;
    using reference = const ChildPtr&;

    iterator() = default;
    iterator(const ChildList* list, Child* node) : list_(list), node_(node) {}
    reference operator*() const { return node_->self; }
    pointer operator->() const { return &node_->self; }
    iterator& operator++() {
      node_ = node_->next;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    iterator& operator--() {
      node_ = node_ != nullptr ? node_->prev : list_->tail_;
      return *this;
    }
    iterator operator--(int) {
      iterator old = *this;
      --*this;
      return old;
    }
    bool operator==(const iterator& o) const { return node_ == o.node_; }

   private:
    const ChildList* list_ = nullptr;
    Child* node_ = nullptr;
  };
  using reverse_iterator = std::reverse_iterator<iterator>;

  ChildList() = default;
  ChildList(const ChildList&) = delete;
  ChildList& operator=(const ChildList&) = delete;
  // Drops the records' references to themselves.
  ~ChildList() {
    for (Child* c = head_; c != nullptr;) {
      Child* next = c->next;
      c->self.reset();
      c = next;
    }
  }

  [[nodiscard]] iterator begin() const { return {this, head_}; }
  [[nodiscard]] iterator end() const { return {this, nullptr}; }
  [[nodiscard]] reverse_iterator rbegin() const { return reverse_iterator(end()); }
  [[nodiscard]] reverse_iterator rend() const { return reverse_iterator(begin()); }
  [[nodiscard]] iterator at(Child* c) const { return {this, c}; }
  [[nodiscard]] std::size_t size() const { return size_; }

  void push_back(Child& c) {
    c.prev = tail_;
    c.next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = &c;
    tail_ = &c;
    ++size_;
  }
  void erase(Child& c) {
    (c.prev != nullptr ? c.prev->next : head_) = c.next;
    (c.next != nullptr ? c.next->prev : tail_) = c.prev;
    c.prev = c.next = nullptr;
    --size_;
  }

 private:
  Child* head_ = nullptr;
  Child* tail_ = nullptr;
  std::size_t size_ = 0;
};

// Recycled records of ended temporary tasks: a free list through Child::next, most recently
// used first (likeliest to be in cache).
class ChildPool {
 public:
  static constexpr std::size_t kMaxSize = 4096;

  ChildPool() = default;
  ChildPool(const ChildPool&) = delete;
  ChildPool& operator=(const ChildPool&) = delete;
  ~ChildPool() {
    while (head_ != nullptr) pop(nullptr)->self.reset();
  }

  [[nodiscard]] bool full() const { return size_ >= kMaxSize; }
  void push(Child& c) {
    c.prev = nullptr;
    c.next = head_;
    head_ = &c;
    ++size_;
  }
  // A recycled record, or a new one for `owner`; either way it owns itself.
  Child* pop(SupervisorCore* owner) {
    Child* c = head_;
    if (c == nullptr) {
      auto fresh = std::make_shared<Child>();
      c = fresh.get();
      c->self = std::move(fresh);
      c->owner = owner;
      return c;
    }
    head_ = c->next;
    c->next = nullptr;
    --size_;
    return c;
  }

 private:
  Child* head_ = nullptr;
  std::size_t size_ = 0;
};

class SupervisorCore;

// Call-outs collected under the lock and done by SupervisorCore::perform() after it, and what
// the locked section released: destroyed with the Pending, after the lock, because their
// destructors may run user code (a factory's captures, a nested supervisor's children).
struct Pending {
  struct Calls {
    std::vector<std::shared_ptr<SupervisorCore>> immediate;  // nested: stop now
    std::vector<ChildPtr> emit;                              // cancel these now
    std::vector<ChildPtr> start;                             // start_child() these
  };
  bool advance = false;  // advance the stop phase
  bool run_ops = false;  // run queued group restarts
  // Both blocks are allocated on first use: the common locked sections (a task starts, a task
  // ends) need neither, and then a Pending costs next to nothing to make and destroy.
  std::unique_ptr<Calls> calls;

  struct Released {
    std::vector<TaskFactory> factories;
    std::vector<std::shared_ptr<SupervisorCore>> nested;
    std::vector<ChildPtr> records;  // still referenced elsewhere, or not worth pooling
  };
  // Rarely needed: a temporary task's factory is destroyed when its run ends, before the lock
  // is taken (SupervisorCore::on_exit), and its record goes back to the pool.
  std::unique_ptr<Released> released;

  Calls& call() {
    if (!calls) calls = std::make_unique<Calls>();
    return *calls;
  }
  Released& release() {
    if (!released) released = std::make_unique<Released>();
    return *released;
  }
  [[nodiscard]] bool has_work() const { return advance || run_ops || calls; }
};

struct GroupOp {
  ChildPtr failed;
  Duration delay{};
};

// A sequential stop: children in `order` (reverse start order) are cancelled one at a time,
// each awaited up to its shutdown timeout. One timer serves the whole phase and is re-armed
// lazily, so stopping N children costs one timer, not N.
struct Phase {
  std::vector<ChildPtr> order;
  std::size_t next = 0;
  ChildPtr current;
  Duration cancelled_at{};
  std::optional<Duration> deadline;
  std::function<void()> on_done;
};

// The shared state of one supervisor. Owned by the Supervisor handle, by itself (keepalive_)
// while the handle exists or any handler queued in asio still refers to it, by posted
// call-outs, and weakly by timers. So exits of abandoned children that arrive after the handle
// is gone find valid memory.
//
// Locking: mu_ guards everything below it. Methods named *_locked need it held and never call
// out (no user code, no emit, no co_spawn). Call-outs are collected in a Pending and done by
// perform() after unlocking; observer and log calls are queued in deferred_ and run by flush().
class SupervisorCore : public std::enable_shared_from_this<SupervisorCore> {
 public:
  SupervisorCore(asio::any_io_executor ex, SupervisorOptions opts, std::string path)
      : ex_(std::move(ex)),
        path_(std::move(path)),
        name_(opts.name),
        strategy_(opts.strategy),
        intensity_(opts.intensity),
        period_(opts.period),
        auto_shutdown_(opts.auto_shutdown),
        time_(opts.time != nullptr ? opts.time : &SystemTimeSource::instance()),
        observer_(opts.observer),
        log_(opts.log ? std::move(opts.log) : LogFn(&stderr_log)),
        rng_(opts.seed ? *opts.seed : std::random_device{}()) {
    io_ex_ = ex_.target<asio::io_context::executor_type>();
    strand_ex_ = ex_.target<asio::strand<asio::io_context::executor_type>>();
    if (intensity_ < 0) throw std::invalid_argument("supervisor intensity must be >= 0");
    if (period_ <= Duration::zero()) throw std::invalid_argument("supervisor period must be > 0");
  }

  // ex_ is const, so the targets are looked up once, at construction.
  bool on_executor() const {
    if (io_ex_ != nullptr) return io_ex_->running_in_this_thread();
    if (strand_ex_ != nullptr) return strand_ex_->running_in_this_thread();
    return false;
  }

  // ---- accessors ---------------------------------------------------------------------------
  const std::string& path() const { return path_; }
  const asio::any_io_executor& executor() const { return ex_; }
  TimeSource& time() const { return *time_; }
  Observer* observer() const { return observer_; }
  const LogFn& log() const { return log_; }

  std::uint64_t next_seed() {
    std::lock_guard lk(mu_);
    return rng_();
  }

  // ---- registration (any thread) -----------------------------------------------------------
  // Returns the child's name. The hot path (a task spawned on the executor) takes the lock
  // once, allocates nothing but the task's own frames once records are pooled, and does no
  // reference counting: the run's exit handler refers to the record and to this core by raw
  // pointer, kept valid by the record's pin and by keepalive_.
  core::Result<std::string> add_child(ChildSpec&& spec, TaskFactory&& factory,
                                      std::shared_ptr<SupervisorCore> nested) {
    if (auto ok = validate(spec, static_cast<bool>(factory)); !ok) {
      return std::unexpected(ok.error());
    }
    Child* c = nullptr;
    std::uint64_t gen = 0;
    bool post_start = false;
    core::Result<std::string> name(std::in_place);
    {
      std::lock_guard lk(mu_);
      if (!accepting_ || state_ == SupervisorState::kStopping ||
          state_ == SupervisorState::kStopped || state_ == SupervisorState::kFailed) {
        return core::fail("supervisor_stopping", "supervisor " + path_ + " is " +
                                                     std::string(to_string(state_)) + "; task '" +
                                                     spec.name + "' refused");
      }
      c = pool_.pop(this);
      children_.push_back(*c);
      if (spec.name.empty()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "-task-%05llu",
                      static_cast<unsigned long long>(++auto_names_));
        spec.name = name_ + buf;
      }
      const Duration timeout =
          spec.shutdown_timeout.value_or(nested ? kInfinity : kDefaultTaskShutdown);
      c->assign(std::move(spec), timeout);
      c->factory = std::move(factory);
      if (nested) c->nested = std::move(nested);
      ++counts_[static_cast<std::size_t>(TaskState::kStarting)];
      name->assign(c->name);
      if (state_ == SupervisorState::kRunning) {
        // On the executor (a task spawning a task, the common case) it starts right here;
        // otherwise the start is handed to the executor.
        if (on_executor()) {
          gen = begin_start_locked(*c);
        } else {
          pin_locked(*c);
          post_start = true;
        }
      }
    }
    if (gen != 0) {
      launch(*c, gen);
      flush();
    } else if (post_start) {
      post(StartHandler(this, c));
    }
    return name;
  }

  // ---- run ---------------------------------------------------------------------------------
  core::Result<void> begin_run(asio::steady_timer* wake) {
    Pending p;
    {
      std::lock_guard lk(mu_);
      if (state_ == SupervisorState::kRunning || state_ == SupervisorState::kStopping) {
        return core::fail("already_running", "supervisor " + path_ + " is already running");
      }
      if (stopped_before_run_) return {};  // stays stopped: run() returns at once
      set_sup_state_locked(SupervisorState::kRunning, "run");
      escalated_ = false;
      immediate_ = false;
      accepting_ = true;
      window_.clear();
      last_error_.clear();
      run_wake_ = wake;
      for (const auto& c : children_) {
        if (c->removed || c->live) continue;
        // A temporary child runs once: only one that never started is started.
        if (c->restart == Restart::kTemporary && c->state != TaskState::kStarting) continue;
        set_state_locked(c, TaskState::kStarting);
        p.call().start.push_back(c);
      }
    }
    perform(p);
    flush();
    return {};
  }

  bool run_finished(asio::steady_timer* wake) {
    std::lock_guard lk(mu_);
    if (state_ != SupervisorState::kStopped && state_ != SupervisorState::kFailed) return false;
    if (run_wake_ == wake) run_wake_ = nullptr;
    return true;
  }

  bool escalated() const {
    std::lock_guard lk(mu_);
    return escalated_;
  }

  std::string failure() const {
    std::lock_guard lk(mu_);
    return "supervisor " + path_ + " failed: " + last_error_;
  }

  // ---- stop --------------------------------------------------------------------------------
  void request_stop(StopMode mode, std::string reason) {
    {
      std::lock_guard lk(mu_);
      accepting_ = false;
    }
    asio::dispatch(ex_, [self = shared_from_this(), mode, reason = std::move(reason)] {
      self->stop_here(mode, reason);
    });
  }

  void async_stop(std::function<void(const StopReport&)> done, StopMode mode) {
    {
      std::lock_guard lk(mu_);
      if (done) stop_waiters_.push_back(std::move(done));
    }
    request_stop(mode, "stop requested");
  }

  // On the executor.
  void stop_here(StopMode mode, const std::string& reason) {
    Pending p;
    {
      std::lock_guard lk(mu_);
      accepting_ = false;
      begin_stop_locked(mode, reason, p);
    }
    perform(p);
    flush();
  }

  // ---- inspection (any thread) -------------------------------------------------------------
  void describe_into(SupervisionSnapshot& out, Duration mono) const {
    const TimePoint wall = out.observed_at;
    std::vector<std::pair<TaskInfo, std::shared_ptr<SupervisorCore>>> entries;
    {
      std::lock_guard lk(mu_);
      std::size_t in_period = 0;
      for (Duration t : window_) in_period += mono - t <= period_ ? 1 : 0;
      out.supervisors.push_back(SupervisorInfo{.path = path_,
                                               .state = state_,
                                               .strategy = strategy_,
                                               .intensity = intensity_,
                                               .period = period_,
                                               .restarts_total = restarts_total_,
                                               .restarts_in_period = in_period,
                                               .last_error = last_error_});
      entries.reserve(children_.size());
      for (const auto& c : children_) {
        if (c->removed) continue;
        TaskInfo t;
        t.supervisor = path_;
        t.name = c->name;
        t.path = path_ + "/" + c->name;
        t.state = c->state;
        t.restart = c->restart;
        t.is_supervisor = c->nested != nullptr;
        t.significant = c->significant;
        t.restarts = c->peek().restarts;
        t.last_error = c->peek().last_error;
        if (c->has_started) t.started_at = wall - (mono - c->started_mono);
        if (c->live && c->state != TaskState::kStarting) {
          t.uptime = std::max(Duration::zero(), mono - c->started_mono);
        }
        t.metadata = c->metadata;
        t.abandoned = c->abandoned;
        t.recent_restarts = c->peek().recent_restarts;
        entries.emplace_back(std::move(t), c->nested);
      }
    }
    for (auto& [info, nested] : entries) {
      out.tasks.push_back(std::move(info));
      if (nested) nested->describe_into(out, mono);
    }
  }

  SupervisorState state() const {
    std::lock_guard lk(mu_);
    return state_;
  }

  void add_counts(StateCounts& counts) const {
    for (const auto& n : with_nested([&] {
           for (std::size_t i = 0; i < kTaskStateCount; ++i) counts[i] += counts_[i];
         })) {
      n->add_counts(counts);
    }
  }

  void collect_report(StopReport& out) const {
    for (const auto& n : with_nested([&] {
           out.immediate = out.immediate || report_.immediate;
           out.abandoned.insert(out.abandoned.end(), report_.abandoned.begin(),
                                report_.abandoned.end());
         })) {
      n->collect_report(out);
    }
  }

  void log_run_failure(const std::exception_ptr& e) {
    log_(LogLevel::kError, "supervisor " + path_ + " ended: " + describe_exception(e));
  }

  // Called by ~Supervisor: cancel what still runs, without waiting, and stop calling hooks.
  // From here on the core lives only as long as the handlers that still refer to it.
  void detach() {
    std::shared_ptr<SupervisorCore> last;
    Pending p;
    {
      std::lock_guard lk(mu_);
      accepting_ = false;
      if (state_ == SupervisorState::kRunning || state_ == SupervisorState::kStopping) {
        stop_now_locked(p, "supervisor destroyed");
      }
    }
    perform(p);
    flush();
    std::lock_guard lk(mu_);
    detached_ = true;
    deferred_.clear();
    has_deferred_.store(false, std::memory_order_relaxed);
    cancel_timers_locked();
    if (pins_ == 0) last = std::move(keepalive_);
  }

  // asio::post() to ex_, through its concrete target when it has one (see BoundExitHandler).
  template <typename Handler>
  void post(Handler&& h) {
    if (io_ex_ != nullptr) {
      asio::post(*io_ex_, std::forward<Handler>(h));
    } else if (strand_ex_ != nullptr) {
      asio::post(*strand_ex_, std::forward<Handler>(h));
    } else {
      asio::post(ex_, std::forward<Handler>(h));
    }
  }

  // ---- child lifecycle (executor) ----------------------------------------------------------
  // Handlers queued in asio hold raw pointers to this core and to a record. A pin keeps both
  // valid: the record stays out of the pool while pinned (Child::pins), and the core keeps a
  // reference to itself (keepalive_) while any record is pinned or its Supervisor handle
  // exists. So the hot path does no atomic reference counting, and handlers that outlive the
  // handle (an abandoned task, an io_context destroyed with queued handlers) still find valid
  // memory. A handler destroyed without being invoked unpins in its destructor.

  // The completion handler of one run: reports its end to on_exit(), once. Two words: asio
  // moves it several times and stores it in the run's frame and in its completion.
  class ExitHandler {
   public:
    ExitHandler(Child* child, std::uint64_t gen) : child_(child), gen_(gen) {}
    ExitHandler(ExitHandler&& o) noexcept
        : child_(std::exchange(o.child_, nullptr)), gen_(o.gen_) {}
    ExitHandler(const ExitHandler&) = delete;
    ExitHandler& operator=(const ExitHandler&) = delete;
    ExitHandler& operator=(ExitHandler&&) = delete;
    ~ExitHandler() {
      if (child_ != nullptr) child_->owner->unpin(child_);
    }
    void operator()(std::exception_ptr e) {
      Child* c = std::exchange(child_, nullptr);
      c->owner->on_exit(c, gen_, std::move(e));
    }

   protected:
    Child* child_;  // null once invoked or moved from
    std::uint64_t gen_;
  };

  // An ExitHandler whose associated executor is ex_'s concrete target (Executor is the type of
  // *io_ex_ or of *strand_ex_). co_spawn posts or dispatches the completion through the
  // handler's associated executor; through the concrete io_context executor or strand that
  // costs far less than through any_io_executor, whose every prefer() is type-erased. Same
  // executor, same semantics.
  template <typename Executor>
  class BoundExitHandler : public ExitHandler {
   public:
    using executor_type = Executor;
    explicit BoundExitHandler(ExitHandler&& h) : ExitHandler(std::move(h)) {}
    executor_type get_executor() const noexcept { return child_->owner->concrete<Executor>(); }
  };

  template <typename Executor>
  const Executor& concrete() const {
    if constexpr (std::is_same_v<Executor, asio::io_context::executor_type>) {
      return *io_ex_;
    } else {
      return *strand_ex_;
    }
  }

  // Starts a child spawned from outside the executor.
  class StartHandler {
   public:
    StartHandler(SupervisorCore* core, Child* child) : core_(core), child_(child) {}
    StartHandler(StartHandler&& o) noexcept
        : core_(std::exchange(o.core_, nullptr)), child_(o.child_) {}
    StartHandler(const StartHandler&) = delete;
    StartHandler& operator=(const StartHandler&) = delete;
    StartHandler& operator=(StartHandler&&) = delete;
    ~StartHandler() {
      if (core_ != nullptr) core_->unpin(child_);
    }
    void operator()() { std::exchange(core_, nullptr)->start_pinned(child_); }

   private:
    SupervisorCore* core_;
    Child* child_;
  };

  void start_child(const ChildPtr& c) {
    std::uint64_t gen = 0;
    {
      std::lock_guard lk(mu_);
      gen = begin_start_locked(*c);
    }
    if (gen != 0) launch(*c, gen);
  }

  // StartHandler: start_child() of a pinned record, dropping the pin in the same lock.
  void start_pinned(Child* c) {
    std::shared_ptr<SupervisorCore> last;  // destroyed last: may own *this
    Pending p;
    std::uint64_t gen = 0;
    {
      std::lock_guard lk(mu_);
      gen = begin_start_locked(*c);
      unpin_locked(*c, p, last);
    }
    if (gen != 0) launch(*c, gen);
    flush();
  }

  // A handler was destroyed without being invoked (its io_context went away).
  void unpin(Child* c) {
    std::shared_ptr<SupervisorCore> last;  // destroyed last: may own *this
    Pending p;
    std::lock_guard lk(mu_);
    unpin_locked(*c, p, last);
  }

  // Marks the next run of `c` as started and returns its generation; 0 when `c` must not
  // start (the supervisor is stopping, or the child was stopped or removed meanwhile). A
  // non-zero generation comes with a pin, which launch() hands to the run's ExitHandler.
  std::uint64_t begin_start_locked(Child& c) {
    if (state_ != SupervisorState::kRunning || c.removed || c.live ||
        c.state != TaskState::kStarting) {
      return 0;
    }
    c.live = true;
    c.abandoned = false;
    c.has_started = true;
    c.started_mono = time_->monotonic_now();
    // "starting" ends here: the coroutine is created next, and may run inline up to its first
    // suspension. Set before, so nothing it does inline can be overwritten afterwards.
    set_state_locked(c, TaskState::kRunning);
    pin_locked(c);
    c.gen = ++run_seq_;
    return c.gen;
  }

  // Creates and spawns run `gen` of `c`, which begin_start_locked() pinned. On the executor,
  // without the lock.
  void launch(Child& c, std::uint64_t gen) {
    ExitHandler on_end(&c, gen);
    asio::cancellation_signal* sig = c.signal;
    asio::awaitable<void> run;
    try {
      run = c.factory();
    } catch (...) {
      asio::post(ex_, [on_end = std::move(on_end), e = std::current_exception()]() mutable {
        on_end(std::move(e));
      });
      return;
    }
    // The task may run inline here up to its first suspension; no lock is held.
    if (io_ex_ != nullptr) {
      asio::co_spawn(
          ex_, std::move(run),
          asio::bind_cancellation_slot(
              sig->slot(), BoundExitHandler<asio::io_context::executor_type>(std::move(on_end))));
    } else if (strand_ex_ != nullptr) {
      asio::co_spawn(
          ex_, std::move(run),
          asio::bind_cancellation_slot(
              sig->slot(),
              BoundExitHandler<asio::strand<asio::io_context::executor_type>>(std::move(on_end))));
    } else {
      asio::co_spawn(ex_, std::move(run),
                     asio::bind_cancellation_slot(sig->slot(), std::move(on_end)));
    }
  }

  void on_exit(Child* c, std::uint64_t gen, std::exception_ptr e) {
    // A temporary child runs once, so its factory is not needed any more: destroy it here,
    // without the lock, rather than hand it over to be destroyed after the lock. The run's pin
    // keeps the record out of the pool, and only the executor (this thread) touches factories.
    if (c->restart == Restart::kTemporary && gen == c->gen) c->factory = nullptr;
    std::shared_ptr<SupervisorCore> last;  // destroyed last: may own *this
    Pending p;
    {
      std::lock_guard lk(mu_);
      if (gen != c->gen || !c->live) {
        // A run we abandoned has ended after all.
        retired_signals_.erase({c, gen});
        defer_log_locked(LogLevel::kInfo,
                         "task " + task_path(*c) + " ended after it had been abandoned");
        if (c->restart == Restart::kTemporary && c->abandoned && !c->live &&
            c->state == TaskState::kFailed) {
          remove_locked(*c, p);
        }
      } else {
        c->live = false;
        switch (c->state) {
          case TaskState::kStopping:
            // We cancelled it; how it ended (usually operation_aborted) is not a failure.
            set_state_locked(*c, c->stop_target);
            if (c->stop_target == TaskState::kStopped && c->restart == Restart::kTemporary) {
              remove_locked(*c, p);
            }
            if (phase_ && phase_->current.get() == c) {
              phase_->current.reset();
              p.advance = true;
            }
            break;
          case TaskState::kRestarting:
            // Ended by itself while its group restart was stopping siblings.
            if (e) c->cold().last_error = describe_exception(e);
            break;
          case TaskState::kStarting:
          case TaskState::kRunning:
            handle_unexpected_exit_locked(*c, e, p);
            break;
          case TaskState::kStopped:
          case TaskState::kFailed:
            break;
        }
      }
      unpin_locked(*c, p, last);
    }
    perform(p);
    flush();
  }

  void on_restart_due(const std::vector<ChildPtr>& members, std::uint64_t token) {
    Pending p;
    {
      std::lock_guard lk(mu_);
      backoff_timers_.erase(token);
      if (state_ != SupervisorState::kRunning) return;
      for (const auto& m : members) {
        if (m->peek().restart_token != token || m->state != TaskState::kRestarting || m->removed ||
            m->live) {
          continue;
        }
        set_state_locked(m, TaskState::kStarting);
        p.call().start.push_back(m);
      }
    }
    perform(p);
    flush();
  }

  // ---- group restarts (one_for_all, rest_for_one) ------------------------------------------
  void run_ops() {
    Pending p;
    {
      std::lock_guard lk(mu_);
      if (op_running_ || phase_) return;
      while (!ops_.empty()) {
        GroupOp op = std::move(ops_.front());
        ops_.pop_front();
        if (state_ != SupervisorState::kRunning) {
          ops_.clear();
          break;
        }
        if (op.failed->removed) continue;
        // Not removed, so in children_.
        const auto first =
            strategy_ == Strategy::kRestForOne ? children_.at(op.failed.get()) : children_.begin();
        std::vector<ChildPtr> members;
        for (auto it = first; it != children_.end(); ++it) {
          if (!(*it)->removed) members.push_back(*it);
        }
        const std::uint64_t token = ++next_token_;
        std::vector<ChildPtr> order;
        for (const auto& m : members) {
          m->cold().restart_token = token;
          const bool temporary = m->restart == Restart::kTemporary;
          m->stop_target = temporary ? TaskState::kStopped : TaskState::kRestarting;
          if (m->live) continue;
          if (temporary) {
            set_state_locked(m, TaskState::kStopped);
            remove_locked(*m, p);
          } else {
            set_state_locked(m, TaskState::kRestarting);
          }
        }
        for (auto it = members.rbegin(); it != members.rend(); ++it) {
          if ((*it)->live) order.push_back(*it);
        }
        op_running_ = true;
        begin_phase_locked(std::move(order), [this, members = std::move(members), op, token] {
          finish_group(members, op, token);
        });
        p.advance = true;
        break;
      }
    }
    perform(p);
    flush();
  }

  void finish_group(const std::vector<ChildPtr>& members, const GroupOp& op, std::uint64_t token) {
    Pending p;
    {
      std::lock_guard lk(mu_);
      op_running_ = false;
      if (state_ == SupervisorState::kStopping && !immediate_) {
        start_shutdown_phase_locked(p);
      } else if (state_ == SupervisorState::kRunning) {
        std::vector<ChildPtr> restart;
        for (const auto& m : members) {
          if (m->removed || m->peek().restart_token != token || m->restart == Restart::kTemporary) {
            continue;
          }
          if (m != op.failed) note_restart_locked(m, RestartReason::kSibling);
          restart.push_back(m);
        }
        schedule_restart_locked(restart, op.delay);
        p.run_ops = !ops_.empty();
      }
    }
    perform(p);
    flush();
  }

  // ---- stop phases -------------------------------------------------------------------------
  void advance_phase() {
    for (;;) {
      Pending p;  // only for what remove_locked() releases
      ChildPtr to_cancel;
      std::function<void()> done;
      {
        std::lock_guard lk(mu_);
        if (!phase_ || phase_->current) return;
        if (phase_->next >= phase_->order.size()) {
          done = std::move(phase_->on_done);
          phase_.reset();
          cancel_phase_timer_locked();
        } else {
          ChildPtr c = phase_->order[phase_->next++];
          if (c->removed) continue;
          if (!c->live) {
            // Never started, or already ended by itself.
            if (c->state == TaskState::kStarting || c->state == TaskState::kRunning) {
              set_state_locked(c, c->stop_target);
              if (c->stop_target == TaskState::kStopped && c->restart == Restart::kTemporary) {
                remove_locked(*c, p);
              }
            }
            continue;
          }
          set_state_locked(c, TaskState::kStopping);
          const Duration now = time_->monotonic_now();
          phase_->current = c;
          phase_->cancelled_at = now;
          phase_->deadline = c->shutdown_timeout == kInfinity
                                 ? std::nullopt
                                 : std::optional(saturating_add(now, c->shutdown_timeout));
          arm_phase_timer_locked();
          to_cancel = c;
        }
      }
      if (done) {
        done();
        return;
      }
      flush();
      to_cancel->signal->emit(asio::cancellation_type::terminal);
      return;
    }
  }

  void on_phase_timer() {
    Pending p;
    {
      std::lock_guard lk(mu_);
      phase_timer_.reset();
      phase_timer_at_.reset();
      if (!phase_ || !phase_->current || !phase_->deadline) return;
      const Duration now = time_->monotonic_now();
      if (now < *phase_->deadline) {
        arm_phase_timer_locked();
        return;
      }
      abandon_locked(phase_->current, now - phase_->cancelled_at);
      phase_->current.reset();
      p.advance = true;
    }
    perform(p);
    flush();
  }

  void finish_stop() {
    Pending p;
    {
      std::lock_guard lk(mu_);
      complete_stop_locked(p);
    }
    perform(p);
    flush();
  }

  // Runs the queued observer and log calls. Only executor-side code queues them, so the flag
  // read here without the lock is never stale for the calls it must run.
  void flush() {
    if (!has_deferred_.load(std::memory_order_acquire)) return;
    std::vector<std::function<void()>> calls;
    {
      std::lock_guard lk(mu_);
      calls.swap(deferred_);
      has_deferred_.store(false, std::memory_order_relaxed);
      if (detached_) calls.clear();
    }
    for (auto& f : calls) f();
  }

 private:
  void perform(Pending& p) {
    if (p.has_work()) [[unlikely]]
      perform_work(p);
  }

  [[gnu::noinline]] void perform_work(Pending& p) {
    if (p.calls) {
      for (const auto& n : p.calls->immediate) {
        n->stop_here(StopMode::kImmediate, "parent stopped now");
      }
      for (const auto& c : p.calls->emit) c->signal->emit(asio::cancellation_type::terminal);
      for (const auto& c : p.calls->start) start_child(c);
    }
    if (p.advance) advance_phase();
    if (p.run_ops) run_ops();
  }

  // Runs `fn` under the lock, then returns the nested supervisors (to recurse without it).
  template <typename Fn>
  std::vector<std::shared_ptr<SupervisorCore>> with_nested(Fn&& fn) const {
    std::vector<std::shared_ptr<SupervisorCore>> nested;
    std::lock_guard lk(mu_);
    fn();
    for (const auto& c : children_) {
      if (!c->removed && c->nested) nested.push_back(c->nested);
    }
    return nested;
  }

  std::string task_path(const Child& c) const { return path_ + "/" + c.name; }

  void set_state_locked(const ChildPtr& c, TaskState to) { set_state_locked(*c, to); }
  void set_state_locked(Child& child, TaskState to) {
    const TaskState from = child.state;
    if (from == to) return;
    if (!child.removed) {
      --counts_[static_cast<std::size_t>(from)];
      ++counts_[static_cast<std::size_t>(to)];
    }
    child.state = to;
    if (observer_ != nullptr) [[unlikely]] {
      defer_task_state_locked(child, from, to);
    }
  }

  // `child` is in children_ (not removed, or pinned), so child.self owns it.
  [[gnu::noinline]] void defer_task_state_locked(Child& child, TaskState from, TaskState to) {
    defer([self = shared_from_this(), c = child.self, from, to] {
      self->observer_->on_task_state(TaskRef{self->path_, c->name, c->metadata}, from, to);
    });
  }

  void set_sup_state_locked(SupervisorState to, std::string reason) {
    const SupervisorState from = state_;
    if (from == to) return;
    state_ = to;
    if (to != SupervisorState::kRunning || from != SupervisorState::kIdle) {
      defer_log_locked(to == SupervisorState::kFailed ? LogLevel::kError : LogLevel::kInfo,
                       "supervisor " + path_ + " " + std::string(to_string(from)) + " -> " +
                           std::string(to_string(to)) + " (" + reason + ")");
    }
    if (observer_ != nullptr) {
      defer([self = shared_from_this(), from, to, reason = std::move(reason)] {
        self->observer_->on_supervisor_state(self->path_, from, to, reason);
      });
    }
  }

  void defer(std::function<void()> call) {
    deferred_.push_back(std::move(call));
    has_deferred_.store(true, std::memory_order_release);
  }

  void defer_log_locked(LogLevel level, std::string message) {
    defer([self = shared_from_this(), level, m = std::move(message)] { self->log_(level, m); });
  }

  // Takes an ended temporary child out of the table. A pinned record stays in children_,
  // skipped as removed, until its last pin goes; else it is released at once. Callers must not
  // use `c` afterwards, and loops over children_ must have moved past it.
  void remove_locked(Child& c, Pending& p) {
    if (c.removed) return;
    c.removed = true;
    --counts_[static_cast<std::size_t>(c.state)];
    if (c.pins == 0) release_locked(c, p);
  }

  void pin_locked(Child& c) {
    ++c.pins;
    if (pins_++ == 0 && !keepalive_) keepalive_ = shared_from_this();
  }

  // Drops a pin. The last pin of a removed record releases it; the last pin of a detached
  // core moves the core's reference to itself into `last`, which the caller destroys after
  // everything else (it may be the final reference).
  void unpin_locked(Child& c, Pending& p, std::shared_ptr<SupervisorCore>& last) {
    --c.pins;
    if (c.pins == 0 && c.removed) release_locked(c, p);
    if (--pins_ == 0 && detached_) last = std::move(keepalive_);
  }

  // A removed, unpinned record: back to the pool when nothing else refers to it, else let go.
  // What may run user code on destruction goes to `p`, to be destroyed after the lock.
  void release_locked(Child& c, Pending& p) {
    children_.erase(c);
    if (c.self.use_count() == 1 && !pool_.full()) {
      if (c.factory) {
        p.release().factories.push_back(std::move(c.factory));
        c.factory = nullptr;
      }
      if (c.nested) p.release().nested.push_back(std::move(c.nested));
      c.recycle();
      pool_.push(c);
      return;
    }
    p.release().records.push_back(std::move(c.self));
  }

  void note_restart_locked(const ChildPtr& c, RestartReason reason) {
    Child::Cold& cold = c->cold();
    ++cold.restarts;
    if (cold.recent_restarts.size() >= kRecentRestarts) {
      cold.recent_restarts.erase(cold.recent_restarts.begin());
    }
    cold.recent_restarts.push_back(time_->now());
    if (observer_ != nullptr) {
      defer([self = shared_from_this(), c, reason] {
        self->observer_->on_restart(TaskRef{self->path_, c->name, c->metadata}, reason);
      });
    }
  }

  Duration next_delay_locked(const ChildPtr& c) {
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    Child::Cold& cold = c->cold();
    const Duration d = backoff_delay(c->backoff(), cold.consecutive, u);
    if (cold.consecutive < 1000) ++cold.consecutive;
    return d;
  }

  // From on_exit(): the run's pin keeps `child` in children_, so `c` stays valid.
  void handle_unexpected_exit_locked(Child& child, const std::exception_ptr& e, Pending& p) {
    const ChildPtr& c = child.self;
    const bool failed = e != nullptr;
    const std::string msg = failed ? describe_exception(e) : std::string();
    if (failed) c->cold().last_error = msg;
    const TaskState ended = failed ? TaskState::kFailed : TaskState::kStopped;
    if (state_ != SupervisorState::kRunning) {
      set_state_locked(c, ended);
      if (c->restart == Restart::kTemporary) remove_locked(*c, p);
      return;
    }
    const bool restart =
        c->restart == Restart::kPermanent || (c->restart == Restart::kTransient && failed);
    if (!restart) {
      set_state_locked(c, ended);
      if (failed) {
        defer_log_locked(LogLevel::kWarn, "task " + task_path(*c) + " failed: " + msg + " (" +
                                              std::string(to_string(c->restart)) +
                                              ": not restarted)");
      }
      const bool significant = c->significant;
      if (c->restart == Restart::kTemporary) remove_locked(*c, p);
      if (significant) check_auto_shutdown_locked(p);
      return;
    }

    const Duration now = time_->monotonic_now();
    if (now - c->started_mono >= c->backoff().reset_after) c->cold().consecutive = 0;
    while (!window_.empty() && now - window_.front() > period_) window_.pop_front();
    window_.push_back(now);
    ++restarts_total_;
    const std::string what = failed ? "failed: " + msg : std::string("exited");
    if (static_cast<int>(window_.size()) > intensity_) {
      set_state_locked(c, ended);
      escalated_ = true;
      last_error_ = "restart intensity exceeded (" + std::to_string(window_.size()) +
                    " restarts within " + core::format_duration(period_) + ", intensity " +
                    std::to_string(intensity_) + "); last: task " + task_path(*c) + " " + what;
      begin_stop_locked(StopMode::kGraceful, "restart intensity exceeded", p);
      return;
    }
    note_restart_locked(c, failed ? RestartReason::kError : RestartReason::kExit);
    const Duration delay = next_delay_locked(c);
    defer_log_locked(LogLevel::kWarn, "task " + task_path(*c) + " " + what + "; restart " +
                                          std::to_string(c->peek().restarts) + " in " +
                                          core::format_duration(delay));
    if (strategy_ == Strategy::kOneForOne) {
      schedule_restart_locked({c}, delay);
    } else {
      set_state_locked(c, TaskState::kRestarting);
      ops_.push_back(GroupOp{c, delay});
      p.run_ops = true;
    }
  }

  void check_auto_shutdown_locked(Pending& p) {
    if (auto_shutdown_ == AutoShutdown::kNever) return;
    if (auto_shutdown_ == AutoShutdown::kAllSignificant) {
      for (const auto& d : children_) {
        if (d->removed || !d->significant) continue;
        if (d->live || d->state == TaskState::kStarting || d->state == TaskState::kRestarting) {
          return;
        }
      }
    }
    begin_stop_locked(StopMode::kGraceful, "auto_shutdown: significant task ended", p);
  }

  void schedule_restart_locked(const std::vector<ChildPtr>& members, Duration delay) {
    if (members.empty()) return;
    const std::uint64_t token = ++next_token_;
    for (const auto& m : members) {
      m->cold().restart_token = token;
      set_state_locked(m, TaskState::kRestarting);
    }
    std::weak_ptr<SupervisorCore> weak = shared_from_this();
    auto due = [weak, members, token] {
      if (auto self = weak.lock()) self->on_restart_due(members, token);
    };
    if (delay <= Duration::zero()) {
      asio::post(ex_, std::move(due));
    } else {
      backoff_timers_[token] = time_->schedule(ex_, delay, std::move(due));
    }
  }

  void begin_stop_locked(StopMode mode, const std::string& reason, Pending& p) {
    switch (state_) {
      case SupervisorState::kIdle:
        stopped_before_run_ = true;  // a later run() ends at once
        set_sup_state_locked(SupervisorState::kStopped, reason);
        complete_stop_locked(p);
        return;
      case SupervisorState::kStopped:
      case SupervisorState::kFailed:
        complete_stop_locked(p);
        return;
      case SupervisorState::kStopping:
        if (mode == StopMode::kImmediate && !immediate_) stop_now_locked(p, reason);
        return;
      case SupervisorState::kRunning:
        break;
    }
    set_sup_state_locked(SupervisorState::kStopping, reason);
    report_ = StopReport{};
    cancel_backoff_timers_locked();
    ops_.clear();
    for (const auto& c : children_) {
      if (!c->removed && !c->live && c->state == TaskState::kRestarting) {
        set_state_locked(c, TaskState::kStopped);
      }
    }
    if (mode == StopMode::kImmediate) {
      stop_now_locked(p, reason);
      return;
    }
    if (op_running_) return;  // finish_group() continues with the shutdown phase
    start_shutdown_phase_locked(p);
  }

  void start_shutdown_phase_locked(Pending& p) {
    std::vector<ChildPtr> order;
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
      if ((*it)->removed) continue;
      (*it)->stop_target = TaskState::kStopped;
      order.push_back(*it);
    }
    begin_phase_locked(std::move(order), [this] { finish_stop(); });
    p.advance = true;
  }

  void stop_now_locked(Pending& p, const std::string& reason) {
    if (state_ == SupervisorState::kRunning) {
      set_sup_state_locked(SupervisorState::kStopping, reason);
      report_ = StopReport{};
    }
    immediate_ = true;
    report_.immediate = true;
    phase_.reset();
    cancel_phase_timer_locked();
    cancel_backoff_timers_locked();
    op_running_ = false;
    ops_.clear();
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
      const ChildPtr& c = *it;
      if (c->removed) continue;
      if (c->nested) p.call().immediate.push_back(c->nested);
      c->stop_target = TaskState::kStopped;
      if (c->live) {
        set_state_locked(c, TaskState::kStopping);
        p.call().emit.push_back(c);
      } else if (c->state == TaskState::kStarting || c->state == TaskState::kRestarting) {
        set_state_locked(c, TaskState::kStopped);
      }
    }
    complete_stop_locked(p);
  }

  void complete_stop_locked(Pending& p) {
    if (state_ == SupervisorState::kRunning || state_ == SupervisorState::kStopping) {
      for (auto it = children_.begin(); it != children_.end();) {
        Child& c = **it++;  // advanced first: remove_locked() takes c out of children_
        if (c.removed || c.live || c.restart != Restart::kTemporary) continue;
        if (c.state == TaskState::kStopped) remove_locked(c, p);
      }
      set_sup_state_locked(escalated_ ? SupervisorState::kFailed : SupervisorState::kStopped,
                           escalated_ ? last_error_ : "stopped");
    }
    if (run_wake_ != nullptr) run_wake_->cancel();
    for (auto& w : stop_waiters_) {
      defer([self = shared_from_this(), w = std::move(w)] {
        StopReport r;
        self->collect_report(r);
        w(r);
      });
    }
    stop_waiters_.clear();
  }

  void abandon_locked(const ChildPtr& c, Duration waited) {
    Child::Cold& cold = c->cold();
    if (cold.heap_signal) {
      retired_signals_.emplace(std::make_pair(c.get(), c->gen), std::move(cold.heap_signal));
    }
    cold.heap_signal = std::make_unique<asio::cancellation_signal>();
    c->signal = cold.heap_signal.get();
    c->live = false;
    c->abandoned = true;
    cold.last_error = "ignored cancellation for " + core::format_duration(waited) +
                      " (shutdown timeout " + core::format_duration(c->shutdown_timeout) +
                      "); abandoned";
    set_state_locked(c, TaskState::kFailed);
    report_.abandoned.push_back(
        AbandonedTask{.path = task_path(*c), .metadata = c->metadata, .waited = waited});
    defer_log_locked(LogLevel::kError, "task " + task_path(*c) + " did not stop within " +
                                           core::format_duration(c->shutdown_timeout) +
                                           " of cancellation; abandoned after " +
                                           core::format_duration(waited) + " (metadata " +
                                           format_metadata(c->metadata) + ")");
    if (observer_ != nullptr) {
      defer([self = shared_from_this(), c, waited] {
        self->observer_->on_abandoned(TaskRef{self->path_, c->name, c->metadata}, waited);
      });
    }
  }

  void begin_phase_locked(std::vector<ChildPtr> order, std::function<void()> on_done) {
    phase_.emplace();
    phase_->order = std::move(order);
    phase_->on_done = std::move(on_done);
  }

  void arm_phase_timer_locked() {
    if (!phase_ || !phase_->deadline) return;
    if (phase_timer_at_ && *phase_timer_at_ <= *phase_->deadline) return;
    if (phase_timer_) phase_timer_->cancel();
    phase_timer_at_ = *phase_->deadline;
    const Duration delay = std::max(Duration::zero(), *phase_->deadline - time_->monotonic_now());
    std::weak_ptr<SupervisorCore> weak = shared_from_this();
    phase_timer_ = time_->schedule(ex_, delay, [weak] {
      if (auto self = weak.lock()) self->on_phase_timer();
    });
  }

  void cancel_phase_timer_locked() {
    if (phase_timer_) phase_timer_->cancel();
    phase_timer_.reset();
    phase_timer_at_.reset();
  }

  void cancel_backoff_timers_locked() {
    for (auto& [token, timer] : backoff_timers_) timer->cancel();
    backoff_timers_.clear();
  }

  void cancel_timers_locked() {
    cancel_backoff_timers_locked();
    cancel_phase_timer_locked();
  }

  // ---- immutable after construction --------------------------------------------------------
  const asio::any_io_executor ex_;
  const asio::io_context::executor_type* io_ex_ = nullptr;  // ex_'s target, when it is one
  const asio::strand<asio::io_context::executor_type>* strand_ex_ = nullptr;
  const std::string path_;
  const std::string name_;
  const Strategy strategy_;
  const int intensity_;
  const Duration period_;
  const AutoShutdown auto_shutdown_;
  TimeSource* const time_;
  Observer* const observer_;
  const LogFn log_;

  // ---- guarded by mu_ ----------------------------------------------------------------------
  mutable Mutex mu_;
  std::mt19937_64 rng_;
  SupervisorState state_ = SupervisorState::kIdle;
  bool accepting_ = true;
  bool escalated_ = false;
  bool immediate_ = false;
  bool detached_ = false;
  bool stopped_before_run_ = false;
  std::string last_error_;
  ChildList children_;  // start order; removed children leave it with their last pin
  ChildPool pool_;
  std::uint64_t run_seq_ = 0;  // run generations, unique within this supervisor
  std::size_t pins_ = 0;       // sum of Child::pins
  // This core's reference to itself: set while records are pinned or until detach(), so that
  // raw pointers held by handlers stay valid without per-task reference counting.
  std::shared_ptr<SupervisorCore> keepalive_;
  std::uint64_t auto_names_ = 0;
  StateCounts counts_{};
  std::deque<Duration> window_;  // monotonic times of recent restarts
  std::uint64_t restarts_total_ = 0;
  StopReport report_;
  std::deque<GroupOp> ops_;
  bool op_running_ = false;
  std::optional<Phase> phase_;
  TimerHandle phase_timer_;
  std::optional<Duration> phase_timer_at_;
  std::map<std::uint64_t, TimerHandle> backoff_timers_;
  std::uint64_t next_token_ = 0;
  asio::steady_timer* run_wake_ = nullptr;  // the running run()'s wake-up timer
  std::vector<std::function<void(const StopReport&)>> stop_waiters_;
  std::map<std::pair<const Child*, std::uint64_t>, std::unique_ptr<asio::cancellation_signal>>
      retired_signals_;
  std::vector<std::function<void()>> deferred_;
  std::atomic<bool> has_deferred_{false};
};

namespace {

asio::awaitable<void> run_core(std::shared_ptr<SupervisorCore> core) {
  // Cancellation is a request to stop gracefully, handled below; it must not make the next
  // co_await throw before the children have stopped.
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer wake(co_await asio::this_coro::executor,
                          asio::steady_timer::time_point::max());
  if (auto started = core->begin_run(&wake); !started) {
    throw std::logic_error(started.error().message);
  }
  bool stop_requested = false;
  for (;;) {
    if (core->run_finished(&wake)) break;
    const asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
    if (!stop_requested && cs.cancelled() != asio::cancellation_type::none) {
      // The awaiting coroutine (a parent supervisor, the runner) was cancelled: stop
      // gracefully and complete only once every child has stopped.
      stop_requested = true;
      core->stop_here(StopMode::kGraceful, "cancelled by its parent");
      continue;
    }
    co_await wake.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  if (core->escalated()) throw SupervisorFailed(core->failure());
}

}  // namespace
}  // namespace detail

Supervisor::Supervisor(asio::any_io_executor executor, SupervisorOptions options) {
  std::string path = options.name;
  core_ = std::make_shared<detail::SupervisorCore>(std::move(executor), std::move(options),
                                                   std::move(path));
}

Supervisor::Supervisor(std::shared_ptr<detail::SupervisorCore> core) : core_(std::move(core)) {}

Supervisor::~Supervisor() {
  core_->detach();
  std::lock_guard lk(nested_mu_);
  nested_.clear();
}

core::Result<std::string> Supervisor::spawn(ChildSpec spec, TaskFactory factory) {
  return core_->add_child(std::move(spec), std::move(factory), nullptr);
}

core::Result<Supervisor*> Supervisor::spawn_supervisor(ChildSpec spec, SupervisorOptions options) {
  if (spec.name.empty()) {
    return core::fail("invalid_child_spec", "a nested supervisor needs a name");
  }
  if (spec.name.find('/') != std::string::npos) {
    return core::fail("invalid_child_spec",
                      "supervisor '" + spec.name + "': name must not contain '/'");
  }
  options.name = spec.name;
  if (options.time == nullptr) options.time = &core_->time();
  if (options.observer == nullptr) options.observer = core_->observer();
  if (!options.log) options.log = core_->log();
  if (!options.seed) options.seed = core_->next_seed();
  auto nested = std::make_shared<detail::SupervisorCore>(core_->executor(), std::move(options),
                                                         core_->path() + "/" + spec.name);
  auto c = core_->add_child(
      std::move(spec), [nested]() { return detail::run_core(nested); }, nested);
  if (!c) return std::unexpected(c.error());
  std::lock_guard lk(nested_mu_);
  nested_.push_back(std::unique_ptr<Supervisor>(new Supervisor(std::move(nested))));
  return nested_.back().get();
}

asio::awaitable<void> Supervisor::run() { return detail::run_core(core_); }

void Supervisor::start() {
  asio::co_spawn(core_->executor(), detail::run_core(core_), [core = core_](std::exception_ptr e) {
    if (e) core->log_run_failure(e);
  });
}

void Supervisor::request_stop(StopMode mode) {
  core_->request_stop(mode, mode == StopMode::kImmediate ? "stop now requested" : "stop requested");
}

void Supervisor::async_stop(std::function<void(const StopReport&)> done, StopMode mode) {
  core_->async_stop(std::move(done), mode);
}

SupervisionSnapshot Supervisor::describe() const {
  SupervisionSnapshot s;
  s.observed_at = core_->time().now();
  core_->describe_into(s, core_->time().monotonic_now());
  return s;
}

SupervisorState Supervisor::state() const { return core_->state(); }

StateCounts Supervisor::state_counts() const {
  StateCounts counts{};
  core_->add_counts(counts);
  return counts;
}

StopReport Supervisor::last_stop_report() const {
  StopReport r;
  core_->collect_report(r);
  return r;
}

const std::string& Supervisor::path() const { return core_->path(); }

const asio::any_io_executor& Supervisor::executor() const { return core_->executor(); }

TimeSource& Supervisor::time() const { return core_->time(); }

}  // namespace opsready::supervise
