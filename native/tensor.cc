// The tensor handle (ownership, dispose, finalizer backstop), creation, conversion to and
// from typed arrays, properties, dtype/device moves and seeded random numbers.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>
#include <iostream>

namespace rdl {

// ---------------------------------------------------------------- TensorHandle
static constexpr int64_t kReportedBytes = 64 * 1024;
static const napi_type_tag kTensorTag = {0x7264c0de5e4b1a11ULL, 0x9a1f3c2b6d4e8f70ULL};
Napi::Function TensorHandle::Define(Napi::Env env) {
  return DefineClass(env, "NativeTensor",
                     {InstanceMethod<&TensorHandle::JsDispose>("dispose"),
                      InstanceMethod<&TensorHandle::JsIsDisposed>("isDisposed")});
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  napi_type_tag_object(info.Env(), info.This(), &kTensorTag);
}

TensorHandle::~TensorHandle() {
  if (tensor_.defined()) {
    // Reached only through the garbage collector: the owner never called dispose().
    counters().finalized_leaks++;
    if (debug_mode()) {
      std::cerr << "rdl: a tensor " << ShapeString(tensor_) << " " << DtypeName(tensor_.scalar_type())
                << " was freed by the garbage collector, not by dispose()\n";
    }
    Dispose(Env());
  }
}

// Every handle carries kTensorTag, so that objects wrapped by other addons are never taken for
// tensors; checking it is much cheaper than instanceof.

TensorHandle* TensorHandle::From(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  bool ok = false;
  if (napi_check_object_type_tag(v.Env(), v, &kTensorTag, &ok) != napi_ok || !ok) return nullptr;
  void* p = nullptr;
  if (napi_unwrap(v.Env(), v, &p) != napi_ok) return nullptr;
  return static_cast<TensorHandle*>(p);
}

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor t) {
  auto* data = env.GetInstanceData<InstanceData>();
  Napi::Object obj = data->tensor_ctor.New({});
  Unwrap(obj)->Adopt(env, std::move(t));
  return obj;
}

void TensorHandle::Adopt(Napi::Env env, at::Tensor t) {
  tensor_ = std::move(t);
  int64_t bytes = tensor_.has_storage() ? static_cast<int64_t>(tensor_.storage().nbytes()) : 0;
  counters().live_tensors++;
  counters().live_bytes += bytes;
  // V8 is told only about buffers big enough to matter to its GC heuristics; the call costs
  // about as much as a whole tiny op. A view (select, narrow, a complex view…) shares its base's
  // storage, which is already counted: reporting it again made every view of a large tensor look
  // like fresh memory, and V8 ran a full collection (~5 ms) every few dozen views. (A view that
  // outlives its base is then not reported at all: this is a hint to the collector, not a count.)
  bool fresh = tensor_.has_storage() && tensor_.storage().use_count() == 1;
  if (tensor_.device().is_cpu() && bytes >= kReportedBytes && fresh) {
    external_bytes_ = bytes;
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  }
}

void TensorHandle::Dispose(Napi::Env env) {
  if (!tensor_.defined()) return;
  int64_t bytes = tensor_.has_storage() ? static_cast<int64_t>(tensor_.storage().nbytes()) : 0;
  counters().live_tensors--;
  counters().live_bytes -= bytes;
  if (external_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  external_bytes_ = 0;
  tensor_ = at::Tensor();
  disposed_ = true;
}

const at::Tensor& TensorHandle::tensor(const char* op) const {
  if (!tensor_.defined()) throw std::runtime_error("tensor used after dispose()");
  return tensor_;
}

Napi::Value TensorHandle::JsDispose(const Napi::CallbackInfo& info) {
  Dispose(info.Env());
  return info.Env().Undefined();
}

Napi::Value TensorHandle::JsIsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.defined());
}

// ---------------------------------------------------------------- conversion
namespace {

/** A new tensor of dtype `type` holding the unsigned values of src, widened exactly. */
template <typename From, typename To>
at::Tensor Widened(const From* src, const std::vector<int64_t>& shape, int64_t numel, at::ScalarType type) {
  at::Tensor t = at::empty(shape, type);
  To* d = t.data_ptr<To>();
  for (int64_t i = 0; i < numel; ++i) d[i] = static_cast<To>(src[i]);
  return t;
}

/**
 * A CPU tensor with a copy of the typed array's values. `target` (the dtype the caller converts to
 * next, or Undefined) only lets unsigned 16-bit data skip the intermediate int32 tensor.
 */
at::Tensor FromTypedArray(const Napi::TypedArray& arr, const std::vector<int64_t>& shape, at::ScalarType target) {
  int64_t numel = 1;
  for (int64_t s : shape) {
    if (s < 0) throw std::invalid_argument("negative dimension in shape");
    numel *= s;
  }
  if (numel != static_cast<int64_t>(arr.ElementLength())) {
    throw std::invalid_argument("shape holds " + std::to_string(numel) + " elements but the array has " +
                                std::to_string(arr.ElementLength()));
  }
  const uint8_t* src = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  at::ScalarType st;
  switch (arr.TypedArrayType()) {
    case napi_float32_array: st = at::kFloat; break;
    case napi_float64_array: st = at::kDouble; break;
    case napi_int32_array: st = at::kInt; break;
    case napi_int16_array: st = at::kShort; break;
    case napi_int8_array: st = at::kChar; break;
    case napi_uint8_array:
    case napi_uint8_clamped_array: st = at::kByte; break;
    case napi_bigint64_array: st = at::kLong; break;
    case napi_uint16_array: {
      // libtorch 1.13 has no uint16: widen exactly, straight into a floating target (camera frames
      // become float32 in one pass, not via int32), else into int32.
      const uint16_t* s = reinterpret_cast<const uint16_t*>(src);
      if (target == at::kFloat) return Widened<uint16_t, float>(s, shape, numel, at::kFloat);
      if (target == at::kDouble) return Widened<uint16_t, double>(s, shape, numel, at::kDouble);
      return Widened<uint16_t, int32_t>(s, shape, numel, at::kInt);
    }
    case napi_uint32_array:
      return Widened<uint32_t, int64_t>(reinterpret_cast<const uint32_t*>(src), shape, numel, at::kLong);
    default: throw std::invalid_argument("unsupported typed array type");
  }
  at::Tensor t = at::empty(shape, st);
  if (numel > 0) std::memcpy(t.data_ptr(), src, t.nbytes());
  return t;
}

/** CPU contiguous copy in the dtype a typed array can hold (see toArray in engine/native.ts). */
at::Tensor ForTypedArray(const at::Tensor& in, napi_typedarray_type* type) {
  at::Tensor t = in.detach();
  switch (t.scalar_type()) {
    case at::kFloat: *type = napi_float32_array; break;
    case at::kDouble: *type = napi_float64_array; break;
    case at::kInt: *type = napi_int32_array; break;
    case at::kShort: *type = napi_int16_array; break;
    case at::kChar: *type = napi_int8_array; break;
    case at::kByte: *type = napi_uint8_array; break;
    case at::kBool: t = t.to(at::kByte); *type = napi_uint8_array; break;
    case at::kLong: t = t.to(at::kDouble); *type = napi_float64_array; break;
    case at::kHalf:
    case at::kBFloat16: t = t.to(at::kFloat); *type = napi_float32_array; break;
    case at::kComplexFloat: t = at::view_as_real(t.resolve_conj()); *type = napi_float32_array; break;
    case at::kComplexDouble: t = at::view_as_real(t.resolve_conj()); *type = napi_float64_array; break;
    default: throw std::invalid_argument("dtype " + DtypeName(t.scalar_type()) + " cannot be read into a typed array");
  }
  return t.to(at::kCPU).contiguous();
}

RDL_OP(fromArray, {
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw std::invalid_argument("argument 0 is not a typed array");
  const bool typed = info.Length() > 2 && info[2].IsString();
  const at::ScalarType target = typed ? Dtype(Str(info, 2)) : at::ScalarType::Undefined;
  at::Tensor t = FromTypedArray(info[0].As<Napi::TypedArray>(), Ints(info, 1), target);
  if (typed) t = t.to(target);
  if (info.Length() > 3 && info[3].IsString()) t = t.to(Device(Str(info, 3)));
  return Out(info.Env(), t);
})

RDL_OP(toArray, {
  napi_typedarray_type type;
  at::Tensor t = ForTypedArray(T(info, 0), &type);
  Napi::Env env = info.Env();
  size_t bytes = t.nbytes();
  auto buf = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
  size_t n = t.numel();
  switch (type) {
    case napi_float32_array: return Napi::Float32Array::New(env, n, buf, 0);
    case napi_float64_array: return Napi::Float64Array::New(env, n, buf, 0);
    case napi_int32_array: return Napi::Int32Array::New(env, n, buf, 0);
    case napi_int16_array: return Napi::Int16Array::New(env, n, buf, 0);
    case napi_int8_array: return Napi::Int8Array::New(env, n, buf, 0);
    default: return Napi::Uint8Array::New(env, n, buf, 0);
  }
})

// Copies into a caller's typed array (reused across calls, so hot loops make no garbage): the same
// element type toArray would return, and exactly the tensor's element count.
RDL_OP(readInto, {
  napi_typedarray_type type;
  at::Tensor t = ForTypedArray(T(info, 0), &type);
  if (info.Length() < 2 || !info[1].IsTypedArray()) throw std::invalid_argument("argument 1 is not a typed array");
  auto out = info[1].As<Napi::TypedArray>();
  if (out.TypedArrayType() != type) throw std::invalid_argument("the typed array's element type does not match the tensor's");
  if (out.ElementLength() != static_cast<size_t>(t.numel())) {
    throw std::invalid_argument("the typed array holds " + std::to_string(out.ElementLength()) + " elements but the tensor has " +
                                std::to_string(t.numel()));
  }
  if (t.nbytes()) std::memcpy(static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset(), t.data_ptr(), t.nbytes());
  return info.Env().Undefined();
})

RDL_OP(item, {
  const at::Tensor& t = T(info, 0);
  if (t.numel() != 1) throw std::invalid_argument("item() needs exactly one element, found " + std::to_string(t.numel()));
  if (t.is_complex()) throw std::invalid_argument("item() of a complex tensor: take real() or abs() first");
  return Napi::Number::New(info.Env(), t.item<double>());
})

// ---------------------------------------------------------------- properties
RDL_OP(shape, {
  const at::Tensor& t = T(info, 0);
  auto arr = Napi::Array::New(info.Env(), t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) arr.Set(static_cast<uint32_t>(d), static_cast<double>(t.size(d)));
  return arr;
})
RDL_OP(dtype, { return Napi::String::New(info.Env(), DtypeName(T(info, 0).scalar_type())); })
RDL_OP(device, { return Napi::String::New(info.Env(), DeviceName(T(info, 0).device())); })
RDL_OP(isContiguous, { return Napi::Boolean::New(info.Env(), T(info, 0).is_contiguous()); })

RDL_OP(to, {
  const at::Tensor& t = T(info, 0);
  at::TensorOptions o = t.options();
  if (info.Length() > 1 && info[1].IsString()) o = o.dtype(Dtype(Str(info, 1)));
  if (info.Length() > 2 && info[2].IsString()) o = o.device(Device(Str(info, 2)));
  bool copy = info.Length() > 3 && Bool(info, 3);
  return Out(info.Env(), t.to(o, /*non_blocking=*/false, copy));
})

// ---------------------------------------------------------------- creation
RDL_OP(full, {
  auto shape = Ints(info, 0);
  return Out(info.Env(), at::full(shape, Num(info, 1), Options(info, 2, 3)));
})

RDL_OP(arange, {
  return Out(info.Env(), at::arange(Num(info, 0), Num(info, 1), Num(info, 2), Options(info, 3, 4)));
})

RDL_OP(linspace, {
  return Out(info.Env(), at::linspace(Num(info, 0), Num(info, 1), Int(info, 2), Options(info, 3, 4)));
})

RDL_OP(meshgrid, { return OutList(info.Env(), at::meshgrid(TList(info, 0), "ij")); })

// Random numbers: drawn on the CPU from a generator seeded per call (or the global one when
// seed is null), then moved to the device, so a seed gives the same values on every device.
at::Generator Gen(const Napi::CallbackInfo& info, size_t i) {
  auto seed = OptNum(info, i);
  if (!seed) return at::detail::getDefaultCPUGenerator();
  return at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(*seed));
}

at::Tensor Random(const Napi::CallbackInfo& info, const std::function<at::Tensor(at::Generator, at::TensorOptions)>& draw,
                  size_t seed_i, size_t dtype_i, size_t device_i) {
  at::TensorOptions o = Options(info, dtype_i, device_i);
  at::Generator gen = Gen(info, seed_i);
  // The ATen kernels lock the generator themselves.
  return draw(gen, o.device(at::kCPU)).to(o.device());
}

RDL_OP(rand, {
  auto shape = Ints(info, 0);
  return Out(info.Env(), Random(info, [&](at::Generator g, at::TensorOptions o) { return at::rand(shape, g, o); }, 1, 2, 3));
})
RDL_OP(randn, {
  auto shape = Ints(info, 0);
  return Out(info.Env(), Random(info, [&](at::Generator g, at::TensorOptions o) { return at::randn(shape, g, o); }, 1, 2, 3));
})
RDL_OP(randint, {
  int64_t low = Int(info, 0), high = Int(info, 1);
  auto shape = Ints(info, 2);
  return Out(info.Env(), Random(info, [&](at::Generator g, at::TensorOptions o) {
    return at::randint(low, high, shape, g, o.dtype(info.Length() > 4 && info[4].IsString() ? Dtype(Str(info, 4)) : at::kLong));
  }, 3, 4, 5));
})
RDL_OP(randperm, {
  int64_t n = Int(info, 0);
  return Out(info.Env(), Random(info, [&](at::Generator g, at::TensorOptions o) { return at::randperm(n, g, o.dtype(at::kLong)); }, 1, 99, 2));
})
RDL_OP(poisson, {
  // Poisson samples with the rates in argument 0 (used by the SIM simulator's shot noise).
  const at::Tensor& rates = T(info, 0);
  at::Generator gen = Gen(info, 1);
  at::Tensor r = rates.detach().to(at::kCPU, at::kDouble);
  at::Tensor out = at::poisson(r, gen);
  return Out(info.Env(), out.to(rates.options()));
})
RDL_OP(manualSeed, {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(static_cast<uint64_t>(Num(info, 0)));
  return info.Env().Undefined();
})

}  // namespace

void RegisterTensor(Napi::Env env, Napi::Object exports) {
  auto* data = env.GetInstanceData<InstanceData>();
  Napi::Function ctor = TensorHandle::Define(env);
  data->tensor_ctor = Napi::Persistent(ctor);
  exports.Set("NativeTensor", ctor);
  RDL_EXPORT(exports, fromArray);
  RDL_EXPORT(exports, toArray);
  RDL_EXPORT(exports, readInto);
  RDL_EXPORT(exports, item);
  RDL_EXPORT(exports, shape);
  RDL_EXPORT(exports, dtype);
  RDL_EXPORT(exports, device);
  RDL_EXPORT(exports, isContiguous);
  RDL_EXPORT(exports, to);
  RDL_EXPORT(exports, full);
  RDL_EXPORT(exports, arange);
  RDL_EXPORT(exports, linspace);
  RDL_EXPORT(exports, meshgrid);
  RDL_EXPORT(exports, rand);
  RDL_EXPORT(exports, randn);
  RDL_EXPORT(exports, randint);
  RDL_EXPORT(exports, randperm);
  RDL_EXPORT(exports, poisson);
  RDL_EXPORT(exports, manualSeed);
}

}  // namespace rdl
