import type { PortView } from '@agenttier/sdk';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { useClient } from '../auth/session.tsx';
import { ConfirmDialog } from '../app/ConfirmDialog.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { isRunning } from './NotRunning.tsx';
import { openPreviewWindow, previewAddress } from './preview-link.ts';
import type { SandboxTabProps } from './tabs.ts';
import { sbxKeys, useSandboxHandle } from './use-sandbox-handle.ts';
import './sandbox-tabs.css';

const POLL_MS = 3000;
const PORT_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

/** Ports tab: forwarded ports, whether something listens, preview links; add and remove. */
export default function PortsTab({ sandbox }: SandboxTabProps): ReactNode {
  const handle = useSandboxHandle(sandbox);
  const client = useClient();
  const qc = useQueryClient();
  const key = sbxKeys.ports(sandbox.namespace, sandbox.name);
  const ports = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => handle.ports.list({ signal }),
    refetchInterval: POLL_MS,
    retry: false,
  });
  const [port, setPort] = useState('');
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [removing, setRemoving] = useState<PortView | undefined>(undefined);
  const [openError, setOpenError] = useState<unknown>(undefined);
  const [opening, setOpening] = useState<number | undefined>(undefined);

  const add = useMutation({
    mutationFn: (p: { port: number; name?: string }) =>
      handle.ports.forward(p.port, p.name ? { name: p.name } : {}),
    onSuccess: () => {
      setPort('');
      setName('');
      void qc.invalidateQueries({ queryKey: key });
    },
  });
  const remove = useMutation({
    mutationFn: (p: PortView) => handle.ports.remove(p.port),
    onSettled: () => void qc.invalidateQueries({ queryKey: key }),
  });

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      setProblem('Enter a port number from 1 to 65535.');
      return;
    }
    if (name && !PORT_NAME_RE.test(name)) {
      setProblem('A name uses lowercase letters, digits and “-”, starting with a letter.');
      return;
    }
    setProblem(undefined);
    add.mutate({ port: n, ...(name ? { name } : {}) });
  };

  const open = async (p: PortView): Promise<void> => {
    if (!p.previewUrl) return;
    setOpenError(undefined);
    setOpening(p.port);
    try {
      const url = await previewAddress({
        client,
        sandbox: sandbox.name,
        namespace: sandbox.namespace,
        port: p.port,
        previewUrl: p.previewUrl,
      });
      openPreviewWindow(url);
    } catch (err) {
      setOpenError(err);
    } finally {
      setOpening(undefined);
    }
  };

  const list = ports.data ?? [];
  return (
    <div className="stack">
      <form className="stack sbx-form" onSubmit={submit} aria-label="Forward a port">
        <h2>Forward a port</h2>
        <div className="row wrap">
          <label htmlFor="port-number">Port</label>
          <input
            id="port-number"
            inputMode="numeric"
            value={port}
            onChange={(e) => setPort(e.target.value)}
            placeholder="8000"
            size={7}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? 'port-problem' : undefined}
          />
          <label htmlFor="port-name">Name (optional)</label>
          <input
            id="port-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="web"
            size={10}
          />
          <button type="submit" className="primary" disabled={add.isPending}>
            {add.isPending ? 'Forwarding…' : 'Forward'}
          </button>
        </div>
        {problem ? (
          <p id="port-problem" role="alert" className="sbx-error">
            {problem}
          </p>
        ) : null}
        {add.isError ? <ErrorNote error={add.error} /> : null}
        <p className="muted small">
          A forwarded HTTP port gets a preview on its own address (its own origin), opened in a new tab. Start
          the server in the Terminal or Processes tab, e.g. <code>python3 -m http.server 8000</code>.
        </p>
      </form>
      <h2>Forwarded ports</h2>
      {!isRunning(sandbox) ? (
        <p className="muted">The sandbox is {sandbox.phase}: previews answer once it runs again.</p>
      ) : null}
      {openError ? <ErrorNote error={openError} /> : null}
      {ports.isPending ? (
        <p role="status" className="sbx-wait">
          <span className="sbx-spinner" aria-hidden="true" /> Loading ports…
        </p>
      ) : ports.isError ? (
        <ErrorNote error={ports.error} />
      ) : list.length === 0 ? (
        <p className="muted">No ports forwarded yet.</p>
      ) : (
        <div className="sbx-table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Port</th>
                <th scope="col">Name</th>
                <th scope="col">Listening</th>
                <th scope="col">Preview</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.port}>
                  <td>
                    {p.port} <span className="muted small">{p.protocol}</span>
                  </td>
                  <td>{p.name ?? '—'}</td>
                  <td>{p.listening === undefined ? 'unknown' : p.listening ? 'yes' : 'nothing yet'}</td>
                  <td>
                    {p.previewUrl ? (
                      <>
                        <button
                          type="button"
                          className="link"
                          disabled={opening === p.port}
                          onClick={() => void open(p)}
                          aria-label={`Open preview of port ${p.port} (new tab)`}
                        >
                          {opening === p.port ? 'Opening…' : 'Open preview'}
                        </button>{' '}
                        <code className="small">{p.previewUrl}</code>
                      </>
                    ) : (
                      <span className="muted small">
                        No preview address (the sandbox name contains “--”); use{' '}
                        <code>agenttier sandbox port-forward</code>.
                      </span>
                    )}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      onClick={() => setRemoving(p)}
                      aria-label={`Remove port ${p.port}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {remove.isError ? <ErrorNote error={remove.error} /> : null}
      {removing ? (
        <ConfirmDialog
          open
          title={`Stop forwarding port ${removing.port}?`}
          confirmLabel="Remove"
          danger
          onCancel={() => setRemoving(undefined)}
          onConfirm={() => {
            if (removing) remove.mutate(removing);
            setRemoving(undefined);
          }}
        >
          <p>Its preview address stops answering. The server in the sandbox keeps running.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
