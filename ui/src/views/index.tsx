// One component per view; the route decides which.
import { lazy, Suspense } from 'react';
import { Loading } from '../components/states';
import type { Route } from '../lib/nav';
import { ErrorsView, OrphansView } from './catalog/ErrorsView';
import { ConnectionsView } from './connections/ConnectionsView';
import { EntitiesView } from './entities/EntitiesView';
import { KnexView } from './knex/KnexView';
import { MigrationsView } from './migrations/MigrationsView';
import { OverviewView } from './overview/OverviewView';
import { ScaffolderView } from './scaffolder/ScaffolderView';
import { SearchView } from './search/SearchView';
import { SessionsView } from './sessions/SessionsView';
import { TablesView } from './tables/TablesView';
import { TechDocsView } from './techdocs/TechDocsView';

// cytoscape is the largest dependency: load it with the graph view only.
const GraphView = lazy(() => import('./graph/GraphView').then((m) => ({ default: m.GraphView })));
// The console brings its editor (CodeMirror) and formatter.
const ConsoleView = lazy(() => import('./console/ConsoleView').then((m) => ({ default: m.ConsoleView })));

/** The route after Esc closes the open pane of a view, or null when nothing is open. */
export function closePane(route: Route): Route | null {
  switch (route.view) {
    case 'entities':
      if (!route.entity) return null;
      return route.kind ? { view: 'entities', kind: route.kind } : { view: 'entities' };
    case 'scaffolder':
      return route.task ? { view: 'scaffolder' } : null;
    case 'tables':
      return route.table ? { view: 'tables' } : null;
    default:
      return null;
  }
}

export function ViewFor({ route }: { route: Route }) {
  switch (route.view) {
    case 'overview':
      return <OverviewView />;
    case 'entities':
      return <EntitiesView entity={route.entity} kind={route.kind} />;
    case 'errors':
      return <ErrorsView />;
    case 'orphans':
      return <OrphansView />;
    case 'graph':
      return (
        <Suspense fallback={<Loading what="graph" />}>
          <GraphView root={route.root} />
        </Suspense>
      );
    case 'scaffolder':
      return <ScaffolderView task={route.task} />;
    case 'sessions':
      return <SessionsView />;
    case 'search':
      return <SearchView />;
    case 'techdocs':
      return <TechDocsView />;
    case 'tables':
      return <TablesView table={route.table} />;
    case 'console':
      return (
        <Suspense fallback={<Loading what="console" />}>
          <ConsoleView />
        </Suspense>
      );
    case 'migrations':
      return <MigrationsView />;
    case 'knex':
      return <KnexView />;
    case 'connections':
      return <ConnectionsView />;
  }
}
