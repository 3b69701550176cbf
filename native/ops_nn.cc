// Neural-network and signal ops: convolution, pooling, resampling, pixel shuffle, spatial
// transforms and FFTs (complex tensors; all differentiable through libtorch's autograd).
#include "common.h"

#include <ATen/Parallel.h>

namespace rdl {
namespace {

// conv(x, w, b|null, stride[], padding[] | 'same' | 'valid', dilation[], groups): 1D/2D/3D by w.dim()
RDL_OP(conv, {
  const at::Tensor& x = T(info, 0);
  const at::Tensor& w = T(info, 1);
  auto b = OptT(info, 2);
  auto stride = Ints(info, 3);
  auto dilation = Ints(info, 5);
  int64_t groups = Int(info, 6);
  c10::optional<at::Tensor> bias = b ? c10::optional<at::Tensor>(*b) : c10::nullopt;
  if (w.dim() < 3 || w.dim() > 5) throw std::invalid_argument("weight must have 3 to 5 dims (out, in/groups, kernel…)");
  if (info[4].IsString()) {
    std::string mode = Str(info, 4);
    if (mode != "same" && mode != "valid") throw std::invalid_argument("padding must be 'same', 'valid' or a list");
    switch (w.dim()) {
      case 3: return Out(info.Env(), at::conv1d(x, w, bias, stride, mode, dilation, groups));
      case 4: return Out(info.Env(), at::conv2d(x, w, bias, stride, mode, dilation, groups));
      default: return Out(info.Env(), at::conv3d(x, w, bias, stride, mode, dilation, groups));
    }
  }
  auto padding = Ints(info, 4);
  switch (w.dim()) {
    case 3: return Out(info.Env(), at::conv1d(x, w, bias, stride, padding, dilation, groups));
    case 4: return Out(info.Env(), at::conv2d(x, w, bias, stride, padding, dilation, groups));
    default: return Out(info.Env(), at::conv3d(x, w, bias, stride, padding, dilation, groups));
  }
})

// pool(kind, t, kernel[], stride[], padding[]): kind 'avg' | 'max'; 2D or 3D by kernel length
RDL_OP(pool, {
  std::string kind = Str(info, 0);
  const at::Tensor& t = T(info, 1);
  auto k = Ints(info, 2), s = Ints(info, 3), p = Ints(info, 4);
  if (k.size() == 2) {
    if (kind == "avg") return Out(info.Env(), at::avg_pool2d(t, k, s, p));
    if (kind == "max") return Out(info.Env(), at::max_pool2d(t, k, s, p));
  } else if (k.size() == 3) {
    if (kind == "avg") return Out(info.Env(), at::avg_pool3d(t, k, s, p));
    if (kind == "max") return Out(info.Env(), at::max_pool3d(t, k, s, p));
  }
  throw std::invalid_argument("pool: kind must be avg or max with a 2- or 3-element kernel");
})

RDL_OP(adaptiveAvgPool, {
  const at::Tensor& t = T(info, 0);
  auto size = Ints(info, 1);
  if (size.size() == 2) return Out(info.Env(), at::adaptive_avg_pool2d(t, size));
  if (size.size() == 3) return Out(info.Env(), at::adaptive_avg_pool3d(t, size));
  throw std::invalid_argument("adaptive pooling takes a 2- or 3-element output size");
})

// interpolate(t, size[], mode): align_corners false, no antialias (PyTorch's and TF2's
// half-pixel-centre resize).
RDL_OP(interpolate, {
  const at::Tensor& t = T(info, 0);
  auto size = Ints(info, 1);
  std::string mode = Str(info, 2);
  if (size.size() + 2 != static_cast<size_t>(t.dim())) {
    throw std::invalid_argument("size has " + std::to_string(size.size()) + " dims for a " + std::to_string(t.dim()) +
                                "-dim input (expected batch, channels, then one size per spatial dim)");
  }
  if (mode == "nearest") {
    if (size.size() == 1) return Out(info.Env(), at::upsample_nearest1d(t, at::IntArrayRef(size), c10::optional<double>()));
    if (size.size() == 2) return Out(info.Env(), at::upsample_nearest2d(t, size, c10::nullopt, c10::nullopt));
    if (size.size() == 3) return Out(info.Env(), at::upsample_nearest3d(t, size, c10::nullopt, c10::nullopt, c10::nullopt));
  }
  if (mode == "linear" && size.size() == 1) return Out(info.Env(), at::upsample_linear1d(t, at::IntArrayRef(size), false, c10::optional<double>()));
  if (mode == "bilinear" && size.size() == 2) return Out(info.Env(), at::upsample_bilinear2d(t, size, false, c10::nullopt, c10::nullopt));
  if (mode == "bicubic" && size.size() == 2) return Out(info.Env(), at::upsample_bicubic2d(t, size, false, c10::nullopt, c10::nullopt));
  if (mode == "trilinear" && size.size() == 3) {
    return Out(info.Env(), at::upsample_trilinear3d(t, size, false, c10::nullopt, c10::nullopt, c10::nullopt));
  }
  throw std::invalid_argument("interpolate: mode '" + mode + "' does not fit a " + std::to_string(size.size()) + "-D size");
})

RDL_OP(pixelShuffle, { return Out(info.Env(), at::pixel_shuffle(T(info, 0), Int(info, 1))); })
RDL_OP(pixelUnshuffle, { return Out(info.Env(), at::pixel_unshuffle(T(info, 0), Int(info, 1))); })

RDL_OP(affineGrid, { return Out(info.Env(), at::affine_grid_generator(T(info, 0), Ints(info, 1), Bool(info, 2))); })

// gridSample(t, grid, mode, paddingMode, alignCorners)
RDL_OP(gridSample, {
  std::string mode = Str(info, 2), pad = Str(info, 3);
  int64_t m = mode == "bilinear" ? 0 : mode == "nearest" ? 1 : mode == "bicubic" ? 2 : -1;
  int64_t p = pad == "zeros" ? 0 : pad == "border" ? 1 : pad == "reflection" ? 2 : -1;
  if (m < 0) throw std::invalid_argument("grid sample mode must be bilinear, nearest or bicubic");
  if (p < 0) throw std::invalid_argument("grid sample padding must be zeros, border or reflection");
  return Out(info.Env(), at::grid_sampler(T(info, 0), T(info, 1), m, p, Bool(info, 4)));
})

RDL_OP(softmax, { return Out(info.Env(), at::softmax(T(info, 0), Int(info, 1))); })

// A CPU transform smaller than this (elements per slice) is not worth a parallel region.
constexpr int64_t kMinParallelFftElements = 64 * 64;

/**
 * libtorch's CPU FFT (pocketfft, in builds without MKL such as Debian's) runs the transforms of a
 * batch one after another on one thread: a [6, 256, 256] complex ifft2 took 2 ms on 1 or 2 threads
 * alike. When the transformed dims are the last ones, the slices along the others are independent
 * transforms, so they are split over the calling thread's OpenMP team (JoinedOverTeam;
 * at::parallel_for would run serially here, being inlined into this addon, which is not built with
 * OpenMP) and joined (a copy): 1.1 ms on 2 cores. Other threads (libtorch's inter-op pool) were no
 * faster: the team's threads spin for a while after each parallel op and took the cores from them.
 * Not where autograd would record the ops (the graph would be built across threads) or on other
 * devices. pocketfft's plan cache is locked, so concurrent transforms are safe.
 */
at::Tensor SplitOverBatch(const at::Tensor& t, const std::vector<int64_t>& transformed,
                          const std::function<at::Tensor(const at::Tensor&)>& transform) {
  // The batch: the dims before the transformed ones, which must be the last few (as for every
  // transform rdl makes). Several leading dims are flattened into one where a view can (so that a
  // [3, 2, H, W] ifft2 splits 3 + 3, not 2 + 1 orientations); otherwise dim 0 is split.
  const int64_t rank = t.dim();
  const int64_t k = static_cast<int64_t>(transformed.size());
  bool trailing = k > 0 && k < rank;
  for (int64_t i = 0; trailing && i < k; ++i) trailing = transformed[i] == i - k;
  if (!trailing || !t.is_cpu() || t.requires_grad()) return transform(t);
  const int64_t leading = t.is_contiguous() ? rank - k : 1;
  std::vector<int64_t> batchShape(t.sizes().begin(), t.sizes().begin() + leading);
  std::vector<int64_t> flatShape{-1};
  flatShape.insert(flatShape.end(), t.sizes().begin() + leading, t.sizes().end());
  const at::Tensor flat = leading > 1 ? t.view(flatShape) : t;
  const int64_t n = flat.size(0);
  const int64_t chunks = std::min<int64_t>(n, at::get_num_threads());
  if (chunks < 2 || flat.numel() / n < kMinParallelFftElements) return transform(t);
  at::Tensor out =
      JoinedOverTeam(n, chunks, 0, [&](int64_t from, int64_t length) { return transform(flat.narrow(0, from, length)); });
  if (!out.defined()) return transform(t);
  std::vector<int64_t> outShape = batchShape;
  outShape.insert(outShape.end(), out.sizes().begin() + 1, out.sizes().end());
  return out.view(outShape);
}

// fft(kind, t, s|null, dims|null, norm|null)
RDL_OP(fft, {
  std::string kind = Str(info, 0);
  const at::Tensor& t = T(info, 1);
  auto s = OptInts(info, 2);
  auto dims = OptInts(info, 3);
  c10::optional<c10::string_view> norm;
  std::string normStr;
  if (info.Length() > 4 && info[4].IsString()) {
    normStr = Str(info, 4);
    norm = normStr;
  }
  at::OptionalIntArrayRef sArg = s ? at::OptionalIntArrayRef(*s) : c10::nullopt;
  at::OptionalIntArrayRef dArg = dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt;
  const bool twoD = kind.size() >= 4 && kind.compare(kind.size() - 1, 1, "2") == 0;
  // The transformed dims, counted from the end (SplitOverBatch may flatten the leading ones). The
  // n-D transforms' default is all dims, or the last len(s) when s is given.
  std::vector<int64_t> transformed;
  if (dims) {
    // Out-of-range dims are passed on as given, for libtorch's own error.
    for (int64_t d : *dims) transformed.push_back(d >= 0 && d < t.dim() ? d - t.dim() : d);
  } else if (twoD) {
    transformed = {-2, -1};
  } else {
    const int64_t count = s ? static_cast<int64_t>(s->size()) : t.dim();
    for (int64_t d = -count; d < 0; ++d) transformed.push_back(d);
  }
  at::IntArrayRef d2 = at::IntArrayRef(transformed);
  if (dims) dArg = d2;
  std::function<at::Tensor(const at::Tensor&)> f;
  if (kind == "fft2") f = [&](const at::Tensor& x) { return at::fft_fft2(x, sArg, d2, norm); };
  else if (kind == "ifft2") f = [&](const at::Tensor& x) { return at::fft_ifft2(x, sArg, d2, norm); };
  else if (kind == "rfft2") f = [&](const at::Tensor& x) { return at::fft_rfft2(x, sArg, d2, norm); };
  else if (kind == "irfft2") f = [&](const at::Tensor& x) { return at::fft_irfft2(x, sArg, d2, norm); };
  else if (kind == "fftn") f = [&](const at::Tensor& x) { return at::fft_fftn(x, sArg, dArg, norm); };
  else if (kind == "ifftn") f = [&](const at::Tensor& x) { return at::fft_ifftn(x, sArg, dArg, norm); };
  else if (kind == "rfftn") f = [&](const at::Tensor& x) { return at::fft_rfftn(x, sArg, dArg, norm); };
  else if (kind == "irfftn") f = [&](const at::Tensor& x) { return at::fft_irfftn(x, sArg, dArg, norm); };
  else throw std::invalid_argument("unknown FFT kind '" + kind + "'");
  return Out(info.Env(), SplitOverBatch(t, transformed, f));
})

RDL_OP(fftshift, {
  auto dims = OptInts(info, 1);
  return Out(info.Env(), at::fft_fftshift(T(info, 0), dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt));
})
RDL_OP(ifftshift, {
  auto dims = OptInts(info, 1);
  return Out(info.Env(), at::fft_ifftshift(T(info, 0), dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt));
})

}  // namespace

void RegisterNN(Napi::Env env, Napi::Object exports) {
  RDL_EXPORT(exports, conv);
  RDL_EXPORT(exports, pool);
  RDL_EXPORT(exports, adaptiveAvgPool);
  RDL_EXPORT(exports, interpolate);
  RDL_EXPORT(exports, pixelShuffle);
  RDL_EXPORT(exports, pixelUnshuffle);
  RDL_EXPORT(exports, affineGrid);
  RDL_EXPORT(exports, gridSample);
  RDL_EXPORT(exports, softmax);
  RDL_EXPORT(exports, fft);
  RDL_EXPORT(exports, fftshift);
  RDL_EXPORT(exports, ifftshift);
}

}  // namespace rdl
