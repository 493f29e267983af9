import type { FormEvent, InputHTMLAttributes, ReactNode } from 'react';
import { ErrorNote } from '../ErrorNote.tsx';

/** A labelled text input: the label and the input side by side in a `row`. */
export function TextField(
  props: { id: string; label: ReactNode; value: string; onValue: (v: string) => void } & Omit<
    InputHTMLAttributes<HTMLInputElement>,
    'id' | 'value' | 'onChange'
  >,
): ReactNode {
  const { id, label, value, onValue, ...rest } = props;
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input id={id} value={value} onChange={(e) => onValue(e.target.value)} {...rest} />
    </>
  );
}

/** The submit button of a form: disabled with a "…ing" label while its request runs. */
export function SubmitButton(props: {
  busy: boolean;
  label: string;
  busyLabel: string;
  disabled?: boolean;
}): ReactNode {
  return (
    <button type="submit" className="primary" disabled={props.busy || props.disabled}>
      {props.busy ? props.busyLabel : props.label}
    </button>
  );
}

/** A problem found before sending (what to fix), announced to screen readers. */
export function FormProblem({ id, text }: { id?: string; text: string | undefined }): ReactNode {
  if (!text) return null;
  return (
    <p id={id} role="alert" className="sbx-error">
      {text}
    </p>
  );
}

/** What a request ended with: the error in words, or the success line. */
export function Outcome(p: { error: unknown; done: string | undefined }): ReactNode {
  if (p.error) return <ErrorNote error={p.error} />;
  if (!p.done) return null;
  return (
    <p role="status" className="sbx-ok">
      {p.done}
    </p>
  );
}

/** A long wait: spinner and what it is waiting for. */
export function Waiting({ children }: { children: ReactNode }): ReactNode {
  return (
    <p role="status" className="sbx-wait">
      <span className="sbx-spinner" aria-hidden="true" /> {children}
    </p>
  );
}

/**
 * A form of a tab: its heading (which names the form), the fields, a hint, then what is wrong
 * before sending (`problem`) and what came of the request (`error` or `done`).
 */
export function FormSection(props: {
  id: string;
  title: string;
  onSubmit: (e: FormEvent) => void;
  children: ReactNode;
  hint?: ReactNode;
  problem?: string | undefined;
  problemId?: string;
  error?: unknown;
  done?: string | undefined;
}): ReactNode {
  return (
    <form className="stack sbx-form" onSubmit={props.onSubmit} aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
      {props.hint ? <p className="muted small">{props.hint}</p> : null}
      <FormProblem {...(props.problemId ? { id: props.problemId } : {})} text={props.problem} />
      <Outcome error={props.error} done={props.done} />
    </form>
  );
}

/** The optional name of something being created (a port forward, a process), e.g. `web`. */
export function NameField(props: { id: string; value: string; onValue: (v: string) => void }): ReactNode {
  return <TextField {...props} label="Name (optional)" placeholder="web" size={10} />;
}
