#include "opsready/bus/mpsc_ring.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace opsready::bus {
namespace {

TEST(MpscRing, CapacityIsAPowerOfTwo) {
  EXPECT_EQ(MpscRing<int>(1).capacity(), 2u);
  EXPECT_EQ(MpscRing<int>(5).capacity(), 8u);
  EXPECT_EQ(MpscRing<int>(64).capacity(), 64u);
}

TEST(MpscRing, FillsRefusesWhenFullAndWrapsAround) {
  MpscRing<int> ring(4);
  for (int lap = 0; lap < 3; ++lap) {
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(ring.try_push_with([&](int& v) { v = lap * 10 + i; }));
    }
    bool called = false;
    EXPECT_FALSE(ring.try_push_with([&](int&) { called = true; }));
    EXPECT_FALSE(called) << "a full ring must not call the writer";
    for (int i = 0; i < 4; ++i) {
      int* v = ring.front();
      ASSERT_NE(v, nullptr);
      EXPECT_EQ(*v, lap * 10 + i);
      ring.pop();
    }
    EXPECT_EQ(ring.front(), nullptr);
  }
  EXPECT_EQ(ring.tail(), 12u);
  EXPECT_EQ(ring.head(), 12u);
  EXPECT_EQ(ring.published_head(), 0u);
  ring.publish_head();
  EXPECT_EQ(ring.published_head(), 12u);
}

TEST(MpscRing, ManyProducersKeepTheirOwnOrder) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20000;
  struct Item {
    int producer = -1;
    int seq = -1;
  };
  MpscRing<Item> ring(256);
  std::vector<std::jthread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&ring, p] {
      for (int i = 0; i < kPerProducer;) {
        if (ring.try_push_with([&](Item& it) { it = {p, i}; })) {
          ++i;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  std::vector<int> next(kProducers, 0);
  int received = 0;
  while (received < kProducers * kPerProducer) {
    Item* it = ring.front();
    if (it == nullptr) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_GE(it->producer, 0);
    EXPECT_EQ(it->seq, next[it->producer]) << "producer " << it->producer;
    next[it->producer] = it->seq + 1;
    *it = {};
    ring.pop();
    ++received;
  }
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
}

}  // namespace
}  // namespace opsready::bus
