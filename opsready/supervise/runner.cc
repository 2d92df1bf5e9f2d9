#include "opsready/supervise/runner.h"

#include <exception>
#include <map>
#include <system_error>
#include <utility>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>

#include "opsready/core/time.h"

namespace opsready::supervise {

std::string_view to_string(StopCause c) {
  switch (c) {
    case StopCause::kNone:
      return "none";
    case StopCause::kCompleted:
      return "completed";
    case StopCause::kFailed:
      return "failed";
    case StopCause::kSignal:
      return "signal";
    case StopCause::kTimeout:
      return "timeout";
    case StopCause::kRequested:
      return "requested";
    case StopCause::kForced:
      return "forced";
  }
  return "unknown";
}

std::string_view to_string(CallbackResult::Outcome o) {
  switch (o) {
    case CallbackResult::Outcome::kOk:
      return "ok";
    case CallbackResult::Outcome::kFailed:
      return "failed";
    case CallbackResult::Outcome::kTimedOut:
      return "timed_out";
    case CallbackResult::Outcome::kSkipped:
      return "skipped";
  }
  return "unknown";
}

namespace {

std::string signal_name(int signo) {
  switch (signo) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "signal " + std::to_string(signo);
  }
}

std::string describe_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

std::string RunReport::summary() const {
  std::size_t ok = 0;
  for (const auto& c : callbacks) ok += c.outcome == CallbackResult::Outcome::kOk ? 1 : 0;
  std::string s = "runtime stopped: cause=" + std::string(to_string(cause));
  if (signal) s += " signal=" + signal_name(*signal);
  if (forced_by) s += " forced_by=" + signal_name(*forced_by);
  if (drain_expired) s += " drain_expired=true";
  s += " abandoned_tasks=" + std::to_string(stop.abandoned.size());
  s += " callbacks_ok=" + std::to_string(ok) + "/" + std::to_string(callbacks.size());
  s += " exit_code=" + std::to_string(exit_code);
  if (!failure.empty()) s += " failure=\"" + failure + "\"";
  return s;
}

namespace detail {

// Everything the runner's handlers touch. Shared with them, so a handler that outlives the
// RuntimeRunner (an abandoned callback ending late) finds valid memory. Touched only on the
// io_context's thread.
class RunnerState : public std::enable_shared_from_this<RunnerState> {
 public:
  struct Callback {
    std::string name;
    ShutdownCallback fn;
    Duration limit{};
  };

  RunnerState(asio::io_context& ctx, Supervisor& root, RunnerOptions opts)
      : ctx_(ctx),
        root_(root),
        opts_(std::move(opts)),
        time_(opts_.time != nullptr ? opts_.time : &root.time()),
        log_(opts_.log ? opts_.log : LogFn(&stderr_log)) {}

  void add_callback(std::string name, ShutdownCallback fn, std::optional<Duration> limit) {
    callbacks_.push_back(
        Callback{std::move(name), std::move(fn), limit.value_or(opts_.callback_limit)});
  }

  void start() {
    if (started_) return;
    started_ = true;
    auto self = shared_from_this();
    if (opts_.handle_signals) {
      signals_.emplace(ctx_, SIGINT, SIGTERM);
      arm_signals();
    }
    if (opts_.timeout) {
      std::weak_ptr<RunnerState> weak = self;
      timeout_timer_ = time_->schedule(ctx_.get_executor(), *opts_.timeout, [weak] {
        if (auto s = weak.lock()) s->on_timeout();
      });
    }
    asio::co_spawn(ctx_, root_.run(), [self](std::exception_ptr e) { self->on_root_exit(e); });
  }

  void request_stop() {
    asio::post(ctx_, [self = shared_from_this()] {
      if (!self->finished_) self->begin(StopCause::kRequested);
    });
  }

  // The event loop ended before the runner did (someone stopped the io_context).
  void abort_unfinished() {
    if (finished_) return;
    report_.failure = "the event loop stopped before the shutdown completed";
    finish();
  }

  // Stops waiting for signals but keeps them registered, so a late signal is swallowed instead
  // of killing the process; ~RuntimeRunner unregisters them.
  void close() {
    if (signals_) {
      std::error_code ec;
      signals_->cancel(ec);
    }
    if (timeout_timer_) timeout_timer_->cancel();
    timeout_timer_.reset();
    if (drain_timer_) drain_timer_->cancel();
    drain_timer_.reset();
    if (cb_timer_) cb_timer_->cancel();
    cb_timer_.reset();
  }

  void release_signals() {
    close();
    signals_.reset();
  }

  bool finished() const { return finished_; }
  const RunReport& report() const { return report_; }

 private:
  void arm_signals() {
    signals_->async_wait([self = shared_from_this()](std::error_code ec, int signo) {
      if (ec) return;
      self->on_signal(signo);
    });
  }

  void on_signal(int signo) {
    if (finished_) return;
    if (++signals_seen_ == 1) {
      report_.signal = signo;
      log_(LogLevel::kWarn, "received " + signal_name(signo) +
                                ": stopping gracefully (send SIGINT or SIGTERM again to stop "
                                "immediately)");
      begin(StopCause::kSignal);
    } else {
      report_.forced_by = signo;
      log_(LogLevel::kWarn, "received " + signal_name(signo) + " again: stopping now");
      force();
    }
    if (!finished_) arm_signals();
  }

  // The graceful shutdown has begun (steps 2-3): bound it by the drain timeout.
  void arm_drain_timer() {
    if (!opts_.drain_timeout || drain_timer_ || finished_) return;
    std::weak_ptr<RunnerState> weak = shared_from_this();
    drain_timer_ = time_->schedule(ctx_.get_executor(), *opts_.drain_timeout, [weak] {
      if (auto s = weak.lock()) s->on_drain_timeout();
    });
  }

  void on_drain_timeout() {
    drain_timer_.reset();
    if (finished_ || forced_) return;
    log_(LogLevel::kError, "shutdown exceeded its drain timeout of " +
                               core::format_duration(*opts_.drain_timeout) + ": stopping now");
    report_.drain_expired = true;
    stop_now();
  }

  void on_timeout() {
    timeout_timer_.reset();
    if (finished_ || report_.cause != StopCause::kNone) return;
    log_(LogLevel::kWarn, "overall timeout of " + core::format_duration(*opts_.timeout) +
                              " reached: stopping gracefully");
    begin(StopCause::kTimeout);
  }

  // Graceful shutdown; the first cause wins.
  void begin(StopCause cause) {
    if (report_.cause != StopCause::kNone) return;
    report_.cause = cause;
    cancel_timeout();
    arm_drain_timer();
    root_.request_stop(StopMode::kGraceful);
  }

  // A second signal.
  void force() {
    if (forced_) return;
    report_.cause = StopCause::kForced;
    stop_now();
  }

  // Cancels every task without waiting, abandons the running callback, skips the rest.
  void stop_now() {
    if (forced_) return;
    forced_ = true;
    cancel_timeout();
    root_.request_stop(StopMode::kImmediate);
    if (cb_running_) {
      log_(LogLevel::kWarn,
           "shutdown callback " + callbacks_[cb_next_].name + " abandoned: stopped now");
      abandon_callback(CallbackResult::Outcome::kSkipped, "abandoned: stopped now");
    }
    if (root_done_) next_callback();  // skips what is left, then finishes
  }

  void on_root_exit(std::exception_ptr e) {
    root_done_ = true;
    cancel_timeout();
    if (e) {
      report_.failure = describe_exception(e);
      log_(LogLevel::kError, "workload failed: " + report_.failure);
      if (report_.cause == StopCause::kNone) report_.cause = StopCause::kFailed;
    } else if (report_.cause == StopCause::kNone) {
      report_.cause = StopCause::kCompleted;
    }
    report_.stop = root_.last_stop_report();
    arm_drain_timer();  // the root may have stopped by itself: the callbacks still drain
    if (callbacks_started_) return;
    callbacks_started_ = true;
    cb_next_ = callbacks_.size();
    next_callback();
  }

  // Runs the next callback (reverse registration order), or finishes.
  void next_callback() {
    if (cb_running_) return;
    if (forced_) {
      while (cb_next_ > 0) {
        const auto& cb = callbacks_[--cb_next_];
        report_.callbacks.push_back(
            {cb.name, CallbackResult::Outcome::kSkipped, "skipped: stopped now"});
        log_(LogLevel::kWarn, "shutdown callback " + cb.name + " skipped: stopped now");
      }
      finish();
      return;
    }
    if (cb_next_ == 0) {
      finish();
      return;
    }
    Callback& cb = callbacks_[--cb_next_];
    const std::uint64_t epoch = ++cb_epoch_;
    cb_running_ = true;
    asio::awaitable<void> run;
    try {
      run = cb.fn();
    } catch (...) {
      on_callback_done(epoch, std::current_exception());
      return;
    }
    cb_signal_ = std::make_unique<asio::cancellation_signal>();
    std::weak_ptr<RunnerState> weak = shared_from_this();
    cb_timer_ = time_->schedule(ctx_.get_executor(), cb.limit, [weak, epoch] {
      if (auto s = weak.lock()) s->on_callback_timeout(epoch);
    });
    asio::co_spawn(ctx_, std::move(run),
                   asio::bind_cancellation_slot(cb_signal_->slot(), [self = shared_from_this(),
                                                                     epoch](std::exception_ptr e) {
                     self->on_callback_done(epoch, e);
                   }));
  }

  void on_callback_done(std::uint64_t epoch, std::exception_ptr e) {
    if (epoch != cb_epoch_ || !cb_running_) {
      retired_.erase(epoch);  // an abandoned callback ended after all
      return;
    }
    cb_running_ = false;
    if (cb_timer_) cb_timer_->cancel();
    cb_timer_.reset();
    const auto& cb = callbacks_[cb_next_];
    if (e) {
      const std::string msg = describe_exception(e);
      report_.callbacks.push_back({cb.name, CallbackResult::Outcome::kFailed, msg});
      log_(LogLevel::kError, "shutdown callback " + cb.name + " failed: " + msg);
    } else {
      report_.callbacks.push_back({cb.name, CallbackResult::Outcome::kOk, {}});
      log_(LogLevel::kInfo, "shutdown callback " + cb.name + " done");
    }
    next_callback();
  }

  void on_callback_timeout(std::uint64_t epoch) {
    if (epoch != cb_epoch_ || !cb_running_) return;
    const auto& cb = callbacks_[cb_next_];
    const std::string msg = "exceeded its limit of " + core::format_duration(cb.limit);
    log_(LogLevel::kError, "shutdown callback " + cb.name + " " + msg + "; abandoned");
    abandon_callback(CallbackResult::Outcome::kTimedOut, msg);
    next_callback();
  }

  // Records the running callback as `outcome`, cancels it and stops waiting for it.
  void abandon_callback(CallbackResult::Outcome outcome, std::string msg) {
    cb_running_ = false;
    if (cb_timer_) cb_timer_->cancel();
    cb_timer_.reset();
    report_.callbacks.push_back({callbacks_[cb_next_].name, outcome, std::move(msg)});
    asio::cancellation_signal* sig = cb_signal_.get();
    retired_.emplace(cb_epoch_, std::move(cb_signal_));  // must outlive the coroutine
    sig->emit(asio::cancellation_type::terminal);
  }

  void cancel_timeout() {
    if (timeout_timer_) timeout_timer_->cancel();
    timeout_timer_.reset();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    close();
    bool incomplete = report_.drain_expired || !report_.stop.abandoned.empty();
    for (const auto& c : report_.callbacks) {
      incomplete = incomplete || c.outcome != CallbackResult::Outcome::kOk;
    }
    if (report_.forced_by) {
      report_.exit_code = exit_code::kForced;
    } else if (!report_.failure.empty()) {
      report_.exit_code = exit_code::kFailed;
    } else if (incomplete) {
      report_.exit_code = exit_code::kIncomplete;
    } else if (report_.cause == StopCause::kTimeout) {
      report_.exit_code = exit_code::kTimeout;
    } else {
      report_.exit_code = exit_code::kOk;
    }
    log_(report_.exit_code == exit_code::kOk ? LogLevel::kInfo : LogLevel::kWarn,
         report_.summary());
  }

  asio::io_context& ctx_;
  Supervisor& root_;
  RunnerOptions opts_;
  TimeSource* time_;
  LogFn log_;
  std::vector<Callback> callbacks_;
  std::optional<asio::signal_set> signals_;
  TimerHandle timeout_timer_;
  TimerHandle drain_timer_;
  bool started_ = false;
  bool root_done_ = false;
  bool callbacks_started_ = false;
  bool finished_ = false;
  bool forced_ = false;
  int signals_seen_ = 0;
  std::size_t cb_next_ = 0;  // callbacks_[cb_next_] is the current one; lower ones follow
  std::uint64_t cb_epoch_ = 0;
  bool cb_running_ = false;
  std::unique_ptr<asio::cancellation_signal> cb_signal_;
  TimerHandle cb_timer_;
  std::map<std::uint64_t, std::unique_ptr<asio::cancellation_signal>> retired_;
  RunReport report_;
};

}  // namespace detail

RuntimeRunner::RuntimeRunner(asio::io_context& ctx, Supervisor& root, RunnerOptions options)
    : ctx_(ctx), state_(std::make_shared<detail::RunnerState>(ctx, root, std::move(options))) {}

RuntimeRunner::~RuntimeRunner() { state_->release_signals(); }

void RuntimeRunner::on_shutdown(std::string name, ShutdownCallback callback,
                                std::optional<Duration> limit) {
  state_->add_callback(std::move(name), std::move(callback), limit);
}

void RuntimeRunner::start() { state_->start(); }

RunReport RuntimeRunner::run() {
  start();
  if (ctx_.stopped()) ctx_.restart();
  while (!state_->finished()) {
    if (ctx_.run_one() == 0) break;
  }
  state_->abort_unfinished();
  return state_->report();
}

void RuntimeRunner::request_stop() { state_->request_stop(); }

bool RuntimeRunner::finished() const { return state_->finished(); }

const RunReport& RuntimeRunner::report() const { return state_->report(); }

}  // namespace opsready::supervise
