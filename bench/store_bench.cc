// The dashboard's history strips (Store::component_buckets, GET /api/v1/components/history)
// with 1 000 components and 24 h of one snapshot a minute each (1.44 M snapshots): 96 buckets
// of 15 minutes, which migration 7's quarter-hour roll-up answers, beside 144 buckets of 10
// minutes, which only the snapshots can (the reader before the roll-up). The database is made
// once per run: the snapshots written with raw SQL in one transaction at schema 5, then opened
// by open_sqlite_store, whose migrations 6 and 7 build both roll-ups from them.
//   build/release/bench/store_bench --benchmark_filter=Buckets
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include <unistd.h>

#include "opsready/store/store.h"

namespace {

namespace fs = std::filesystem;
using opsready::core::TimePoint;

constexpr int kComponents = 1000;
constexpr int kMinutes = 24 * 60;
// 2025-01-01T00:00:00Z, a whole quarter hour (and day) since 1970.
const TimePoint kStart{std::chrono::seconds(1'735'689'600)};

// The store and its directory, removed at exit (the store closed first).
struct HistoryStore {
  fs::path dir;
  std::unique_ptr<opsready::store::Store> store;
  ~HistoryStore() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::unique_ptr<opsready::store::Store> make_history(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path file = dir / "opsready.db";
  {
    auto fresh = opsready::store::open_sqlite_store(file);
    if (!fresh) std::abort();
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) std::abort();
  sqlite3_exec(db, "DROP TABLE component_quarters; DROP TABLE component_days; BEGIN", nullptr,
               nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO component_snapshots (component, status, observed_at_ns, json)"
                     " VALUES (?1, ?2, ?3, '{}')",
                     -1, &st, nullptr);
  const auto start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(kStart.time_since_epoch()).count();
  for (int c = 0; c < kComponents; ++c) {
    char name[32];
    std::snprintf(name, sizeof name, "component_%04d", c);
    for (int m = 0; m < kMinutes; ++m) {
      // One in ten components warns for ten minutes of each hour, one in fifty fails.
      const char* status = (c % 50 == 0 && m % 60 < 5)    ? "fail"
                           : (c % 10 == 0 && m % 60 < 10) ? "warn"
                                                          : "ok";
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 3, start_ns + std::int64_t{m} * 60'000'000'000 + c);
      sqlite3_step(st);
      sqlite3_reset(st);
    }
  }
  sqlite3_finalize(st);
  sqlite3_exec(db, "COMMIT; PRAGMA user_version = 5", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto opened = opsready::store::open_sqlite_store(file);  // migrations 6 and 7
  if (!opened) std::abort();
  return std::move(*opened);
}

opsready::store::Store& history_store() {
  static HistoryStore h{.dir = fs::temp_directory_path() /
                               ("opsready-store-bench-" + std::to_string(::getpid()))};
  if (!h.store) h.store = make_history(h.dir);
  return *h.store;
}

void Buckets(benchmark::State& state, std::chrono::minutes width) {
  auto& store = history_store();
  const TimePoint until = kStart + std::chrono::hours(24);
  std::size_t rows = 0;
  for (auto _ : state) {
    auto buckets = store.component_buckets(until - std::chrono::hours(24), until, width);
    if (!buckets) state.SkipWithError(buckets.error().message.c_str());
    rows = buckets ? buckets->size() : 0;
    benchmark::DoNotOptimize(rows);
  }
  state.counters["buckets"] = static_cast<double>(rows);
}

void BM_Buckets24hOf15MinFromTheRollUp(benchmark::State& state) {
  Buckets(state, std::chrono::minutes(15));
}
void BM_Buckets24hOf10MinFromTheSnapshots(benchmark::State& state) {
  Buckets(state, std::chrono::minutes(10));
}
BENCHMARK(BM_Buckets24hOf15MinFromTheRollUp)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Buckets24hOf10MinFromTheSnapshots)->Unit(benchmark::kMillisecond);

}  // namespace
