import type { PortView } from '@agenttier/sdk';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { useClient } from '../auth/session.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { AskFirst } from './parts/AskFirst.tsx';
import { DataTable } from '../app/DataTable.tsx';
import { FormSection, NameField, SubmitButton, TextField } from './parts/form-parts.tsx';
import { QueryState } from './parts/QueryState.tsx';
import { isRunning } from './NotRunning.tsx';
import { openPreviewWindow, previewAddress } from './preview-link.ts';
import type { SandboxTabProps } from './tabs.ts';
import { sbxKeys, useSandboxHandle } from './use-sandbox-handle.ts';
import './sandbox-tabs.css';
import { usePolled } from './parts/use-polled.ts';

const POLL_MS = 3000;
const PORT_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

/** Ports tab: forwarded ports, whether something listens, preview links; add and remove. */
export default function PortsTab({ sandbox }: SandboxTabProps): ReactNode {
  const handle = useSandboxHandle(sandbox);
  const client = useClient();
  const qc = useQueryClient();
  const key = sbxKeys.ports(sandbox.namespace, sandbox.name);
  const ports = usePolled(key, (signal) => handle.ports.list({ signal }), POLL_MS);
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

  return (
    <div className="stack">
      <FormSection
        id="port-form-title"
        title="Forward a port"
        onSubmit={submit}
        problem={problem}
        problemId="port-problem"
        error={add.isError ? add.error : undefined}
        hint={
          <>
            A forwarded HTTP port gets a preview on its own address (its own origin), opened in a new tab.
            Start the server in the Terminal or Processes tab, e.g. <code>python3 -m http.server 8000</code>.
          </>
        }
      >
        <div className="row wrap">
          <TextField
            id="port-number"
            label="Port"
            inputMode="numeric"
            value={port}
            onValue={setPort}
            placeholder="8000"
            size={7}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? 'port-problem' : undefined}
          />
          <NameField id="port-name" value={name} onValue={setName} />
          <SubmitButton busy={add.isPending} label="Forward" busyLabel="Forwarding…" />
        </div>
      </FormSection>
      <h2>Forwarded ports</h2>
      {!isRunning(sandbox) ? (
        <p className="muted">The sandbox is {sandbox.phase}: previews answer once it runs again.</p>
      ) : null}
      {openError ? <ErrorNote error={openError} /> : null}
      <QueryState
        query={ports}
        loading="Loading ports…"
        isEmpty={(list) => list.length === 0}
        empty="No ports forwarded yet."
      >
        {(list) => (
          <DataTable columns={['Port', 'Name', 'Listening', 'Preview', 'Actions']}>
            {list.map((p) => (
              <tr key={p.port}>
                <td>
                  {p.port} <span className="muted small">{p.protocol}</span>
                </td>
                <td>{p.name ?? '—'}</td>
                <td>{p.listening === undefined ? 'unknown' : p.listening ? 'yes' : 'nothing yet'}</td>
                <td>
                  <PreviewCell port={p} opening={opening === p.port} onOpen={() => void open(p)} />
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
          </DataTable>
        )}
      </QueryState>
      {remove.isError ? <ErrorNote error={remove.error} /> : null}
      <AskFirst
        item={removing}
        onClose={() => setRemoving(undefined)}
        onConfirm={(p) => remove.mutate(p)}
        title={(p) => `Stop forwarding port ${p.port}?`}
        confirmLabel="Remove"
        danger
      >
        <p>Its preview address stops answering. The server in the sandbox keeps running.</p>
      </AskFirst>
    </div>
  );
}

function PreviewCell(props: { port: PortView; opening: boolean; onOpen: () => void }): ReactNode {
  const p = props.port;
  if (!p.previewUrl)
    return (
      <span className="muted small">
        No preview address (the sandbox name contains “--”); use <code>agenttier sandbox port-forward</code>.
      </span>
    );
  return (
    <>
      <button
        type="button"
        className="link"
        disabled={props.opening}
        onClick={props.onOpen}
        aria-label={`Open preview of port ${p.port} (new tab)`}
      >
        {props.opening ? 'Opening…' : 'Open preview'}
      </button>{' '}
      <code className="small">{p.previewUrl}</code>
    </>
  );
}
