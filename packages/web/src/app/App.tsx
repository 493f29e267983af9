import { lazy, Suspense } from 'react';
import type { ReactNode } from 'react';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { LoginPage } from '../auth/LoginPage.tsx';
import { SessionProvider, useSession } from '../auth/session.tsx';
import { Dashboard } from '../dashboard/Dashboard.tsx';
import { Layout } from './Layout.tsx';
import { NotFound } from './NotFound.tsx';

// Screens other than the dashboard load on demand: the first page stays within the JS budget.
const CreateSandbox = lazy(() => import('../create/CreateSandbox.tsx'));
const SandboxPage = lazy(() => import('../sandbox/SandboxPage.tsx'));
const TemplatesPage = lazy(() => import('../templates/TemplatesPage.tsx'));
const TemplateEditorPage = lazy(() => import('../templates/TemplateEditorPage.tsx'));
const ActivityPage = lazy(() => import('../activity/ActivityPage.tsx'));

function Loading(): ReactNode {
  return (
    <p role="status" className="muted">
      Loading…
    </p>
  );
}

const lazyPage = (node: ReactNode): ReactNode => <Suspense fallback={<Loading />}>{node}</Suspense>;

const router = createBrowserRouter([
  {
    path: '/',
    element: <Layout />,
    children: [
      { index: true, element: <Dashboard /> },
      { path: 'new', element: lazyPage(<CreateSandbox />) },
      { path: 'sandboxes/:namespace/:name/*', element: lazyPage(<SandboxPage />) },
      { path: 'templates', element: lazyPage(<TemplatesPage />) },
      { path: 'templates/new', element: lazyPage(<TemplateEditorPage />) },
      { path: 'templates/:name', element: lazyPage(<TemplateEditorPage />) },
      { path: 'activity', element: lazyPage(<ActivityPage />) },
      { path: '*', element: <NotFound /> },
    ],
  },
]);

function Gate(): ReactNode {
  const { state } = useSession();
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'signed-out') return <LoginPage methods={state.methods} reason={state.reason} />;
  return <RouterProvider router={router} />;
}

export function App(): ReactNode {
  return (
    <SessionProvider>
      <Gate />
    </SessionProvider>
  );
}
