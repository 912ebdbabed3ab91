// One component per view; the route decides which.
import type { Route } from '../lib/nav';
import { OverviewView } from './overview/OverviewView';
import { Empty } from '../components/states';

/** The route after Esc closes the open pane of a view, or null when nothing is open. */
export function closePane(route: Route): Route | null {
  switch (route.view) {
    case 'entities':
      if (!route.entity) return null;
      return route.kind ? { view: 'entities', kind: route.kind } : { view: 'entities' };
    case 'scaffolder':
      return route.task ? { view: 'scaffolder' } : null;
    case 'tables':
      return route.table ? (route.area ? { view: 'tables', area: route.area } : { view: 'tables' }) : null;
    case 'sessions':
      return route.subject ? { view: 'sessions' } : null;
    default:
      return null;
  }
}

export function ViewFor({ route }: { route: Route }) {
  switch (route.view) {
    case 'overview':
      return <OverviewView />;
    default:
      return <Empty title="Not available yet">This view needs a newer backend.</Empty>;
  }
}
