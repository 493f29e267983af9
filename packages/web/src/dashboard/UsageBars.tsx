import type { SandboxView } from '@agenttier/sdk';
import { useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useSandboxUsage } from '../api/observability.ts';
import { usageBars } from './usage-format.ts';
import './usage.css';

/** Whether the element is on screen: rows scrolled away stop polling. */
function useVisible<T extends Element>(): [React.RefObject<T | null>, boolean] {
  const ref = useRef<T | null>(null);
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    if (typeof IntersectionObserver === 'undefined') {
      setVisible(true);
      return undefined;
    }
    const io = new IntersectionObserver((entries) => setVisible(entries.some((e) => e.isIntersecting)));
    io.observe(el);
    return () => io.disconnect();
  }, []);
  return [ref, visible];
}

/**
 * CPU and memory of one running sandbox, as two meters (re-read every few seconds while the row is
 * visible); nothing for a sandbox that is not running.
 */
export function UsageBars({ sandbox }: { sandbox: SandboxView }): ReactNode {
  const running = sandbox.phase === 'Running' && sandbox.desiredState !== 'Stopped';
  const [ref, visible] = useVisible<HTMLDivElement>();
  const usage = useSandboxUsage(sandbox.namespace, sandbox.name, running && visible);
  let body: ReactNode = null;
  if (!running) body = <span className="muted">—</span>;
  else if (usage.data)
    body = usageBars(usage.data).map((bar) => (
      <div className="usage-bar" key={bar.label} data-usage={bar.label.toLowerCase()}>
        <span className="usage-label">{bar.label}</span>
        {bar.fraction !== undefined ? (
          <meter
            min={0}
            max={1}
            low={0.7}
            high={0.9}
            optimum={0}
            value={bar.fraction}
            aria-label={`${bar.label} of ${sandbox.name}: ${bar.text}`}
          />
        ) : null}
        <span className="usage-text small" title={bar.missing}>
          {bar.text}
        </span>
      </div>
    ));
  else if (usage.isError) body = <span className="muted small">unavailable</span>;
  else body = <span className="muted small">measuring…</span>;
  return (
    <div ref={ref} className="usage" data-usage-of={sandbox.name}>
      {body}
    </div>
  );
}
