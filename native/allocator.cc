// A caching CPU allocator for large blocks (≥ 128 KiB), installed as libtorch's CPU allocator.
//
// Why: with glibc's malloc, large tensor buffers come from the heap once its dynamic mmap
// threshold has risen, and the small native objects behind JavaScript tensor handles (freed
// only when the garbage collector runs) end up between them. Freed buffers then cannot be
// merged or returned, and a training loop's memory grows by hundreds of MB per step although
// no tensor leaks (measured: 50 calls of a 16 MB op grew RSS by 870 MB). Mapping every large
// block afresh fixes the growth but pays the kernel's page faults on every allocation (about 2×
// slower here). Keeping freed large blocks for reuse, as PyTorch's CUDA allocator does, avoids
// both: after the first iteration a loop reuses the same pages.
//
// Blocks of 128 KiB and more are anonymous mappings, rounded up to 64 KiB below 1 MiB and to
// 1 MiB above (at most ~1/3 of a block wasted); a freed block waits in a list for its exact size.
// Why from 128 KiB: glibc maps such blocks itself or returns the top of its heap to the kernel
// when they are freed, so every new one paid its page faults again: a 192 KB tensor made from a
// typed array took ~110 µs instead of ~10 (Firecracker VM), and the SIM fit makes two per candidate.
// The cache is bounded (RDL_CPU_CACHE_MB, default a quarter of physical memory up to 8 GiB); past
// the bound, or when a new mapping fails, cached blocks are unmapped.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace rdl {
namespace {

constexpr size_t kLargeBytes = size_t(128) << 10;
constexpr size_t kMediumRoundBytes = size_t(64) << 10;
constexpr size_t kRoundBytes = size_t(1) << 20;

size_t RoundedSize(size_t n) {
  size_t step = n < kRoundBytes ? kMediumRoundBytes : kRoundBytes;
  return (n + step - 1) / step * step;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* fallback) : fallback_(fallback) {
    const char* env = std::getenv("RDL_CPU_CACHE_MB");
    if (env != nullptr && *env != '\0') {
      limit_ = static_cast<size_t>(std::strtoull(env, nullptr, 10)) << 20;
    } else {
      size_t physical = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
      limit_ = std::min(physical / 4, size_t(8) << 30);
    }
  }

  c10::DataPtr allocate(size_t n) const override {
    if (n < kLargeBytes) return fallback_->allocate(n);
    size_t size = RoundedSize(n);
    void* p = Take(size);
    return c10::DataPtr(p, p, &Release, c10::Device(c10::kCPU));
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Release; }

  /** Unmaps every cached block; returns the bytes released. */
  size_t EmptyCache() const {
    std::vector<std::pair<void*, size_t>> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [size, list] : free_) {
        for (void* p : list) drop.emplace_back(p, size);
        list.clear();
      }
      for (auto& [p, size] : drop) owned_.erase(p);
      cached_ = 0;
    }
    size_t bytes = 0;
    for (auto& [p, size] : drop) {
      munmap(p, size);
      bytes += size;
    }
    return bytes;
  }

  size_t CachedBytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }

  static CachingCpuAllocator* instance;

 private:
  void* Take(size_t size) const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        return p;
      }
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      EmptyCache();
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
    }
    std::lock_guard<std::mutex> lock(mu_);
    owned_[p] = size;
    return p;
  }

  /** Deleter of every block this allocator handed out (and of raw_allocate's small ones). */
  static void Release(void* p) {
    CachingCpuAllocator* self = instance;
    size_t size = 0;
    bool unmap = false;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      auto it = self->owned_.find(p);
      if (it == self->owned_.end()) {
        // Not ours: a small block from raw_allocate through the fallback allocator.
        self->fallback_->raw_deleter()(p);
        return;
      }
      size = it->second;
      if (self->cached_ + size <= self->limit_) {
        self->free_[size].push_back(p);
        self->cached_ += size;
      } else {
        self->owned_.erase(it);
        unmap = true;
      }
    }
    if (unmap) munmap(p, size);
  }

  c10::Allocator* fallback_;
  size_t limit_ = 0;
  mutable std::mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;  // cached blocks by size
  mutable std::unordered_map<void*, size_t> owned_;              // every live or cached block
  mutable size_t cached_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

RDL_OP(emptyCache, { return Napi::Number::New(info.Env(), static_cast<double>(CachingCpuAllocator::instance->EmptyCache())); })

}  // namespace

size_t CachedCpuBytes() { return CachingCpuAllocator::instance ? CachingCpuAllocator::instance->CachedBytes() : 0; }

void RegisterAllocator(Napi::Env env, Napi::Object exports) {
  // Once per process (worker threads share it); RDL_CPU_CACHE_MB=0 keeps libtorch's own.
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("RDL_CPU_CACHE_MB");
    if (env != nullptr && std::string(env) == "0") return;
    static CachingCpuAllocator allocator(c10::GetCPUAllocator());
    CachingCpuAllocator::instance = &allocator;
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
  });
  if (CachingCpuAllocator::instance != nullptr) RDL_EXPORT(exports, emptyCache);
}

}  // namespace rdl
