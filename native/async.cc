// Tensor work on one background thread, so that JavaScript can prepare the next inputs while
// libtorch computes. Why: the illumination fit's exact modamp costs per candidate ~0.35 ms of
// complex matrix products and ~0.35 ms of host work (weights, gathers); with the products of one
// candidate running here while the host prepares the next, the two cores of a small machine
// both work (measured: two single-threaded products side by side each run at full speed).
//
// Jobs run one at a time in submission order. A job captures its input tensors by value (libtorch
// tensors are reference counted, so disposing the JavaScript handles meanwhile is safe) and the
// submitting thread's grad mode. Its result, or its error, is taken with jobWait, which blocks
// until the job has run; an unwaited job still runs and its result is dropped.
#include "common.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

namespace rdl {
namespace {

// Handing work to a thread asleep on a condition variable is slow on virtual machines: an empty
// job's round trip took 68 µs here (7 µs with spinning), and a worker asleep for a while was at
// times scheduled only ~4 ms later. So both sides spin before they sleep: the worker for a while
// after each job (in a search the next one comes within ~0.5 ms), the waiter until its job is
// done (a product takes ~0.3 ms). glibc skips the wake-up system call when nobody sleeps.
using Clock = std::chrono::steady_clock;
constexpr auto kWorkerSpin = std::chrono::milliseconds(2);
constexpr auto kWaiterSpin = std::chrono::milliseconds(20);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/** Spins until ready() or the time is up; returns ready()'s last value. */
template <typename Ready>
bool SpinFor(Clock::duration limit, Ready ready) {
  auto until = Clock::now() + limit;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 255) == 255) {
      if (Clock::now() > until) return ready();
      std::this_thread::yield();  // lets a thread that shares this core run
    }
    CpuRelax();
  }
}

struct Job {
  std::function<at::Tensor()> work;
  std::mutex mu;
  std::condition_variable ready;
  std::atomic<bool> done{false};
  bool taken = false;
  at::Tensor result;
  std::exception_ptr error;

  /** Runs the work on the calling thread and publishes the result or the error. */
  void Run() {
    at::Tensor out;
    std::exception_ptr failure;
    try {
      out = work();
    } catch (...) {
      failure = std::current_exception();
    }
    work = nullptr;  // releases the captured inputs on the running thread
    {
      std::lock_guard<std::mutex> lock(mu);
      result = std::move(out);
      error = failure;
      done.store(true, std::memory_order_release);
    }
    ready.notify_all();
  }
};

/**
 * The background thread and its queue. Created on first use and never destroyed: a static
 * destructor would have to join a thread that may be inside libtorch while the process exits.
 * Environments drain it on teardown (DrainOnCleanup), so no job outlives its submitter's data.
 *
 * A job submitted while the thread sleeps (and nothing is queued) runs on the submitting thread
 * instead, and the thread is woken for the jobs that follow: waking it can take longer than the
 * job (up to ~4 ms on a 2-vCPU virtual machine), and the order of jobs is kept either way.
 */
class Worker {
 public:
  Worker() {
    std::thread([this] {
      // libtorch's parallel loops started here run on this thread alone. With OpenMP every thread
      // that starts parallel work gets a team of its own, whose idle members spin; the jobs are
      // small, and a second team beside the JavaScript thread's would only add busy threads.
      SetOmpThreadsHere(1);
      Loop();
    }).detach();
  }

  /** Queues the job, or returns false when the caller should run it itself (see above). */
  bool Submit(const std::shared_ptr<Job>& job) {
    bool queued = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!awake_ && queue_.empty()) {
        poked_ = true;
      } else {
        queue_.push_back(job);
        ++pending_;
        queued_.fetch_add(1, std::memory_order_release);
        queued = true;
      }
    }
    wake_.notify_one();
    return queued;
  }

  /**
   * Keeps the thread awake (spinning when it has no job) until `until`, waking it now if it sleeps:
   * a caller about to submit a run of jobs after some work of its own asks for this first, so
   * that its jobs do not run on its own thread while the worker wakes.
   */
  void KeepAwake(Clock::time_point until) {
    int64_t ticks = until.time_since_epoch().count();
    int64_t before = awake_until_.load(std::memory_order_relaxed);
    while (before < ticks && !awake_until_.compare_exchange_weak(before, ticks, std::memory_order_relaxed)) {
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!awake_) poked_ = true;
    }
    wake_.notify_one();
  }

  /** Blocks until every queued job has run. */
  void Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return pending_ == 0; });
  }

 private:
  void Loop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      awake_ = true;
    }
    for (;;) {
      SpinFor(std::max<Clock::duration>(kWorkerSpin, AwakeUntil() - Clock::now()),
              [this] { return queued_.load(std::memory_order_acquire) > 0; });
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (queue_.empty()) {
          // KeepAwake may have moved the deadline while this spun.
          if (AwakeUntil() > Clock::now()) continue;
          awake_ = false;
          wake_.wait(lock, [this] { return !queue_.empty() || poked_; });
          awake_ = true;
          poked_ = false;
          if (queue_.empty()) continue;  // woken ahead of work: spin for it
        }
        job = std::move(queue_.front());
        queue_.pop_front();
        queued_.fetch_sub(1, std::memory_order_relaxed);
      }
      job->Run();
      {
        std::lock_guard<std::mutex> lock(mu_);
        --pending_;
      }
      idle_.notify_all();
    }
  }

  /** KeepAwake's deadline. */
  Clock::time_point AwakeUntil() const {
    return Clock::time_point(Clock::duration(awake_until_.load(std::memory_order_relaxed)));
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::atomic<size_t> queued_{0};
  std::atomic<int64_t> awake_until_{0};  // KeepAwake's deadline, Clock ticks
  size_t pending_ = 0;
  bool awake_ = false;  // spinning or working (guarded by mu_)
  bool poked_ = false;  // asked to wake without a job (guarded by mu_)
};

std::mutex g_create;
Worker* g_worker = nullptr;  // made on the first job

Worker& GetWorker() {
  std::lock_guard<std::mutex> lock(g_create);
  if (g_worker == nullptr) g_worker = new Worker();
  return *g_worker;
}

Napi::Value Submit(Napi::Env env, std::function<at::Tensor()> work) {
  auto job = std::make_shared<Job>();
  bool grad = at::GradMode::is_enabled();
  job->work = [work = std::move(work), grad] {
    at::AutoGradMode mode(grad);
    return work();
  };
  if (!GetWorker().Submit(job)) job->Run();
  auto* holder = new std::shared_ptr<Job>(job);
  return Napi::External<std::shared_ptr<Job>>::New(env, holder,
                                                   [](Napi::Env, std::shared_ptr<Job>* h) { delete h; });
}

// multiDotStart([t0, t1, ...]) -> job: the product t0·t1·… (libtorch picks the cheapest order).
RDL_OP(multiDotStart, {
  std::vector<at::Tensor> ts = TList(info, 0);
  if (ts.size() < 2) throw std::invalid_argument("multiDot needs at least two tensors");
  return Submit(info.Env(), [ts = std::move(ts)] { return at::linalg_multi_dot(ts); });
})

// keepAwake(ms): the background thread stays awake (spinning when idle) for ms from now.
RDL_OP(keepAwake, {
  double ms = info[0].As<Napi::Number>().DoubleValue();
  if (!(ms >= 0 && ms <= 1000)) throw std::invalid_argument("keepAwake wants 0 to 1000 ms");
  GetWorker().KeepAwake(Clock::now() +
                        std::chrono::microseconds(static_cast<int64_t>(ms * 1000)));
  return info.Env().Undefined();
})

// jobWait(job) -> tensor: blocks until the job has run; throws its error. Once per job.
RDL_OP(jobWait, {
  if (!info[0].IsExternal()) throw std::invalid_argument("argument 0 must be a pending job");
  std::shared_ptr<Job> job = *info[0].As<Napi::External<std::shared_ptr<Job>>>().Data();
  SpinFor(kWaiterSpin, [&] { return job->done.load(std::memory_order_acquire); });
  std::unique_lock<std::mutex> lock(job->mu);
  if (job->taken) throw std::invalid_argument("the job's result was already taken");
  job->ready.wait(lock, [&] { return job->done.load(std::memory_order_acquire); });
  job->taken = true;
  if (job->error) std::rethrow_exception(job->error);
  return Out(info.Env(), std::move(job->result));
})

void DrainOnCleanup(void*) {
  Worker* worker = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_create);
    worker = g_worker;
  }
  if (worker != nullptr) worker->Drain();
}

}  // namespace

void RegisterAsync(Napi::Env env, Napi::Object exports) {
  napi_add_env_cleanup_hook(env, DrainOnCleanup, nullptr);
  RDL_EXPORT(exports, multiDotStart);
  RDL_EXPORT(exports, jobWait);
  RDL_EXPORT(exports, keepAwake);
}

}  // namespace rdl
