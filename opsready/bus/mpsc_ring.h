#pragma once
// MpscRing<T>: a bounded, lock-free multi-producer / single-consumer queue of T slots. It is
// Dmitry Vyukov's bounded queue (one sequence number per slot) with the consumer side reduced
// to a plain counter, because only one thread ever pops.
//
//   MpscRing<Item> ring(1024);                        // capacity rounded up to a power of two
//   bool ok = ring.try_push_with([&](Item& slot) { slot = make_item(); });  // any thread
//   while (Item* item = ring.front()) { use(*item); *item = {}; ring.pop(); } // consumer only
//
// A producer claims a slot with one CAS on the tail, writes it in place and publishes it with a
// release store of the slot's sequence; no allocation, no lock. The consumer reads slots in
// claim order and releases them one lap ahead. Slots keep their T between uses, so the consumer
// should reset a value it is done with before pop() (that is what frees its memory).
//
// Thread-safety: try_push_with(), tail() and capacity() from any thread; front(), pop(), head()
// and publish_head() from the one consumer thread; published_head() from any thread.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace opsready::bus {

template <typename T>
class MpscRing {
 public:
  explicit MpscRing(std::size_t min_capacity)
      : capacity_(std::bit_ceil(min_capacity < 2 ? std::size_t{2} : min_capacity)),
        mask_(capacity_ - 1),
        slots_(std::make_unique<Slot[]>(capacity_)) {
    for (std::size_t i = 0; i < capacity_; ++i) {
      slots_[i].seq.store(i, std::memory_order_relaxed);
    }
  }
  MpscRing(const MpscRing&) = delete;
  MpscRing& operator=(const MpscRing&) = delete;

  [[nodiscard]] std::size_t capacity() const { return capacity_; }

  // Claims the next slot and calls write(T&) on it before publishing it to the consumer.
  // Returns false, without calling write, when the ring is full. The claim is sequentially
  // consistent so that a consumer that announces it is going to sleep and then reads tail()
  // cannot miss it (see InProcessBus).
  template <typename Write>
  [[nodiscard]] bool try_push_with(Write&& write) {
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    while (true) {
      Slot& slot = slots_[pos & mask_];
      const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::int64_t>(seq - pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          write(slot.value);
          slot.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // the slot still holds an item from the previous lap
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // Consumer only: the head item once its producer has published it, else null (empty, or a
  // producer is between its claim and its publish).
  [[nodiscard]] T* front() {
    Slot& slot = slots_[head_ & mask_];
    return slot.seq.load(std::memory_order_acquire) == head_ + 1 ? &slot.value : nullptr;
  }
  // Consumer only: releases the head slot to producers of the next lap.
  void pop() {
    slots_[head_ & mask_].seq.store(head_ + capacity_, std::memory_order_release);
    ++head_;
  }
  // Consumer only: makes head() visible to published_head() readers.
  void publish_head() { head_published_.store(head_, std::memory_order_seq_cst); }

  // Slots ever claimed (any thread).
  [[nodiscard]] std::uint64_t tail() const { return tail_.load(std::memory_order_seq_cst); }
  // Consumer only.
  [[nodiscard]] std::uint64_t head() const { return head_; }
  // The consumer's position as of its last publish_head() (any thread).
  [[nodiscard]] std::uint64_t published_head() const {
    return head_published_.load(std::memory_order_seq_cst);
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> seq{0};
    T value{};
  };

  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  // Producers hammer tail_, the consumer owns head_: keep them on separate cache lines.
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) std::uint64_t head_ = 0;
  std::atomic<std::uint64_t> head_published_{0};
};

}  // namespace opsready::bus
