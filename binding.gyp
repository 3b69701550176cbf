{
  "includes": ["native/libtorch.gypi"],
  "targets": [
    {
      "target_name": "rdl_native",
      "sources": [
        "native/addon.cc",
        "native/tensor.cc",
        "native/ops_math.cc",
        "native/ops_shape.cc",
        "native/ops_nn.cc",
        "native/autograd_optim.cc",
        "native/allocator.cc",
        "native/async.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<@(torch_include_dirs)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "<@(torch_defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["-L<(torch_lib_dir)", "-Wl,-rpath,<(torch_lib_dir)", "<@(torch_libraries)", "-ldl"]
    }
  ]
}
