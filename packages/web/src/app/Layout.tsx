import type { ReactNode } from 'react';
import { NavLink, Outlet } from 'react-router';
import { useSession } from '../auth/session.tsx';

const NAV = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/templates', label: 'Templates', end: false },
  { to: '/activity', label: 'Activity', end: false },
];

/** The app shell: skip link, navigation, who is signed in, and the page. */
export function Layout(): ReactNode {
  const { state, signOut } = useSession();
  const user = state.status === 'signed-in' ? state.user : undefined;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand" aria-label="AgentTier">
          <img src="/favicon.svg" alt="" width="24" height="24" /> AgentTier
        </span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <NavLink to={n.to} end={n.end}>
                  {n.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        {user ? (
          <div className="identity">
            <span title={user.email ?? user.id} data-testid="identity">
              {user.name ?? user.id}
              {user.isAdmin ? <span className="badge">admin</span> : null}
            </span>
            {state.status === 'signed-in' && state.via !== 'ambient' ? (
              <button type="button" onClick={() => void signOut()}>
                Sign out
              </button>
            ) : (
              <span
                className="muted small"
                title="The server takes every local request without a key as this admin (--dev-auth)"
              >
                development identity
              </span>
            )}
          </div>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
