/*
 * Sets atime and mtime to the nanosecond (Node's utimes family passes a double through libuv, which keeps the
 * microsecond). futimens(fd, ns) on an open file; lutimens(path, ns) on a path itself, never following a final
 * symlink. ns: BigInt nanoseconds since the epoch, negative before 1970. Errors throw with `code` the errno name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <node_api.h>

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EBADF: return "EBADF";
    case EACCES: return "EACCES"; case EINVAL: return "EINVAL"; case EROFS: return "EROFS";
    case ENAMETOOLONG: return "ENAMETOOLONG"; case ELOOP: return "ELOOP"; case ENOTDIR: return "ENOTDIR";
    default: return "EIO";
  }
}

static napi_value fail(napi_env env, int e, const char *syscall) {
  char message[128];
  strncpy(message, syscall, sizeof message - 1);
  message[sizeof message - 1] = 0;
  strncat(message, ": ", sizeof message - strlen(message) - 1);
  strncat(message, strerror(e), sizeof message - strlen(message) - 1);
  napi_throw_error(env, errno_name(e), message);
  return NULL;
}

/* Splits ns into a timespec with 0 <= tv_nsec < 1e9 (floor division for negative times). */
static int to_timespec(napi_env env, napi_value v, struct timespec *ts) {
  int64_t ns;
  bool lossless;
  if (napi_get_value_bigint_int64(env, v, &ns, &lossless) != napi_ok || !lossless) {
    napi_throw_type_error(env, "EINVAL", "time must be a BigInt of nanoseconds in int64 range");
    return 0;
  }
  int64_t sec = ns / 1000000000, rest = ns % 1000000000;
  if (rest < 0) { rest += 1000000000; sec -= 1; }
  ts[0].tv_sec = ts[1].tv_sec = (time_t)sec;
  ts[0].tv_nsec = ts[1].tv_nsec = (long)rest;
  return 1;
}

static napi_value js_futimens(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  struct timespec ts[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "futimens(fd, ns)");
    return NULL;
  }
  if (!to_timespec(env, argv[1], ts)) return NULL;
  if (futimens(fd, ts) != 0) return fail(env, errno, "futimens");
  return NULL;
}

static napi_value js_lutimens(napi_env env, napi_callback_info info) {
  size_t argc = 2, len;
  napi_value argv[2];
  struct timespec ts[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "lutimens(path, ns)");
    return NULL;
  }
  char *path = malloc(len + 1);
  if (!path) return fail(env, ENOMEM, "lutimens");
  napi_get_value_string_utf8(env, argv[0], path, len + 1, &len);
  if (!to_timespec(env, argv[1], ts)) { free(path); return NULL; }
  int rc = utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
  int e = errno;
  free(path);
  if (rc != 0) return fail(env, e, "utimensat");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "futimens", NULL, js_futimens, NULL, NULL, NULL, napi_default, NULL },
    { "lutimens", NULL, js_lutimens, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
