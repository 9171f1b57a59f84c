{
  "targets": [
    { "target_name": "utimens", "sources": ["utimens.c"], "cflags": ["-O2", "-Wall"] }
  ]
}
