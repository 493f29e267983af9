import type { sandboxCommand } from './command.ts';
import type { HandlersOf } from '../../spec.ts';
import { cp } from './cp.ts';
import { exec } from './exec.ts';
import { filesCat, filesLs, filesMkdir, filesMv, filesRm, filesStat, filesWatch } from './files.ts';
import { create, get, list, remove, resume, stop } from './lifecycle.ts';
import { portForward } from './port-forward.ts';
import { portsForward, portsList, portsPreview, portsRemove } from './ports.ts';
import { kill, logs, ps } from './processes.ts';
import { events, top } from './observe.ts';
import { share, shares, unshare } from './shares.ts';
import { terminal } from './terminal.ts';

export const sandboxHandlers: HandlersOf<typeof sandboxCommand> = {
  create,
  list,
  get,
  stop,
  resume,
  share,
  unshare,
  shares,
  top,
  events,
  delete: remove,
  exec,
  terminal,
  'port-forward': portForward,
  'ports list': portsList,
  'ports forward': portsForward,
  'ports remove': portsRemove,
  'ports preview': portsPreview,
  ps,
  logs,
  kill,
  cp,
  'files ls': filesLs,
  'files cat': filesCat,
  'files stat': filesStat,
  'files mkdir': filesMkdir,
  'files mv': filesMv,
  'files rm': filesRm,
  'files watch': filesWatch,
};
