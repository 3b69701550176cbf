// Shared pieces of the rdl native addon: the tensor handle, argument helpers, and the one
// error path (every entry point runs inside RDL_OP, which turns C++ exceptions into a short
// JavaScript Error naming the op and the shapes of its tensor arguments).
#pragma once
#include <napi.h>
#include <ATen/ATen.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rdl {

/** A JavaScript-owned handle to one libtorch tensor. */
class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  /** The handle behind a JS value, or nullptr when it is not one of ours. */
  static TensorHandle* From(const Napi::Value& v);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  /** The tensor, or a thrown "used after dispose" error. */
  const at::Tensor& tensor(const char* op) const;
  bool disposed() const { return !tensor_.defined() && disposed_; }
  void Dispose(Napi::Env env);

 private:
  Napi::Value JsDispose(const Napi::CallbackInfo& info);
  Napi::Value JsIsDisposed(const Napi::CallbackInfo& info);
  void Adopt(Napi::Env env, at::Tensor t);

  at::Tensor tensor_;
  int64_t external_bytes_ = 0;  // bytes reported to V8 (CPU storage only)
  bool disposed_ = false;
};

/** Per-process live counters, exposed as rdl.memory(). */
struct Counters {
  int64_t live_tensors = 0;
  int64_t live_bytes = 0;       // sum of storage bytes of live handles (views count again)
  int64_t finalized_leaks = 0;  // handles freed by the garbage collector, never disposed
};
Counters& counters();
bool debug_mode();

/** Per-environment data (worker threads each get their own). */
struct InstanceData {
  Napi::FunctionReference tensor_ctor;
};

// ---- argument helpers (throw std::invalid_argument with a readable message) ----
const at::Tensor& T(const Napi::CallbackInfo& info, size_t i);
std::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TList(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i);
std::optional<std::vector<int64_t>> OptInts(const Napi::CallbackInfo& info, size_t i);
int64_t Int(const Napi::CallbackInfo& info, size_t i);
double Num(const Napi::CallbackInfo& info, size_t i);
std::optional<double> OptNum(const Napi::CallbackInfo& info, size_t i);
bool Bool(const Napi::CallbackInfo& info, size_t i);
std::string Str(const Napi::CallbackInfo& info, size_t i);
at::ScalarType Dtype(const std::string& name);
std::string DtypeName(at::ScalarType t);
c10::Device Device(const std::string& name);
std::string DeviceName(const c10::Device& d);
at::TensorOptions Options(const Napi::CallbackInfo& info, size_t dtype_i, size_t device_i);
std::string ShapeString(const at::Tensor& t);

Napi::Value Out(Napi::Env env, at::Tensor t);
Napi::Value OutList(Napi::Env env, const std::vector<at::Tensor>& ts);

/** Runs body; any exception becomes a JS Error "op: message (shapes …)". */
Napi::Value Guard(const Napi::CallbackInfo& info, const char* op,
                  const std::function<Napi::Value()>& body);

#define RDL_OP(name, ...)                                                \
  Napi::Value name(const Napi::CallbackInfo& info) {                     \
    return ::rdl::Guard(info, #name, [&]() -> Napi::Value __VA_ARGS__); \
  }

using Registrar = void (*)(Napi::Env, Napi::Object);
void RegisterTensor(Napi::Env env, Napi::Object exports);
void RegisterMath(Napi::Env env, Napi::Object exports);
void RegisterShape(Napi::Env env, Napi::Object exports);
void RegisterNN(Napi::Env env, Napi::Object exports);
void RegisterAutogradOptim(Napi::Env env, Napi::Object exports);
void RegisterAllocator(Napi::Env env, Napi::Object exports);
void RegisterAsync(Napi::Env env, Napi::Object exports);
/**
 * Sets the OpenMP team size of parallel work started on the calling thread only (native/addon.cc);
 * false where libtorch does not use OpenMP.
 */
bool SetOmpThreadsHere(int n);
/**
 * Cuts [0, n) into `shares` contiguous ranges, runs share(from, length) for each on the calling
 * thread's OpenMP team (the threads libtorch's own parallel loops use; libtorch's ops run serially
 * inside) and joins the results along dim (native/addon.cc). Rethrows the first error; an undefined
 * tensor, having run nothing, where libtorch does not use OpenMP.
 */
at::Tensor JoinedOverTeam(int64_t n, int64_t shares, int64_t dim,
                          const std::function<at::Tensor(int64_t from, int64_t length)>& share);
/** Bytes held for reuse by the caching CPU allocator (native/allocator.cc). */
size_t CachedCpuBytes();

#define RDL_EXPORT(exports, fn) (exports).Set(#fn, Napi::Function::New(env, fn, #fn))

}  // namespace rdl
