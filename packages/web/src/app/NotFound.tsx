import type { ReactNode } from 'react';
import { Link } from 'react-router';

export function NotFound(): ReactNode {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. Go back to the <Link to="/">dashboard</Link>.
      </p>
    </section>
  );
}
