import { useEffect, useRef } from 'react';
import type { ReactNode } from 'react';

/**
 * Streamed output (a process, an install, an agent run): follows the end while the reader is at the
 * end, stays put when they scrolled up to read. Focusable so it scrolls from the keyboard.
 */
export function LogPanel(props: {
  text: string;
  label: string;
  dropped?: number;
  busy?: boolean;
}): ReactNode {
  const ref = useRef<HTMLPreElement>(null);
  const atEnd = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && atEnd.current) el.scrollTop = el.scrollHeight;
  }, [props.text]);
  return (
    <div className="stack">
      {props.dropped ? (
        <p className="muted small">
          Older output ({props.dropped} characters) was dropped to keep the page responsive.
        </p>
      ) : null}
      <pre
        ref={ref}
        className="sbx-log"
        tabIndex={0}
        aria-label={props.label}
        aria-busy={props.busy ? true : undefined}
        onScroll={(e) => {
          const el = e.currentTarget;
          atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
        }}
      >
        {props.text || (props.busy ? 'Waiting for output…' : '(no output)')}
      </pre>
    </div>
  );
}
