import type { TemplateView } from '@agenttier/sdk';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { useTemplates } from '../api/queries.ts';
import { useClient, useSession } from '../auth/session.tsx';
import { ConfirmDialog } from '../app/ConfirmDialog.tsx';
import { describeError } from '../app/errors.ts';
import { DataTable } from '../app/DataTable.tsx';
import { LoadNote } from '../app/LoadNote.tsx';

/** Every template the user can see; open one to view or edit its YAML; delete (admins). */
export default function TemplatesPage(): ReactNode {
  const templates = useTemplates();
  const client = useClient();
  const { state } = useSession();
  const isAdmin = state.status === 'signed-in' && state.user.isAdmin;
  const qc = useQueryClient();
  const [toDelete, setToDelete] = useState<TemplateView | undefined>();
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | undefined>();

  const remove = async (t: TemplateView): Promise<void> => {
    setMessage(undefined);
    try {
      await client.templates.delete(t.name, {
        ...(t.kind === 'SandboxTemplate' ? { kind: 'SandboxTemplate' as const, namespace: t.namespace } : {}),
      });
      setMessage({ kind: 'info', text: `Deleted template ${t.name}.` });
    } catch (err) {
      // 409 TEMPLATE_IN_USE names the sandboxes that still use it: the message says so.
      setMessage({ kind: 'error', text: `Could not delete ${t.name}: ${describeError(err)}` });
    } finally {
      void qc.invalidateQueries({ queryKey: ['templates'] });
    }
  };

  return (
    <section aria-labelledby="templates-title">
      <div className="row spread">
        <h1 id="templates-title">Templates</h1>
        {isAdmin ? (
          <Link className="button primary" to="/templates/new">
            New template
          </Link>
        ) : null}
      </div>
      {message ? (
        <p role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind}>
          {message.text}
        </p>
      ) : null}
      <LoadNote query={templates} what="templates" />
      {templates.data?.length === 0 ? (
        <p className="card">
          No templates.{' '}
          {isAdmin ? 'Create one from the starter with “New template”.' : 'Ask an admin to add one.'}
        </p>
      ) : null}
      <DataTable
        columns={['Name', 'Description', 'Mode', 'Image', 'Kind', 'Actions']}
        caption="Templates"
        wrapClass="table-wrap"
      >
        {templates.data?.map((t) => (
          <tr key={`${t.kind}/${t.namespace ?? ''}/${t.name}`} data-template={t.name}>
            <td data-label="Name">
              <Link
                to={`/templates/${encodeURIComponent(t.name)}${t.kind === 'SandboxTemplate' ? `?namespace=${encodeURIComponent(t.namespace ?? '')}` : ''}`}
              >
                {t.name}
              </Link>
            </td>
            <td data-label="Description">{t.description}</td>
            <td data-label="Mode">{t.mode}</td>
            <td data-label="Image">
              <code>{t.image}</code>
            </td>
            <td data-label="Kind">{t.kind === 'SandboxTemplate' ? `namespace ${t.namespace}` : 'cluster'}</td>
            <td data-label="Actions">
              {isAdmin ? (
                <button
                  type="button"
                  className="danger"
                  aria-label={`Delete template ${t.name}`}
                  onClick={() => setToDelete(t)}
                >
                  Delete
                </button>
              ) : null}
            </td>
          </tr>
        ))}
      </DataTable>
      <ConfirmDialog
        open={toDelete !== undefined}
        title={`Delete template ${toDelete?.name ?? ''}?`}
        confirmLabel="Delete template"
        danger
        onCancel={() => setToDelete(undefined)}
        onConfirm={() => {
          const t = toDelete;
          setToDelete(undefined);
          if (t) void remove(t);
        }}
      >
        <p>The server refuses while any sandbox still uses it, and says which.</p>
      </ConfirmDialog>
    </section>
  );
}
