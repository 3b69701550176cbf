// Neural-network and signal ops: convolution, pooling, resampling, pixel shuffle, spatial
// transforms and FFTs (complex tensors; all differentiable through libtorch's autograd).
#include "common.h"

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
  std::vector<int64_t> last2 = {-2, -1};
  at::IntArrayRef d2 = dims ? at::IntArrayRef(*dims) : at::IntArrayRef(last2);
  if (kind == "fft2") return Out(info.Env(), at::fft_fft2(t, sArg, d2, norm));
  if (kind == "ifft2") return Out(info.Env(), at::fft_ifft2(t, sArg, d2, norm));
  if (kind == "rfft2") return Out(info.Env(), at::fft_rfft2(t, sArg, d2, norm));
  if (kind == "irfft2") return Out(info.Env(), at::fft_irfft2(t, sArg, d2, norm));
  if (kind == "fftn") return Out(info.Env(), at::fft_fftn(t, sArg, dArg, norm));
  if (kind == "ifftn") return Out(info.Env(), at::fft_ifftn(t, sArg, dArg, norm));
  if (kind == "rfftn") return Out(info.Env(), at::fft_rfftn(t, sArg, dArg, norm));
  if (kind == "irfftn") return Out(info.Env(), at::fft_irfftn(t, sArg, dArg, norm));
  throw std::invalid_argument("unknown FFT kind '" + kind + "'");
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
