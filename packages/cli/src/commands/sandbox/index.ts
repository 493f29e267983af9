import type { HandlerMap } from '../../spec.ts';
import { cp } from './cp.ts';
import { exec } from './exec.ts';
import { filesCat, filesLs } from './files.ts';
import { create, get, list, remove, resume, stop } from './lifecycle.ts';

export const sandboxHandlers: HandlerMap = {
  create,
  list,
  get,
  stop,
  resume,
  delete: remove,
  exec,
  cp,
  'files ls': filesLs,
  'files cat': filesCat,
};
