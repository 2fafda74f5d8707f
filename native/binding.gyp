{
  "targets": [
    {
      "target_name": "stratum_native",
      "sources": ["<!@(ls -1 cc/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "stratum-init",
      "type": "executable",
      "sources": ["<!@(ls -1 cc/init/*.cc)"],
      "defines": ["_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fno-exceptions", "-fno-rtti", "-fPIE"],
      "ldflags": ["-static-pie"]
    }
  ]
}
