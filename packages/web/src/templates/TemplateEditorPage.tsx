import { AgentTierError } from '@agenttier/sdk';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useClient, useSession } from '../auth/session.tsx';
import { describeError } from '../app/errors.ts';
import type { YamlProblem } from './yaml-doc.ts';
import { anchorIssues, parseTemplateYaml, STARTER_YAML, templateToYaml } from './yaml-doc.ts';

// CodeMirror is the largest dependency: it loads with this screen's editor, never on the dashboard.
const YamlEditor = lazy(() => import('./YamlEditor.tsx'));

/** /templates/:name (view, and edit for admins) and /templates/new (from the starter). */
export default function TemplateEditorPage(): ReactNode {
  const { name } = useParams();
  const [search] = useSearchParams();
  const namespace = search.get('namespace') ?? undefined;
  const isNew = name === undefined;
  const client = useClient();
  const { state } = useSession();
  const isAdmin = state.status === 'signed-in' && state.user.isAdmin;
  const qc = useQueryClient();
  const navigate = useNavigate();

  const template = useQuery({
    queryKey: ['template', name, namespace],
    enabled: !isNew,
    queryFn: ({ signal }) =>
      client.templates.get(name!, {
        ...(namespace ? { kind: 'SandboxTemplate' as const, namespace } : {}),
        signal,
      }),
  });
  const [text, setText] = useState<string | undefined>(isNew ? STARTER_YAML : undefined);
  useEffect(() => {
    if (template.data && text === undefined) setText(templateToYaml(template.data));
  }, [template.data, text]);

  const [serverProblems, setServerProblems] = useState<YamlProblem[]>([]);
  const [serverText, setServerText] = useState<string | undefined>();
  const [status, setStatus] = useState<{ kind: 'error' | 'info'; text: string } | undefined>();
  const [saving, setSaving] = useState(false);

  const parsed = useMemo(() => (text === undefined ? undefined : parseTemplateYaml(text)), [text]);
  // The server's problems stay until the text changes: they describe what was sent.
  const problems = useMemo(
    () => [...(parsed && !parsed.ok ? parsed.problems : []), ...(text === serverText ? serverProblems : [])],
    [parsed, serverProblems, serverText, text],
  );

  const save = async (): Promise<void> => {
    if (!parsed?.ok || text === undefined) return;
    const body = parsed.body;
    if (!isNew && body.name !== name) {
      setStatus({
        kind: 'error',
        text: `The name must stay “${name}”; to make a copy, create a new template.`,
      });
      return;
    }
    if (isNew) {
      const existing = await client.templates.list().catch(() => []);
      if (existing.some((t) => t.name === body.name && t.kind === (body.kind ?? 'ClusterSandboxTemplate'))) {
        setStatus({
          kind: 'error',
          text: `A template named “${body.name}” exists already: pick another name or open it.`,
        });
        return;
      }
    }
    setSaving(true);
    setStatus(undefined);
    try {
      const res = await client.templates.apply({
        name: body.name,
        ...(body.kind === 'SandboxTemplate'
          ? { kind: 'SandboxTemplate' as const, namespace: body.namespace }
          : {}),
        spec: body.spec as never,
      });
      setServerProblems([]);
      setStatus({ kind: 'info', text: `Saved: template ${res.template.name} ${res.action}.` });
      void qc.invalidateQueries({ queryKey: ['templates'] });
      void qc.invalidateQueries({ queryKey: ['template', body.name] });
      if (isNew) navigate(`/templates/${encodeURIComponent(body.name)}`, { replace: true });
    } catch (err) {
      const issues = err instanceof AgentTierError ? err.details : [];
      setServerText(text);
      setServerProblems(anchorIssues(text, issues));
      setStatus({
        kind: 'error',
        text: issues.length
          ? `The server refused the template: ${issues.length} problem${issues.length > 1 ? 's' : ''}, marked on ${issues.length > 1 ? 'their lines' : 'its line'}. Fix and save again.`
          : `Could not save: ${describeError(err)}`,
      });
    } finally {
      setSaving(false);
    }
  };

  if (!isNew && template.isError)
    return (
      <section>
        <h1>Template {name}</h1>
        <p role="alert" className="error">
          {describeError(template.error)}
        </p>
        <Link to="/templates">All templates</Link>
      </section>
    );

  return (
    <section aria-labelledby="tpl-title" className="stack">
      <p className="muted small">
        <Link to="/templates">Templates</Link> / {isNew ? 'new' : name}
      </p>
      <h1 id="tpl-title">{isNew ? 'New template' : `Template ${name}`}</h1>
      {!isAdmin ? <p className="muted">Only admins may change templates; this is a read-only view.</p> : null}
      {text === undefined ? (
        <p role="status">Loading…</p>
      ) : (
        <Suspense fallback={<p role="status">Loading the editor…</p>}>
          <YamlEditor
            value={text}
            onChange={setText}
            problems={problems}
            label={`YAML of template ${isNew ? '(new)' : name}`}
            readOnly={!isAdmin}
          />
        </Suspense>
      )}
      {problems.length > 0 ? (
        <ul className="problems" aria-label="Problems">
          {problems.map((p, i) => (
            <li key={i} className="error">
              Line {p.line}: {p.message}
            </li>
          ))}
        </ul>
      ) : null}
      {status ? (
        <p role={status.kind === 'error' ? 'alert' : 'status'} className={status.kind}>
          {status.text}
        </p>
      ) : null}
      {isAdmin ? (
        <div className="row">
          <button
            type="button"
            className="primary"
            disabled={saving || !parsed?.ok}
            onClick={() => void save()}
          >
            {saving ? 'Saving…' : isNew ? 'Create template' : 'Save'}
          </button>
          {!isNew && template.data ? (
            <button type="button" onClick={() => setText(templateToYaml(template.data))}>
              Revert
            </button>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
