// Module entry, the error path, argument helpers and process-wide settings.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <cstdlib>
#include <exception>
#include <vector>
#include <sstream>

namespace rdl {

Counters& counters() {
  static Counters c;
  return c;
}

bool debug_mode() {
  static const bool on = [] {
    const char* v = std::getenv("RDL_DEBUG");
    return v != nullptr && std::string(v) != "" && std::string(v) != "0";
  }();
  return on;
}

// ---------------------------------------------------------------- errors
namespace {
std::string ShortMessage(const std::string& full) {
  if (debug_mode()) return full;
  // libtorch appends "Exception raised from …" and a backtrace; keep the user-facing part.
  std::string msg = full;
  auto cut = msg.find("\nException raised from");
  if (cut != std::string::npos) msg = msg.substr(0, cut);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

std::string ArgShapes(const Napi::CallbackInfo& info) {
  std::ostringstream os;
  bool first = true;
  for (size_t i = 0; i < info.Length(); ++i) {
    auto* h = TensorHandle::From(info[i]);
    if (h == nullptr) continue;
    os << (first ? "" : ", ");
    first = false;
    if (h->disposed()) {
      os << "<disposed>";
    } else {
      const at::Tensor& t = h->tensor("shape");
      os << ShapeString(t) << " " << DtypeName(t.scalar_type());
      if (!t.device().is_cpu()) os << " " << DeviceName(t.device());
    }
  }
  return first ? "" : " (tensors: " + os.str() + ")";
}
}  // namespace

Napi::Value Guard(const Napi::CallbackInfo& info, const char* op,
                  const std::function<Napi::Value()>& body) {
  Napi::Env env = info.Env();
  std::string msg;
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    msg = ShortMessage(e.what_without_backtrace());
  } catch (const std::exception& e) {
    msg = ShortMessage(e.what());
  }
  // Table-driven entry points (unary, binary, reduce, fft, …) take the op's name first: name that.
  std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : op;
  Napi::Error err = Napi::Error::New(env, name + ": " + msg + ArgShapes(info));
  err.Set("op", Napi::String::New(env, name));
  throw err;
}

// ---------------------------------------------------------------- argument helpers
namespace {
void Need(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length()) throw std::invalid_argument("argument " + std::to_string(i) + " missing (" + what + ")");
}
}  // namespace

const at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  Need(info, i, "tensor");
  auto* h = TensorHandle::From(info[i]);
  if (h == nullptr) throw std::invalid_argument("argument " + std::to_string(i) + " is not a tensor");
  return h->tensor("op");
}

std::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return T(info, i);
}

std::vector<at::Tensor> TList(const Napi::CallbackInfo& info, size_t i) {
  Need(info, i, "tensor list");
  if (!info[i].IsArray()) throw std::invalid_argument("argument " + std::to_string(i) + " is not a tensor list");
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr[k];
    auto* h = TensorHandle::From(v);
    if (h == nullptr) throw std::invalid_argument("list item " + std::to_string(k) + " is not a tensor");
    out.push_back(h->tensor("op"));
  }
  return out;
}

std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i) {
  Need(info, i, "integer list");
  if (!info[i].IsArray()) throw std::invalid_argument("argument " + std::to_string(i) + " is not an integer list");
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr[k];
    if (!v.IsNumber()) throw std::invalid_argument("integer list item " + std::to_string(k) + " is not a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) throw std::invalid_argument("integer list item " + std::to_string(k) + " is not an integer");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

std::optional<std::vector<int64_t>> OptInts(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return Ints(info, i);
}

int64_t Int(const Napi::CallbackInfo& info, size_t i) {
  double d = Num(info, i);
  if (d != static_cast<double>(static_cast<int64_t>(d))) throw std::invalid_argument("argument " + std::to_string(i) + " is not an integer");
  return static_cast<int64_t>(d);
}

double Num(const Napi::CallbackInfo& info, size_t i) {
  Need(info, i, "number");
  if (!info[i].IsNumber()) throw std::invalid_argument("argument " + std::to_string(i) + " is not a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

std::optional<double> OptNum(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return Num(info, i);
}

bool Bool(const Napi::CallbackInfo& info, size_t i) {
  Need(info, i, "boolean");
  return info[i].ToBoolean().Value();
}

std::string Str(const Napi::CallbackInfo& info, size_t i) {
  Need(info, i, "string");
  if (!info[i].IsString()) throw std::invalid_argument("argument " + std::to_string(i) + " is not a string");
  return info[i].As<Napi::String>().Utf8Value();
}

at::ScalarType Dtype(const std::string& n) {
  if (n == "float32") return at::kFloat;
  if (n == "float64") return at::kDouble;
  if (n == "bfloat16") return at::kBFloat16;
  if (n == "float16") return at::kHalf;
  if (n == "complex64") return at::kComplexFloat;
  if (n == "complex128") return at::kComplexDouble;
  if (n == "int32") return at::kInt;
  if (n == "int64") return at::kLong;
  if (n == "int16") return at::kShort;
  if (n == "int8") return at::kChar;
  if (n == "uint8") return at::kByte;
  if (n == "bool") return at::kBool;
  throw std::invalid_argument("unknown dtype '" + n + "'");
}

std::string DtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kComplexFloat: return "complex64";
    case at::kComplexDouble: return "complex128";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return std::string(c10::toString(t));
  }
}

c10::Device Device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA()) {
      throw std::invalid_argument("device '" + name + "' requested, but this libtorch has no CUDA support or no GPU is visible " +
                                  "(build rdl against a CUDA libtorch: see the README, section GPU)");
    }
    int64_t n = at::detail::getCUDAHooks().getNumGPUs();
    int64_t index = name == "cuda" ? 0 : std::stoll(name.substr(5));
    if (index < 0 || index >= n) throw std::invalid_argument("device '" + name + "' does not exist (" + std::to_string(n) + " GPUs visible)");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  if (name == "mps") return c10::Device(c10::kMPS);
  throw std::invalid_argument("unknown device '" + name + "' (expected cpu, cuda or cuda:N)");
}

std::string DeviceName(const c10::Device& d) {
  if (d.is_cpu()) return "cpu";
  if (d.is_cuda()) return "cuda:" + std::to_string(d.has_index() ? d.index() : 0);
  return d.str();
}

at::TensorOptions Options(const Napi::CallbackInfo& info, size_t dtype_i, size_t device_i) {
  at::TensorOptions o = at::TensorOptions().dtype(at::kFloat);
  if (dtype_i < info.Length() && info[dtype_i].IsString()) o = o.dtype(Dtype(Str(info, dtype_i)));
  if (device_i < info.Length() && info[device_i].IsString()) o = o.device(Device(Str(info, device_i)));
  return o;
}

std::string ShapeString(const at::Tensor& t) {
  std::ostringstream os;
  os << "[";
  for (int64_t d = 0; d < t.dim(); ++d) os << (d ? "," : "") << t.size(d);
  os << "]";
  return os.str();
}

Napi::Value Out(Napi::Env env, at::Tensor t) { return TensorHandle::Wrap(env, std::move(t)); }

Napi::Value OutList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), Out(env, ts[i]));
  return arr;
}

// ---------------------------------------------------------------- runtime settings
namespace {
RDL_OP(setNumThreads, {
  int64_t n = Int(info, 0);
  if (n < 1) throw std::invalid_argument("thread count must be at least 1");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
})

// setThreadsHere(n): the intra-op thread count of parallel work started on this thread only. With
// OpenMP that is the thread's team size, and nothing else changes; at::set_num_threads also
// rebuilds libtorch's pthreadpool (joining and starting threads) and clears oneDNN's cache, which
// cost ~2 ms per call here, too much for a setting held for one 20 ms fit. Other backends: the same
// as setNumThreads.
RDL_OP(setThreadsHere, {
  int64_t n = Int(info, 0);
  if (n < 1) throw std::invalid_argument("thread count must be at least 1");
  if (!SetOmpThreadsHere(static_cast<int>(n))) at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
})

}  // namespace

bool SetOmpThreadsHere(int n) {
  // libtorch sets a thread's count on its first parallel loop, so that runs first.
  at::internal::lazy_init_num_threads();
  using SetThreads = void (*)(int);
  static auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set == nullptr) return false;
  set(n);
  return true;
}

namespace {
struct TeamTask {
  int count;
  const std::function<void(int)>* body;
  int (*threadNum)();
  int (*teamSize)();
  std::vector<std::exception_ptr> errors;
};

void RunTeamShare(void* data) {
  auto* task = static_cast<TeamTask*>(data);
  const int id = task->threadNum();
  const int team = task->teamSize();
  // The runtime may give fewer threads than asked: each takes every team-th item.
  for (int i = id; i < task->count; i += team) {
    try {
      (*task->body)(i);
    } catch (...) {
      task->errors[i] = std::current_exception();
    }
  }
}

/** Runs body(0 … count − 1) on the calling thread's OpenMP team; false, having run nothing, without OpenMP. */
bool RunOnOmpTeam(int count, const std::function<void(int)>& body) {
  // GOMP_parallel is what `#pragma omp parallel` compiles to (libgomp's ABI; Intel's runtime
  // exports it too), taken from the runtime libtorch loaded, as omp_set_num_threads above.
  using Parallel = void (*)(void (*)(void*), void*, unsigned, unsigned);
  using IntFn = int (*)();
  static auto parallel = reinterpret_cast<Parallel>(dlsym(RTLD_DEFAULT, "GOMP_parallel"));
  static auto threadNum = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "omp_get_thread_num"));
  static auto teamSize = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "omp_get_num_threads"));
  if (parallel == nullptr || threadNum == nullptr || teamSize == nullptr) return false;
  at::internal::lazy_init_num_threads();
  TeamTask task{count, &body, threadNum, teamSize, std::vector<std::exception_ptr>(count)};
  parallel(RunTeamShare, &task, static_cast<unsigned>(count), 0);
  for (auto& e : task.errors) {
    if (e) std::rethrow_exception(e);
  }
  return true;
}
}  // namespace

at::Tensor JoinedOverTeam(int64_t n, int64_t shares, int64_t dim,
                          const std::function<at::Tensor(int64_t from, int64_t length)>& share) {
  std::vector<at::Tensor> parts(shares);
  const bool ran = RunOnOmpTeam(static_cast<int>(shares), [&](int c) {
    const int64_t from = n * c / shares;
    parts[c] = share(from, n * (c + 1) / shares - from);
  });
  return ran ? at::cat(parts, dim) : at::Tensor();
}

namespace {
RDL_OP(getNumThreads, { return Napi::Number::New(info.Env(), at::get_num_threads()); })

RDL_OP(memory, {
  auto o = Napi::Object::New(info.Env());
  o.Set("liveTensors", static_cast<double>(counters().live_tensors));
  o.Set("liveBytes", static_cast<double>(counters().live_bytes));
  o.Set("finalizedLeaks", static_cast<double>(counters().finalized_leaks));
  o.Set("cachedCpuBytes", static_cast<double>(CachedCpuBytes()));
  return o;
})

RDL_OP(buildInfo, {
  auto o = Napi::Object::New(info.Env());
  o.Set("torchVersion", TORCH_VERSION);
#ifdef RDL_WITH_CUDA
  o.Set("cudaBuild", true);
#else
  o.Set("cudaBuild", false);
#endif
  bool cuda = at::hasCUDA();
  o.Set("cudaAvailable", cuda);
  o.Set("cudaDeviceCount", cuda ? static_cast<double>(at::detail::getCUDAHooks().getNumGPUs()) : 0.0);
  o.Set("debug", debug_mode());
  // OpenBLAS's own thread count (see SingleThreadedOpenBlas), or null with another BLAS.
  using GetThreads = int (*)();
  auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  o.Set("openblasThreads", get ? Napi::Value(Napi::Number::New(info.Env(), get())) : info.Env().Null());
  return o;
})
}  // namespace

static void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  RDL_EXPORT(exports, setNumThreads);
  RDL_EXPORT(exports, setThreadsHere);
  RDL_EXPORT(exports, getNumThreads);
  RDL_EXPORT(exports, memory);
  RDL_EXPORT(exports, buildInfo);
}

// A libtorch linked against a pthreads OpenBLAS (Debian's) runs two thread pools: its own
// intra-op threads and OpenBLAS's, which spin while waiting. A BLAS call made inside a parallel op
// (batched matmul) then puts 2·cores threads on the cores: on 2 cores the illumination fit took
// 55–265 ms instead of 52–66 ms. libtorch parallelises around BLAS calls already, so OpenBLAS gets
// one thread, unless the user set OPENBLAS_NUM_THREADS. Nothing happens with another BLAS.
void SingleThreadedOpenBlas() {
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr) return;
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new InstanceData());
  SingleThreadedOpenBlas();
  RegisterAllocator(env, exports);
  RegisterRuntime(env, exports);
  RegisterTensor(env, exports);
  RegisterMath(env, exports);
  RegisterShape(env, exports);
  RegisterNN(env, exports);
  RegisterAutogradOptim(env, exports);
  RegisterAsync(env, exports);
  return exports;
}

}  // namespace rdl

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return rdl::Init(env, exports); }
NODE_API_MODULE(rdl_native, InitModule)
