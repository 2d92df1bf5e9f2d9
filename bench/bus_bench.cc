// Event-bus throughput: in-process publish -> handler (goal >= 5 M events/s on one core), and
// NATS JetStream publish -> durable consumer -> in-process bus -> handler, against a
// nats-server the benchmark starts itself (skipped when nats-server is not installed).
//
//   cmake --preset release && cmake --build --preset release --target bus_bench
//   ./build/release/bench/bus_bench
//
// Each iteration publishes a batch and waits until every event of it reached its handler
// (flush), so items_per_second is end-to-end publish -> handler throughput, not the rate at
// which the queue fills. The "/1cpu" variants pin the producer and the dispatch thread to one
// CPU: the single-core figure. The others let the two threads run on two CPUs.

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "opsready/bus/failover_publisher.h"
#include "opsready/bus/in_process_bus.h"
#include "opsready/bus/nats_bus.h"
#include "opsready/bus/spool.h"
#include "tests/integration/nats/nats_server.h"

namespace opsready::bus {
namespace {

using core::TelemetryEvent;

constexpr int kBatch = 65536;

TelemetryEvent sample(int i) {
  return TelemetryEvent{"telemetry.operational.readiness",
                        "bench-" + std::to_string(i % 8),
                        core::TimePoint(std::chrono::seconds(1735689600 + i)),
                        {{"series", "ingest.lag_seconds"}, {"value", 0.25 * i}}};
}

// Pins the calling thread to one CPU (the first it may run on); restores the old mask on
// destruction.
class PinToOneCpu {
 public:
  PinToOneCpu() {
    pthread_getaffinity_np(pthread_self(), sizeof old_, &old_);
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &old_)) {
        cpu_ = c;
        break;
      }
    }
    pin_current_thread(cpu_);
  }
  ~PinToOneCpu() { pthread_setaffinity_np(pthread_self(), sizeof old_, &old_); }
  [[nodiscard]] int cpu() const { return cpu_; }
  static void pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }

 private:
  cpu_set_t old_{};
  int cpu_ = 0;
};

// Publishes `events` (by the given publish function), retrying when the queue is full, then
// waits for the handlers. Returns the retries.
template <typename Publish>
std::uint64_t publish_batch(InProcessBus& bus, int n, Publish&& publish) {
  std::uint64_t retries = 0;
  for (int i = 0; i < n; ++i) {
    while (!publish(i)) {
      ++retries;
      std::this_thread::yield();
    }
  }
  bus.flush();
  return retries;
}

struct InProcessSetup {
  explicit InProcessSetup(int subscribers, bool one_cpu) {
    if (one_cpu) pin.emplace();
    for (int s = 0; s < subscribers; ++s) {
      subs.push_back(bus.subscribe("telemetry.operational.*",
                                   [this](const TelemetryEvent& e) {
                                     handled +=
                                         e.payload.size();  // touch the event, as a handler would
                                   })
                         .value());
    }
    if (one_cpu) {
      const int cpu = pin->cpu();
      pin_sub =
          bus.subscribe("bench.pin",
                        [cpu](const TelemetryEvent&) { PinToOneCpu::pin_current_thread(cpu); })
              .value();
    }
    bus.start();
    if (one_cpu) {
      (void)bus.publish(TelemetryEvent{"bench.pin", "", {}, {}});
      bus.flush();
    }
  }
  ~InProcessSetup() { bus.stop(); }

  std::optional<PinToOneCpu> pin;
  InProcessBus bus{{.queue_capacity = 65536}};
  std::vector<Subscription> subs;
  Subscription pin_sub;
  std::uint64_t handled = 0;  // dispatch thread only; read after flush()
};

// The zero-copy path: immutable events shared with the bus (a refcount, no allocation).
void BM_InProcessSharedEvent(benchmark::State& state) {
  const bool one_cpu = state.range(0) == 1;
  InProcessSetup setup(1, one_cpu);
  std::vector<std::shared_ptr<const TelemetryEvent>> pool;
  for (int i = 0; i < 1024; ++i) pool.push_back(std::make_shared<const TelemetryEvent>(sample(i)));
  std::uint64_t retries = 0;
  for (auto _ : state) {
    retries += publish_batch(setup.bus, kBatch,
                             [&](int i) { return setup.bus.publish(pool[i & 1023]).delivered(); });
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["queue_full_retries"] = static_cast<double>(retries);
  benchmark::DoNotOptimize(setup.handled);
}
BENCHMARK(BM_InProcessSharedEvent)->Arg(0)->Arg(1)->ArgName("1cpu")->UseRealTime();

// The producer builds each event and moves it in (allocation of topic, source and payload
// included: what an ingest path pays).
void BM_InProcessMoveFreshEvent(benchmark::State& state) {
  const bool one_cpu = state.range(0) == 1;
  InProcessSetup setup(1, one_cpu);
  std::uint64_t retries = 0;
  for (auto _ : state) {
    retries += publish_batch(setup.bus, kBatch, [&](int i) {
      TelemetryEvent e = sample(i);
      return setup.bus.publish(std::move(e)).delivered();
    });
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["queue_full_retries"] = static_cast<double>(retries);
}
BENCHMARK(BM_InProcessMoveFreshEvent)->Arg(0)->Arg(1)->ArgName("1cpu")->UseRealTime();

// Baseline for the row above: building and destroying the event alone, no bus.
void BM_ConstructEventOnly(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    TelemetryEvent e = sample(i++);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConstructEventOnly);

// publish(const TelemetryEvent&): the bus copies the event.
void BM_InProcessCopyEvent(benchmark::State& state) {
  InProcessSetup setup(1, state.range(0) == 1);
  const TelemetryEvent e = sample(1);
  for (auto _ : state) {
    publish_batch(setup.bus, kBatch, [&](int) { return setup.bus.publish(e).delivered(); });
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_InProcessCopyEvent)->Arg(0)->Arg(1)->ArgName("1cpu")->UseRealTime();

// Fan-out: four matching subscribers per event (items = events, not handler calls).
void BM_InProcessFanOut4(benchmark::State& state) {
  InProcessSetup setup(4, state.range(0) == 1);
  std::vector<std::shared_ptr<const TelemetryEvent>> pool;
  for (int i = 0; i < 1024; ++i) pool.push_back(std::make_shared<const TelemetryEvent>(sample(i)));
  for (auto _ : state) {
    publish_batch(setup.bus, kBatch,
                  [&](int i) { return setup.bus.publish(pool[i & 1023]).delivered(); });
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_InProcessFanOut4)->Arg(0)->Arg(1)->ArgName("1cpu")->UseRealTime();

// ---- spool --------------------------------------------------------------------------------

// How fast the spool absorbs events during an outage, per fsync policy (0 always, 1 interval,
// 2 never), on the file system of $TMPDIR (ext4 on a virtual disk here), then replays them.
void BM_SpoolAppendThenReplay(benchmark::State& state) {
  const auto policy = static_cast<FsyncPolicy>(state.range(0));
  const auto dir = std::filesystem::temp_directory_path() /
                   ("opsready-spool-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto spool = Spool::open(dir, {.fsync = policy});
  if (!spool) {
    state.SkipWithError(spool.error().message.c_str());
    return;
  }
  const TelemetryEvent e = sample(7);
  const int n = policy == FsyncPolicy::kAlways ? 200 : 5000;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      if (!(*spool)->append("bench-id-" + std::to_string(i), e)) state.SkipWithError("append");
    }
    while (true) {
      auto rec = (*spool)->front();
      if (!rec || !*rec) break;
      (void)(*spool)->pop_front();
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
  spool->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SpoolAppendThenReplay)->Arg(0)->Arg(1)->Arg(2)->ArgName("fsync")->UseRealTime();

// ---- NATS -----------------------------------------------------------------------------------

// One nats-server for the whole run, started on first use from the main thread (the one that
// runs benchmarks) and stopped at exit. shutdown_nats_library() is not called here: from a
// static destructor it would run after libnats's own exit-time cleanup.
class BenchServer {
 public:
  static BenchServer& get() {
    static BenchServer server;
    return server;
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::string url() const { return process_->url(); }
  std::string next_name() { return "bench" + std::to_string(++runs_); }

 private:
  BenchServer() {
    dir_ = std::filesystem::temp_directory_path() /
           ("opsready-bus-bench-" + std::to_string(::getpid()));
    process_ = std::make_unique<nats_testing::NatsServerProcess>(dir_);
    ok_ = process_->start(&error_);
  }
  ~BenchServer() {
    process_->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
  std::unique_ptr<nats_testing::NatsServerProcess> process_;
  bool ok_ = false;
  std::string error_;
  int runs_ = 0;
};

// One fresh stream per benchmark run, so a new durable consumer starts on an empty stream.
std::unique_ptr<NatsBus> bench_bus(BenchServer& server) {
  const std::string name = server.next_name();
  NatsBusOptions o;
  o.servers = {server.url()};
  o.stream = "BENCH_" + name;
  o.subject_prefix = name + ".events";
  o.duplicate_window = std::chrono::seconds(10);
  auto bus = NatsBus::connect(o);
  if (!bus) return nullptr;
  for (int i = 0; i < 500 && !(*bus)->connected(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!(*bus)->ensure_stream()) return nullptr;
  return std::move(*bus);
}

void wait_for(const std::atomic<std::uint64_t>& count, std::uint64_t target) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count.load(std::memory_order_relaxed) < target &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Publish (pipelined, acks awaited per batch) -> JetStream -> durable pull consumer -> the
// in-process bus -> handler: events through opsready end to end.
void BM_NatsPipelinedToInProcessHandler(benchmark::State& state) {
  BenchServer& server = BenchServer::get();
  if (!server.ok()) {
    state.SkipWithError(("no nats-server: " + server.error()).c_str());
    return;
  }
  auto bus = bench_bus(server);
  if (!bus) {
    state.SkipWithError("cannot connect to the bench nats-server");
    return;
  }
  const int batch = static_cast<int>(state.range(0));
  InProcessBus local;
  std::atomic<std::uint64_t> handled{0};
  auto sub = local
                 .subscribe("telemetry.>",
                            [&](const TelemetryEvent&) {
                              handled.fetch_add(1, std::memory_order_relaxed);
                            })
                 .value();
  local.start();
  auto consumer = bus->consumer({.durable = "bench", .filter = "telemetry.>", .batch = 512},
                                [&](const TelemetryEvent& e) { (void)local.publish(e); })
                      .value();
  consumer->start();
  std::vector<TelemetryEvent> events;
  for (int i = 0; i < batch; ++i) events.push_back(sample(i));
  std::uint64_t sent = 0, failed = 0;
  for (auto _ : state) {
    const PipelineResult r = bus->publish_pipelined(events);
    failed += r.failed;
    sent += r.acked;
    wait_for(handled, sent);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(sent));
  state.counters["failed"] = static_cast<double>(failed);
  consumer->stop();
  local.stop();
}
BENCHMARK(BM_NatsPipelinedToInProcessHandler)
    ->Arg(10000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Breakdown of the row above: pipelined publishing with every stream ack awaited, no consumer.
void BM_NatsPipelinedPublishOnly(benchmark::State& state) {
  BenchServer& server = BenchServer::get();
  if (!server.ok()) {
    state.SkipWithError(("no nats-server: " + server.error()).c_str());
    return;
  }
  auto bus = bench_bus(server);
  if (!bus) {
    state.SkipWithError("cannot connect to the bench nats-server");
    return;
  }
  std::vector<TelemetryEvent> events;
  for (int i = 0; i < state.range(0); ++i) events.push_back(sample(i));
  std::uint64_t sent = 0;
  for (auto _ : state) sent += bus->publish_pipelined(events).acked;
  state.SetItemsProcessed(static_cast<std::int64_t>(sent));
}
BENCHMARK(BM_NatsPipelinedPublishOnly)->Arg(10000)->UseRealTime()->Unit(benchmark::kMillisecond);

// The durable path: FailoverPublisher -> NatsBus::publish (one stream ack per event) ->
// durable consumer -> handler.
void BM_NatsFailoverPublisherToHandler(benchmark::State& state) {
  BenchServer& server = BenchServer::get();
  if (!server.ok()) {
    state.SkipWithError(("no nats-server: " + server.error()).c_str());
    return;
  }
  auto bus = bench_bus(server);
  if (!bus) {
    state.SkipWithError("cannot connect to the bench nats-server");
    return;
  }
  std::atomic<std::uint64_t> handled{0};
  auto consumer =
      bus->consumer({.durable = "bench", .filter = "telemetry.>", .batch = 512},
                    [&](const TelemetryEvent&) { handled.fetch_add(1, std::memory_order_relaxed); })
          .value();
  consumer->start();
  FailoverPublisher pub({bus.get()});  // no spool: the bus is up
  const int batch = static_cast<int>(state.range(0));
  std::vector<TelemetryEvent> events;
  for (int i = 0; i < batch; ++i) events.push_back(sample(i));
  std::uint64_t sent = 0;
  for (auto _ : state) {
    for (const auto& e : events) sent += pub.publish(e).has_value() ? 1 : 0;
    wait_for(handled, sent);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(sent));
  consumer->stop();
}
BENCHMARK(BM_NatsFailoverPublisherToHandler)
    ->Arg(2000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace opsready::bus
