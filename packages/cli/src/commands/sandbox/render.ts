import type { FileEntry, PortView, ProcessInfo, SandboxView } from '@agenttier/sdk';
import type { Style } from '../../output.ts';
import { formatAge, formatBytes, printable, renderDetails, renderTable, truncate } from '../../output.ts';

export function sandboxTable(views: SandboxView[], style: Style, now = Date.now()): string {
  const namespaces = new Set(views.map((v) => v.namespace));
  const withNs = namespaces.size > 1;
  // Shared sandboxes in the list: say how you may act on each (owner, viewer, operator).
  const withAccess = views.some((v) => v.access === 'viewer' || v.access === 'operator');
  const headers = [
    'NAME',
    ...(withNs ? ['NAMESPACE'] : []),
    'STATUS',
    'TEMPLATE',
    'MODE',
    ...(withAccess ? ['ACCESS'] : []),
    'AGE',
  ];
  const rows = views.map((v) => [
    v.name,
    ...(withNs ? [v.namespace] : []),
    style.phase(v.status || 'Unknown'),
    v.templateRef || '-',
    v.mode || '-',
    ...(withAccess ? [v.access ?? '-'] : []),
    formatAge(v.createdAt, now),
  ]);
  return renderTable(headers, rows);
}

export function sandboxDetails(v: SandboxView, style: Style, now = Date.now()): string {
  const labels = Object.entries(v.labels ?? {})
    .map(([k, val]) => `${k}=${val}`)
    .join(', ');
  const created = v.createdAt ? `${v.createdAt} (${formatAge(v.createdAt, now)} ago)` : undefined;
  return renderDetails([
    ['Name', v.name],
    ['Namespace', v.namespace],
    ['Status', style.phase(v.status || 'Unknown')],
    ['Desired', v.desiredState],
    ['Message', v.message],
    ['Reason', v.reason],
    ['Template', v.templateRef],
    ['Mode', v.mode],
    ['Created', created],
    ['Started', v.startedAt],
    ['Last activity', v.lastActivityAt],
    ['Timeout', v.timeout],
    ['Idle timeout', v.idleTimeout],
    ['Created by', v.createdBy?.email ?? v.createdBy?.sub],
    ['Workload', v.podName],
    ['Volume', v.pvcName],
    ['Labels', labels],
  ]);
}

export function filesTable(entries: FileEntry[], style: Style): string {
  const rows = entries.map((e) => [
    e.mode || '-',
    e.isDir ? '-' : formatBytes(e.size),
    e.modifiedAt ? new Date(e.modifiedAt * 1000).toISOString().replace('T', ' ').slice(0, 16) : '-',
    e.isDir
      ? style.bold(`${printable(e.name)}/`)
      : e.symlinkTarget
        ? `${printable(e.name)} -> ${printable(e.symlinkTarget)}`
        : printable(e.name),
  ]);
  return renderTable(['MODE', 'SIZE', 'MODIFIED', 'NAME'], rows);
}

export function processTable(procs: ProcessInfo[], style: Style, now = Date.now()): string {
  const rows = procs.map((p) => [
    printable(p.id),
    printable(p.name ?? '-'),
    p.pid === null ? '-' : String(p.pid),
    p.state === 'running' ? style.green(p.state) : style.dim(p.state),
    p.exitCode === null
      ? '-'
      : `${p.exitCode}${p.signal ? ` (${p.signal})` : ''}${p.timedOut ? ' timeout' : ''}`,
    formatAge(p.startedAt, now),
    printable(truncate(p.command.join(' '), 60)),
  ]);
  return renderTable(['ID', 'NAME', 'PID', 'STATE', 'EXIT', 'AGE', 'COMMAND'], rows);
}

export function portsTable(ports: PortView[], style: Style): string {
  const rows = ports.map((p) => [
    String(p.port),
    p.protocol,
    p.listening === undefined ? '-' : p.listening ? style.green('yes') : style.yellow('no'),
    p.previewUrl ?? '-',
  ]);
  return renderTable(['PORT', 'PROTOCOL', 'LISTENING', 'PREVIEW URL'], rows);
}
