// Shape and indexing ops: views, copies, concatenation, padding, repetition.
#include "common.h"

namespace rdl {
namespace {

RDL_OP(reshape, { return Out(info.Env(), T(info, 0).reshape(Ints(info, 1))); })
RDL_OP(view, { return Out(info.Env(), T(info, 0).view(Ints(info, 1))); })
RDL_OP(permute, { return Out(info.Env(), T(info, 0).permute(Ints(info, 1))); })
RDL_OP(transpose, { return Out(info.Env(), T(info, 0).transpose(Int(info, 1), Int(info, 2))); })
RDL_OP(contiguous, { return Out(info.Env(), T(info, 0).contiguous()); })
RDL_OP(clone, { return Out(info.Env(), T(info, 0).clone()); })
RDL_OP(narrow, { return Out(info.Env(), T(info, 0).narrow(Int(info, 1), Int(info, 2), Int(info, 3))); })
// slice(t, dim, start, end, step): end may be null (to the end)
RDL_OP(slice, {
  auto end = OptNum(info, 3);
  return Out(info.Env(), T(info, 0).slice(Int(info, 1), Int(info, 2),
                                          end ? c10::optional<int64_t>(static_cast<int64_t>(*end)) : c10::nullopt,
                                          info.Length() > 4 ? Int(info, 4) : 1));
})
RDL_OP(select, { return Out(info.Env(), T(info, 0).select(Int(info, 1), Int(info, 2))); })
RDL_OP(indexSelect, { return Out(info.Env(), at::index_select(T(info, 0), Int(info, 1), T(info, 2))); })
RDL_OP(gather, { return Out(info.Env(), at::gather(T(info, 0), Int(info, 1), T(info, 2))); })
RDL_OP(maskedFill, { return Out(info.Env(), at::masked_fill(T(info, 0), T(info, 1), Num(info, 2))); })
RDL_OP(unfold, { return Out(info.Env(), T(info, 0).unfold(Int(info, 1), Int(info, 2), Int(info, 3))); })
RDL_OP(flip, { return Out(info.Env(), at::flip(T(info, 0), Ints(info, 1))); })
RDL_OP(roll, { return Out(info.Env(), at::roll(T(info, 0), Ints(info, 1), Ints(info, 2))); })
RDL_OP(cat, { return Out(info.Env(), at::cat(TList(info, 0), Int(info, 1))); })
RDL_OP(stack, { return Out(info.Env(), at::stack(TList(info, 0), Int(info, 1))); })
RDL_OP(repeat, { return Out(info.Env(), T(info, 0).repeat(Ints(info, 1))); })
RDL_OP(expand, { return Out(info.Env(), T(info, 0).expand(Ints(info, 1))); })
RDL_OP(squeeze, {
  auto dim = OptNum(info, 1);
  return Out(info.Env(), dim ? T(info, 0).squeeze(static_cast<int64_t>(*dim)) : T(info, 0).squeeze());
})
RDL_OP(unsqueeze, { return Out(info.Env(), T(info, 0).unsqueeze(Int(info, 1))); })

// pad(t, pads, mode, value): pads as in torch.nn.functional.pad (last dim first, [before, after]
// pairs); mode 'constant' | 'reflect' | 'replicate' | 'circular'.
RDL_OP(pad, {
  const at::Tensor& t = T(info, 0);
  auto pads = Ints(info, 1);
  std::string mode = Str(info, 2);
  if (pads.size() % 2 != 0) throw std::invalid_argument("pad needs [before, after] pairs");
  if (mode == "constant") return Out(info.Env(), at::constant_pad_nd(t, pads, OptNum(info, 3).value_or(0.0)));
  size_t n = pads.size() / 2;
  if (mode == "reflect") {
    if (n == 1) return Out(info.Env(), at::reflection_pad1d(t, pads));
    if (n == 2) return Out(info.Env(), at::reflection_pad2d(t, pads));
    if (n == 3) return Out(info.Env(), at::reflection_pad3d(t, pads));
  } else if (mode == "replicate") {
    if (n == 1) return Out(info.Env(), at::replication_pad1d(t, pads));
    if (n == 2) return Out(info.Env(), at::replication_pad2d(t, pads));
    if (n == 3) return Out(info.Env(), at::replication_pad3d(t, pads));
  } else if (mode == "circular") {
    return Out(info.Env(), at::_pad_circular(t, pads));
  } else {
    throw std::invalid_argument("unknown pad mode '" + mode + "' (constant, reflect, replicate, circular)");
  }
  throw std::invalid_argument(mode + " padding takes 1 to 3 dimensions, got " + std::to_string(n));
})

}  // namespace

void RegisterShape(Napi::Env env, Napi::Object exports) {
  RDL_EXPORT(exports, reshape);
  RDL_EXPORT(exports, view);
  RDL_EXPORT(exports, permute);
  RDL_EXPORT(exports, transpose);
  RDL_EXPORT(exports, contiguous);
  RDL_EXPORT(exports, clone);
  RDL_EXPORT(exports, narrow);
  RDL_EXPORT(exports, slice);
  RDL_EXPORT(exports, select);
  RDL_EXPORT(exports, indexSelect);
  RDL_EXPORT(exports, gather);
  RDL_EXPORT(exports, maskedFill);
  RDL_EXPORT(exports, unfold);
  RDL_EXPORT(exports, flip);
  RDL_EXPORT(exports, roll);
  RDL_EXPORT(exports, cat);
  RDL_EXPORT(exports, stack);
  RDL_EXPORT(exports, repeat);
  RDL_EXPORT(exports, expand);
  RDL_EXPORT(exports, squeeze);
  RDL_EXPORT(exports, unsqueeze);
  RDL_EXPORT(exports, pad);
}

}  // namespace rdl
