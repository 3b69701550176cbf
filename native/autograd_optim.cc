// Autograd controls (requires-grad flags, backward, gradients, grad mode) and the fused Adam
// update, which runs every parameter's update in one native call.
#include "common.h"

#include <cmath>

namespace rdl {
namespace {

RDL_OP(setRequiresGrad, {
  T(info, 0).set_requires_grad(Bool(info, 1));
  return info.Env().Undefined();
})
RDL_OP(requiresGrad, { return Napi::Boolean::New(info.Env(), T(info, 0).requires_grad()); })

// backward(t, gradient|null, retainGraph)
RDL_OP(backward, {
  const at::Tensor& t = T(info, 0);
  auto g = OptT(info, 1);
  if (!t.requires_grad()) throw std::invalid_argument("backward() of a tensor that does not require grad");
  if (!g && t.numel() != 1) throw std::invalid_argument("backward() of a non-scalar needs a gradient tensor");
  bool retain = info.Length() > 2 && Bool(info, 2);
  t.backward(g ? *g : at::Tensor(), retain);
  return info.Env().Undefined();
})

RDL_OP(grad, {
  const at::Tensor& g = T(info, 0).grad();
  if (!g.defined()) return info.Env().Null();
  return Out(info.Env(), g);
})

RDL_OP(clearGrad, {
  T(info, 0).mutable_grad() = at::Tensor();
  return info.Env().Undefined();
})

RDL_OP(detach, { return Out(info.Env(), T(info, 0).detach()); })

// setGradEnabled(on) -> previous
RDL_OP(setGradEnabled, {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(Bool(info, 0));
  return Napi::Boolean::New(info.Env(), prev);
})
RDL_OP(isGradEnabled, { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); })

// adamStep(params[], expAvg[], expAvgSq[], step, lr, beta1, beta2, eps, weightDecay, decoupled, kerasEps)
// PyTorch's Adam (decoupled=false) / AdamW (decoupled=true). kerasEps=true puts eps where
// Keras 2's Adam has it (added to sqrt(v) before the bias correction), as the reference trains.
RDL_OP(adamStep, {
  auto params = TList(info, 0), m = TList(info, 1), v = TList(info, 2);
  double step = Num(info, 3), lr = Num(info, 4), b1 = Num(info, 5), b2 = Num(info, 6), eps = Num(info, 7), wd = Num(info, 8);
  bool decoupled = Bool(info, 9), kerasEps = Bool(info, 10);
  if (params.size() != m.size() || params.size() != v.size()) throw std::invalid_argument("adamStep: state lists differ in length");
  if (step < 1) throw std::invalid_argument("adamStep: step counts from 1");
  at::NoGradGuard no_grad;
  double bc1 = 1.0 - std::pow(b1, step), bc2 = 1.0 - std::pow(b2, step);
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor p = params[i];
    const at::Tensor& gr = p.grad();
    if (!gr.defined()) continue;
    at::Tensor g = gr;
    if (wd != 0) {
      if (decoupled) p.mul_(1.0 - lr * wd);
      else g = g.add(p, wd);
    }
    m[i].mul_(b1).add_(g, 1.0 - b1);
    v[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
    if (kerasEps) {
      at::Tensor denom = v[i].sqrt().add_(eps);
      p.addcdiv_(m[i], denom, -lr * std::sqrt(bc2) / bc1);
    } else {
      at::Tensor denom = v[i].sqrt().div_(std::sqrt(bc2)).add_(eps);
      p.addcdiv_(m[i], denom, -lr / bc1);
    }
  }
  return info.Env().Undefined();
})

}  // namespace

void RegisterAutogradOptim(Napi::Env env, Napi::Object exports) {
  RDL_EXPORT(exports, setRequiresGrad);
  RDL_EXPORT(exports, requiresGrad);
  RDL_EXPORT(exports, backward);
  RDL_EXPORT(exports, grad);
  RDL_EXPORT(exports, clearGrad);
  RDL_EXPORT(exports, detach);
  RDL_EXPORT(exports, setGradEnabled);
  RDL_EXPORT(exports, isGradEnabled);
  RDL_EXPORT(exports, adamStep);
}

}  // namespace rdl
