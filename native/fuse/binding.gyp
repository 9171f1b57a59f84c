{
  "targets": [{
    "target_name": "fuse",
    "sources": ["gen/fuse-bytes.c"],
    "include_dirs": [
      "<!(node -e \"require('napi-macros')\")",
      "<!(node -e \"require('fuse-shared-library/include')\")"
    ],
    "libraries": ["<!(node -e \"require('fuse-shared-library/lib')\")"],
    "cflags": ["-O2", "-Wall", "-Wno-unused-result"]
  }]
}
