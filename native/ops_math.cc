// Element-wise math (with broadcasting), comparisons, complex parts, in-place updates,
// reductions and matmul. Ops that differ only in the ATen function called go through one
// name-keyed table each, so the addon stays small.
#include "common.h"

#include <ATen/Parallel.h>

#include <unordered_map>

namespace rdl {
namespace {

using Unary = at::Tensor (*)(const at::Tensor&);
using Binary = at::Tensor (*)(const at::Tensor&, const at::Tensor&);

const std::unordered_map<std::string, Unary>& UnaryTable() {
  static const std::unordered_map<std::string, Unary> table = {
      {"neg", [](const at::Tensor& t) { return at::neg(t); }},
      {"abs", [](const at::Tensor& t) { return at::abs(t); }},
      {"exp", [](const at::Tensor& t) { return at::exp(t); }},
      {"expm1", [](const at::Tensor& t) { return at::expm1(t); }},
      {"log", [](const at::Tensor& t) { return at::log(t); }},
      {"log1p", [](const at::Tensor& t) { return at::log1p(t); }},
      {"sqrt", [](const at::Tensor& t) { return at::sqrt(t); }},
      {"rsqrt", [](const at::Tensor& t) { return at::rsqrt(t); }},
      {"square", [](const at::Tensor& t) { return at::square(t); }},
      {"reciprocal", [](const at::Tensor& t) { return at::reciprocal(t); }},
      {"sin", [](const at::Tensor& t) { return at::sin(t); }},
      {"cos", [](const at::Tensor& t) { return at::cos(t); }},
      {"tan", [](const at::Tensor& t) { return at::tan(t); }},
      {"erf", [](const at::Tensor& t) { return at::erf(t); }},
      {"sigmoid", [](const at::Tensor& t) { return at::sigmoid(t); }},
      {"relu", [](const at::Tensor& t) { return at::relu(t); }},
      {"tanh", [](const at::Tensor& t) { return at::tanh(t); }},
      {"gelu", [](const at::Tensor& t) { return at::gelu(t, "none"); }},  // erf form
      {"floor", [](const at::Tensor& t) { return at::floor(t); }},
      {"ceil", [](const at::Tensor& t) { return at::ceil(t); }},
      {"round", [](const at::Tensor& t) { return at::round(t); }},
      {"sign", [](const at::Tensor& t) { return at::sign(t); }},
      {"isnan", [](const at::Tensor& t) { return at::isnan(t); }},
      {"isfinite", [](const at::Tensor& t) { return at::isfinite(t); }},
      {"logicalNot", [](const at::Tensor& t) { return at::logical_not(t); }},
      {"real", [](const at::Tensor& t) { return t.is_complex() ? at::real(t) : t.alias(); }},
      {"imag", [](const at::Tensor& t) { return at::imag(t); }},
      {"angle", [](const at::Tensor& t) { return at::angle(t); }},
      {"conj", [](const at::Tensor& t) { return at::conj_physical(t); }},
      {"viewAsReal", [](const at::Tensor& t) { return at::view_as_real(t.resolve_conj()); }},
      {"viewAsComplex", [](const at::Tensor& t) { return at::view_as_complex(t); }},
  };
  return table;
}

const std::unordered_map<std::string, Binary>& BinaryTable() {
  static const std::unordered_map<std::string, Binary> table = {
      {"add", [](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }},
      {"sub", [](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); }},
      {"mul", [](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }},
      {"div", [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b); }},
      {"pow", [](const at::Tensor& a, const at::Tensor& b) { return at::pow(a, b); }},
      {"atan2", [](const at::Tensor& a, const at::Tensor& b) { return at::atan2(a, b); }},
      {"maximum", [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); }},
      {"minimum", [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); }},
      {"remainder", [](const at::Tensor& a, const at::Tensor& b) { return at::remainder(a, b); }},
      {"eq", [](const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); }},
      {"ne", [](const at::Tensor& a, const at::Tensor& b) { return at::ne(a, b); }},
      {"lt", [](const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); }},
      {"le", [](const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); }},
      {"gt", [](const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); }},
      {"ge", [](const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); }},
      {"logicalAnd", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_and(a, b); }},
      {"logicalOr", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_or(a, b); }},
      {"complex", [](const at::Tensor& a, const at::Tensor& b) { return at::complex(a, b); }},
      {"polar", [](const at::Tensor& a, const at::Tensor& b) { return at::polar(a, b); }},
  };
  return table;
}

// unary(name, t)
RDL_OP(unary, {
  std::string name = Str(info, 0);
  auto it = UnaryTable().find(name);
  if (it == UnaryTable().end()) throw std::invalid_argument("unknown unary op '" + name + "'");
  return Out(info.Env(), it->second(T(info, 1)));
})

// binary(name, a, b) with b a tensor or a number (a JS number becomes a 0-dim scalar, which
// keeps a's dtype under PyTorch's type promotion, as in PyTorch `t * 2`).
RDL_OP(binary, {
  std::string name = Str(info, 0);
  auto it = BinaryTable().find(name);
  if (it == BinaryTable().end()) throw std::invalid_argument("unknown binary op '" + name + "'");
  const at::Tensor& a = T(info, 1);
  if (info.Length() > 2 && info[2].IsNumber()) {
    at::Tensor b = at::scalar_tensor(Num(info, 2), at::TensorOptions().dtype(at::kDouble));
    b.unsafeGetTensorImpl()->set_wrapped_number(true);  // a Python-number-like scalar
    return Out(info.Env(), it->second(a, b));
  }
  return Out(info.Env(), it->second(a, T(info, 2)));
})

// rbinary(name, number, t): number OP tensor (e.g. 1 - t, 2 / t).
RDL_OP(rbinary, {
  std::string name = Str(info, 0);
  auto it = BinaryTable().find(name);
  if (it == BinaryTable().end()) throw std::invalid_argument("unknown binary op '" + name + "'");
  at::Tensor a = at::scalar_tensor(Num(info, 1), at::TensorOptions().dtype(at::kDouble));
  a.unsafeGetTensorImpl()->set_wrapped_number(true);
  return Out(info.Env(), it->second(a, T(info, 2)));
})

RDL_OP(where, { return Out(info.Env(), at::where(T(info, 0), T(info, 1), T(info, 2))); })

RDL_OP(clamp, {
  auto lo = OptNum(info, 1), hi = OptNum(info, 2);
  if (!lo && !hi) throw std::invalid_argument("clamp needs a minimum or a maximum");
  c10::optional<at::Scalar> l, h;
  if (lo) l = *lo;
  if (hi) h = *hi;
  return Out(info.Env(), at::clamp(T(info, 0), l, h));
})

RDL_OP(leakyRelu, { return Out(info.Env(), at::leaky_relu(T(info, 0), Num(info, 1))); })

// ---------------------------------------------------------------- in-place (optimizers, buffers)
RDL_OP(inplace, {
  // inplace(name, target, other|number[, alpha]): mutates target, returns nothing.
  std::string name = Str(info, 0);
  at::Tensor t = T(info, 1);
  bool scalar = info.Length() > 2 && info[2].IsNumber();
  if (name == "copy") {
    t.copy_(T(info, 2));
  } else if (name == "fill") {
    t.fill_(Num(info, 2));
  } else if (name == "zero") {
    t.zero_();
  } else if (name == "add") {
    double alpha = info.Length() > 3 ? Num(info, 3) : 1.0;
    if (scalar) t.add_(Num(info, 2), alpha); else t.add_(T(info, 2), alpha);
  } else if (name == "mul") {
    if (scalar) t.mul_(Num(info, 2)); else t.mul_(T(info, 2));
  } else if (name == "div") {
    if (scalar) t.div_(Num(info, 2)); else t.div_(T(info, 2));
  } else if (name == "clamp") {
    t.clamp_(OptNum(info, 2).has_value() ? c10::optional<at::Scalar>(Num(info, 2)) : c10::nullopt,
             OptNum(info, 3).has_value() ? c10::optional<at::Scalar>(Num(info, 3)) : c10::nullopt);
  } else {
    throw std::invalid_argument("unknown in-place op '" + name + "'");
  }
  return info.Env().Undefined();
})

// ---------------------------------------------------------------- reductions
// reduce(name, t, dims|null, keepdim[, unbiased])
RDL_OP(reduce, {
  std::string name = Str(info, 0);
  const at::Tensor& t = T(info, 1);
  auto dims = OptInts(info, 2);
  bool keep = info.Length() > 3 && Bool(info, 3);
  std::vector<int64_t> all;
  if (!dims) {
    for (int64_t d = 0; d < t.dim(); ++d) all.push_back(d);
  }
  at::IntArrayRef ds = dims ? at::IntArrayRef(*dims) : at::IntArrayRef(all);
  if (t.dim() == 0) ds = {};
  if (name == "sum") return Out(info.Env(), dims ? at::sum(t, ds, keep) : (keep ? at::sum(t, ds, true) : at::sum(t)));
  if (name == "mean") return Out(info.Env(), dims ? at::mean(t, ds, keep) : (keep ? at::mean(t, ds, true) : at::mean(t)));
  if (name == "prod") {
    if (!dims) return Out(info.Env(), at::prod(t));
    if (dims->size() != 1) throw std::invalid_argument("prod takes one dim");
    return Out(info.Env(), at::prod(t, (*dims)[0], keep));
  }
  if (name == "max") return Out(info.Env(), dims || keep ? at::amax(t, ds, keep) : at::max(t));
  if (name == "min") return Out(info.Env(), dims || keep ? at::amin(t, ds, keep) : at::min(t));
  bool unbiased = info.Length() > 4 ? Bool(info, 4) : true;
  if (name == "std") return Out(info.Env(), at::std(t, at::OptionalIntArrayRef(ds), unbiased, keep));
  if (name == "var") return Out(info.Env(), at::var(t, at::OptionalIntArrayRef(ds), unbiased, keep));
  throw std::invalid_argument("unknown reduction '" + name + "'");
})

// argmax(t, dim|null, keepdim)
RDL_OP(argmax, {
  auto dim = OptNum(info, 1);
  bool keep = info.Length() > 2 && Bool(info, 2);
  return Out(info.Env(), at::argmax(T(info, 0), dim ? c10::optional<int64_t>(static_cast<int64_t>(*dim)) : c10::nullopt, keep));
})

// quantile(t, q, dim|null, keepdim) with linear interpolation (numpy's default)
RDL_OP(quantile, {
  const at::Tensor& t = T(info, 0);
  double q = Num(info, 1);
  auto dim = OptNum(info, 2);
  bool keep = info.Length() > 3 && Bool(info, 3);
  if (q < 0 || q > 1) throw std::invalid_argument("quantile q must be within [0, 1]");
  // at::quantile refuses inputs over 16M elements; kthvalue has no such limit and gives the
  // same linear interpolation.
  at::Tensor x = dim ? t : t.reshape({-1});
  int64_t d = dim ? static_cast<int64_t>(*dim) : 0;
  if (d < 0) d += x.dim();
  int64_t n = x.size(d);
  if (n == 0) throw std::invalid_argument("quantile of an empty tensor");
  double pos = q * (n - 1);
  int64_t lo = static_cast<int64_t>(std::floor(pos));
  int64_t hi = std::min(lo + 1, n - 1);
  double frac = pos - lo;
  at::Tensor vlo = std::get<0>(at::kthvalue(x, lo + 1, d, keep));
  at::Tensor out = vlo;
  if (frac > 0) {
    at::Tensor vhi = std::get<0>(at::kthvalue(x, hi + 1, d, keep));
    out = at::lerp(vlo, vhi, frac);
  }
  return Out(info.Env(), out);
})

// Products smaller than this (multiply-adds), or with a shorter inner dimension (memory-bound:
// a split gains little and the join's copy costs more), are not worth a parallel region.
constexpr double kMinParallelMatmulWork = 1 << 20;
constexpr int64_t kMinParallelMatmulInner = 32;

/**
 * a·b with a's rows (dim −2) split over the calling thread's OpenMP team (JoinedOverTeam), each
 * share one BLAS call, and the results joined (a copy along dim −2). OpenBLAS runs single-threaded
 * in rdl (addon.cc) and libtorch parallelises neither a single product nor a batched one, so a
 * [3, 256, 256]·[3, 256, 41] complex product used one core of two (0.69 ms; split: 0.4 ms). Not
 * where autograd would record the ops, nor on other devices.
 */
at::Tensor SplitRowsMatmul(const at::Tensor& a, const at::Tensor& b) {
  if (a.dim() < 2 || b.dim() < 2 || !a.is_cpu() || !b.is_cpu() || a.requires_grad() || b.requires_grad()) {
    return at::matmul(a, b);
  }
  const int64_t rows = a.size(-2);
  const double work = static_cast<double>(a.numel()) * static_cast<double>(b.size(-1));
  const int64_t chunks = std::min<int64_t>(rows, at::get_num_threads());
  if (chunks < 2 || work < kMinParallelMatmulWork || a.size(-1) < kMinParallelMatmulInner) return at::matmul(a, b);
  at::Tensor out =
      JoinedOverTeam(rows, chunks, -2, [&](int64_t from, int64_t length) { return at::matmul(a.narrow(-2, from, length), b); });
  return out.defined() ? out : at::matmul(a, b);
}

RDL_OP(matmul, { return Out(info.Env(), SplitRowsMatmul(T(info, 0), T(info, 1))); })

}  // namespace

void RegisterMath(Napi::Env env, Napi::Object exports) {
  RDL_EXPORT(exports, unary);
  RDL_EXPORT(exports, binary);
  RDL_EXPORT(exports, rbinary);
  RDL_EXPORT(exports, where);
  RDL_EXPORT(exports, clamp);
  RDL_EXPORT(exports, leakyRelu);
  RDL_EXPORT(exports, inplace);
  RDL_EXPORT(exports, reduce);
  RDL_EXPORT(exports, argmax);
  RDL_EXPORT(exports, quantile);
  RDL_EXPORT(exports, matmul);
}

}  // namespace rdl
