/*
 * agenttier-prctl.node: the one thing sandboxd needs from prctl(2) that Node does not offer.
 * setDumpable(false) makes sandboxd non-dumpable: the sandbox's code, which runs as the same uid,
 * can then no longer ptrace it, read or write its memory through /proc/PID/mem, or read its
 * /proc/PID/environ, maps or fd links (docs/security.md, "sandboxd against its own sandbox").
 */
#include <node_api.h>
#include <stdbool.h>
#include <sys/prctl.h>

static napi_value set_dumpable(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc > 0) napi_get_value_bool(env, argv[0], &on);
  napi_value ok;
  napi_get_boolean(env, prctl(PR_SET_DUMPABLE, on ? 1 : 0, 0, 0, 0) == 0, &ok);
  return ok;
}

static napi_value get_dumpable(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "setDumpable", NAPI_AUTO_LENGTH, set_dumpable, NULL, &fn);
  napi_set_named_property(env, exports, "setDumpable", fn);
  napi_create_function(env, "isDumpable", NAPI_AUTO_LENGTH, get_dumpable, NULL, &fn);
  napi_set_named_property(env, exports, "isDumpable", fn);
  return exports;
}
