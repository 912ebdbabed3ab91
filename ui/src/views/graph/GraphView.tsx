// The relation graph: cytoscape.js with a layered (dagre) layout. Click a node to expand it
// (its neighbourhood is fetched and merged), double-click or use the side panel to open it.
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import * as cmd from '../../commands';
import type { Direction } from '../../bindings/Direction';
import type { Graph } from '../../bindings/Graph';
import type { GraphEdge } from '../../bindings/GraphEdge';
import type { GraphNode } from '../../bindings/GraphNode';
import { Progress } from '../../components/Progress';
import { Empty, ErrorBox, Notes } from '../../components/states';
import { toUiError, type UiError } from '../../lib/errors';
import { useNav } from '../../lib/nav';
import { cancelOp, newOpId } from '../../lib/ops';
import { useStickyState } from '../../lib/sticky';

cytoscape.use(dagre);

const RELATION_TYPES = [
  'ownedBy',
  'ownerOf',
  'partOf',
  'hasPart',
  'dependsOn',
  'dependencyOf',
  'providesApi',
  'apiProvidedBy',
  'consumesApi',
  'apiConsumedBy',
  'memberOf',
  'hasMember',
  'childOf',
  'parentOf',
];
const KINDS = ['component', 'api', 'system', 'domain', 'resource', 'group', 'user', 'template', 'location'];

const KIND_COLOURS: Record<string, string> = {
  component: '#2f7ed8',
  api: '#8e44ad',
  system: '#16a085',
  domain: '#d35400',
  resource: '#7f8c8d',
  group: '#c0392b',
  user: '#e67e22',
  template: '#2c3e50',
  location: '#95a5a6',
};

interface Merged {
  nodes: Map<string, GraphNode>;
  edges: Map<string, GraphEdge>;
  expanded: Set<string>;
  truncated: Graph['truncated'];
  notes: string[];
}

function edgeId(e: GraphEdge): string {
  return `${e.source}|${e.type}|${e.target}`;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function GraphView({ root: routeRoot }: { root?: string | undefined }) {
  const nav = useNav();
  const [root, setRoot] = useStickyState('graph.root', routeRoot ?? '');
  const [input, setInput] = useState(root);
  const [depth, setDepth] = useStickyState('graph.depth', 2);
  const [direction, setDirection] = useStickyState<Direction>('graph.direction', 'both');
  const [types, setTypes] = useStickyState<string[]>('graph.types', []);
  const [kinds, setKinds] = useStickyState<string[]>('graph.kinds', []);
  const [maxNodes, setMaxNodes] = useStickyState('graph.max', 300);
  const [merged, setMerged] = useState<Merged | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState<{ op: string; what: string } | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [showNodes, setShowNodes] = useState(false);
  const [hover, setHover] = useState<string | null>(null);
  // How many nodes the canvas really draws (checked by the end-to-end tests).
  const [drawn, setDrawn] = useState(0);
  const container = useRef<HTMLDivElement>(null);
  /** The node to keep in view after a layout: the last one expanded, else the root. */
  const focus = useRef<string | null>(null);
  const cy = useRef<cytoscape.Core | null>(null);

  useEffect(() => {
    if (routeRoot && routeRoot !== root) {
      setRoot(routeRoot);
      setInput(routeRoot);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [routeRoot]);

  const fetchGraph = useCallback(
    async (roots: string[], d: number) => {
      const op = newOpId();
      setBusy({ op, what: d === 1 && roots.length === 1 ? `Expanding ${roots[0]}` : 'Reading relations' });
      setError(null);
      try {
        return await cmd.graphNeighbourhood(
          { roots, depth: d, types, kinds, direction, max_nodes: maxNodes },
          op,
        );
      } catch (err) {
        setError(toUiError(err));
        return null;
      } finally {
        setBusy(null);
      }
    },
    [types, kinds, direction, maxNodes],
  );

  // A new root or new filters: a fresh graph.
  useEffect(() => {
    if (!root) {
      setMerged(null);
      return;
    }
    let live = true;
    void fetchGraph([root], depth).then((g) => {
      if (!live || !g) return;
      focus.current = g.roots[0] ?? null;
      setMerged({
        nodes: new Map(g.nodes.map((n) => [n.entity_ref, n])),
        edges: new Map(g.edges.map((e) => [edgeId(e), e])),
        expanded: new Set(g.roots),
        truncated: g.truncated,
        notes: g.notes,
      });
      setSelected(null);
    });
    return () => {
      live = false;
    };
  }, [root, depth, fetchGraph]);

  const expand = useCallback(
    async (ref: string) => {
      focus.current = ref;
      const g = await fetchGraph([ref], 1);
      if (!g) return;
      setMerged((m) => {
        if (!m) return m;
        const nodes = new Map(m.nodes);
        for (const n of g.nodes) {
          const had = nodes.get(n.entity_ref);
          nodes.set(n.entity_ref, had ? { ...n, root: had.root, depth: had.depth } : { ...n, root: false });
        }
        const edges = new Map(m.edges);
        for (const e of g.edges) edges.set(edgeId(e), e);
        const expanded = new Set(m.expanded);
        expanded.add(ref);
        return { nodes, edges, expanded, truncated: g.truncated ?? m.truncated, notes: [...new Set([...m.notes, ...g.notes])] };
      });
    },
    [fetchGraph],
  );
  const expandRef = useRef(expand);
  expandRef.current = expand;
  const openRef = useRef((ref: string) => nav.navigate({ view: 'entities', entity: ref }));
  openRef.current = (ref: string) => nav.navigate({ view: 'entities', entity: ref });

  // The cytoscape instance lives as long as the view.
  useEffect(() => {
    if (!container.current) return;
    const text = cssVar('--text', '#222');
    const muted = cssVar('--muted', '#777');
    const bad = cssVar('--bad', '#c0322b');
    const warn = cssVar('--warn', '#a86200');
    const surface = cssVar('--surface', '#fff');
    const accent = cssVar('--accent', '#0d6c78');
    const c = cytoscape({
      container: container.current,
      minZoom: 0.05,
      maxZoom: 4,
      wheelSensitivity: 0.3,
      pixelRatio: 1,
      textureOnViewport: false,
      hideEdgesOnViewport: false,
      style: [
        {
          selector: 'node',
          style: {
            'background-color': 'data(colour)',
            label: 'data(label)',
            color: text,
            'font-size': 10,
            'min-zoomed-font-size': 7,
            'text-valign': 'bottom',
            'text-margin-y': 3,
            'text-wrap': 'wrap',
            'text-max-width': '120px',
            width: 18,
            height: 18,
            'border-width': 2,
            'border-color': surface,
            'text-background-color': surface,
            'text-background-opacity': 0.7,
            'text-background-padding': '1px',
          },
        },
        { selector: 'node[?root]', style: { width: 28, height: 28, 'border-color': accent, 'border-width': 4, 'font-weight': 'bold' } },
        { selector: 'node[status = "errored"]', style: { 'border-color': warn, 'border-width': 3, 'border-style': 'double' } },
        {
          selector: 'node[status = "missing"]',
          style: { 'background-color': surface, 'border-color': bad, 'border-style': 'dashed', 'border-width': 3, color: bad },
        },
        { selector: 'node[?cut]', style: { shape: 'round-diamond' } },
        { selector: 'node:selected', style: { 'overlay-color': accent, 'overlay-opacity': 0.25, 'overlay-padding': 6 } },
        {
          selector: 'edge',
          style: {
            width: 1.2,
            'line-color': muted,
            'target-arrow-color': muted,
            'target-arrow-shape': 'triangle',
            'arrow-scale': 0.8,
            'curve-style': 'bezier',
            label: 'data(type)',
            'font-size': 8,
            'min-zoomed-font-size': 9,
            color: muted,
            'text-rotation': 'autorotate',
            'text-opacity': 0.9,
          },
        },
        { selector: 'edge[?broken]', style: { 'line-style': 'dashed', 'line-color': bad, 'target-arrow-color': bad } },
      ],
    });
    c.on('tap', 'node', (e) => {
      const ref = e.target.id() as string;
      setSelected(ref);
      void expandRef.current(ref);
    });
    c.on('dbltap', 'node', (e) => openRef.current(e.target.id() as string));
    c.on('mouseover', 'node', (e) => setHover(e.target.id() as string));
    c.on('mouseout', 'node', () => setHover(null));
    c.on('tap', (e) => {
      if (e.target === c) setSelected(null);
    });
    cy.current = c;
    return () => {
      c.destroy();
      cy.current = null;
    };
  }, []);

  // Sync the merged graph into cytoscape: add what is new, then lay out.
  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    if (!merged) {
      c.elements().remove();
      setDrawn(0);
      return;
    }
    const cut = new Set(merged.truncated?.nodes.map((n) => n.entity_ref) ?? []);
    const missing = new Set([...merged.nodes.values()].filter((n) => n.status === 'missing').map((n) => n.entity_ref));
    const add: cytoscape.ElementDefinition[] = [];
    // A new root or new filters replace the graph: drop what it no longer has.
    const stale = c.elements().filter((el) => (el.isNode() ? !merged.nodes.has(el.id()) : !merged.edges.has(el.id())));
    c.batch(() => {
      stale.remove();
      for (const n of merged.nodes.values()) {
        const data = {
          id: n.entity_ref,
          label: `${n.namespace === 'default' ? '' : `${n.namespace}/`}${n.name}\n${n.kind}`,
          colour: KIND_COLOURS[n.kind] ?? '#888',
          status: n.status,
          root: n.root,
          cut: cut.has(n.entity_ref) && !merged.expanded.has(n.entity_ref),
        };
        const el = c.getElementById(n.entity_ref);
        if (el.nonempty()) el.data(data);
        else add.push({ group: 'nodes', data });
      }
      for (const [id, e] of merged.edges) {
        if (c.getElementById(id).empty()) {
          add.push({
            group: 'edges',
            data: { id, source: e.source, target: e.target, type: e.type, broken: missing.has(e.target) || missing.has(e.source) },
          });
        }
      }
      c.add(add);
    });
    setDrawn(c.nodes().length);
    if (add.length > 0 || stale.nonempty()) {
      // Top to bottom: neighbourhoods fan out wide, and the window is wider than tall.
      const big = c.nodes().length > 250;
      c.layout({
        name: 'dagre',
        rankDir: 'TB',
        nodeSep: big ? 6 : 12,
        // Small graphs leave room for the labels; large ones are read by zooming in.
        nodeDimensionsIncludeLabels: c.nodes().length <= 80,
        rankSep: big ? 70 : 90,
        animate: false,
        fit: true,
        padding: 20,
      } as cytoscape.LayoutOptions).run();
      // A small graph that fits only as dots is shown readable around its focus instead
      // (Fit shows all of it).
      const f = focus.current ? c.getElementById(focus.current) : null;
      if (c.zoom() < 0.8 && c.nodes().length <= 80 && f && f.nonempty()) {
        const hood = f.closedNeighborhood();
        c.fit(hood, 30);
        const z = Math.min(1.1, Math.max(0.75, c.zoom()));
        if (z !== c.zoom()) {
          c.zoom(z);
          c.center(hood);
        }
      }
    }
  }, [merged]);

  // The side panel takes room from the canvas: cytoscape must learn its new size.
  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    const [w0, h0] = [c.width(), c.height()];
    c.resize();
    // Keep what was in the middle in the middle.
    c.panBy({ x: (c.width() - w0) / 2, y: (c.height() - h0) / 2 });
  }, [showNodes, selected]);

  // Esc deselects the node (the window's Esc closes panes of other views).
  useEffect(() => {
    if (!selected) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setSelected(null);
        cy.current?.elements().unselect();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selected]);

  const node = selected ? merged?.nodes.get(selected) : undefined;
  const sortedNodes = useMemo(
    () => (merged ? [...merged.nodes.values()].sort((a, b) => a.depth - b.depth || a.entity_ref.localeCompare(b.entity_ref)) : []),
    [merged],
  );
  const toggle = (list: string[], v: string) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

  return (
    <div className="view fill" data-testid="graph">
      <div className="view-head">
        <h1>Relation graph</h1>
        {merged && (
          <span className="muted">
            <span data-testid="graph-node-count">{merged.nodes.size}</span> nodes ·{' '}
            <span data-testid="graph-edge-count">{merged.edges.size}</span> edges
          </span>
        )}
      </div>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setRoot(input.trim());
        }}
      >
        <input
          className="input grow mono"
          placeholder="Root entity, e.g. component:default/checkout  ( / )"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          data-search
          data-testid="graph-root"
        />
        <button type="submit" className="button button-primary">
          Show
        </button>
        <label className="check">
          depth
          <select
            className="select"
            value={depth}
            onChange={(e) => setDepth(Number(e.target.value))}
            data-testid="graph-depth"
          >
            {[1, 2, 3, 4, 5].map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          direction
          <select className="select" value={direction} onChange={(e) => setDirection(e.target.value as Direction)}>
            <option value="both">both</option>
            <option value="out">outgoing</option>
            <option value="in">incoming</option>
          </select>
        </label>
        <label className="check">
          max nodes
          <select className="select" value={maxNodes} onChange={(e) => setMaxNodes(Number(e.target.value))}>
            {[50, 100, 300, 500, 1000].map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <details className="facet">
          <summary className={types.length ? 'facet-button on' : 'facet-button'}>
            Relations{types.length ? `: ${types.length}` : ''}
          </summary>
          <div className="facet-menu">
            {RELATION_TYPES.map((t) => (
              <label key={t}>
                <input type="checkbox" checked={types.includes(t)} onChange={() => setTypes(toggle(types, t))} />
                <span className="mono">{t}</span>
              </label>
            ))}
          </div>
        </details>
        <details className="facet">
          <summary className={kinds.length ? 'facet-button on' : 'facet-button'}>
            Kinds{kinds.length ? `: ${kinds.length}` : ''}
          </summary>
          <div className="facet-menu">
            {KINDS.map((k) => (
              <label key={k}>
                <input type="checkbox" checked={kinds.includes(k)} onChange={() => setKinds(toggle(kinds, k))} />
                <span className="legend-swatch" style={{ borderColor: KIND_COLOURS[k], background: KIND_COLOURS[k] }} />
                <span className="mono">{k}</span>
              </label>
            ))}
          </div>
        </details>
        <button type="button" className="button" onClick={() => cy.current?.fit(undefined, 20)} disabled={!merged}>
          Fit
        </button>
        <button type="button" className="button" onClick={() => setShowNodes((s) => !s)} disabled={!merged} data-testid="graph-node-list-toggle">
          {showNodes ? 'Hide list' : 'Node list'}
        </button>
      </form>
      {busy && (
        <Progress
          label={busy.what}
          delayMs={300}
          onCancel={() => {
            void cancelOp(busy.op);
          }}
        />
      )}
      {error && <ErrorBox error={error} />}
      {merged?.truncated && (
        <div className="callout callout-warn" data-testid="graph-cut">
          Cut at {merged.truncated.max_nodes} nodes: {String(merged.truncated.dropped_edges)} edges to further neighbours
          were left out. Not fully expanded:{' '}
          {merged.truncated.nodes.slice(0, 8).map((n) => (
            <button key={n.entity_ref} type="button" className="button-link mono small" onClick={() => void expand(n.entity_ref)}>
              {n.entity_ref} (+{String(n.unexpanded)}){' '}
            </button>
          ))}
          {merged.truncated.nodes.length > 8 && `and ${merged.truncated.nodes.length - 8} more`}. Raise max nodes or
          expand a node to see more.
        </div>
      )}
      {merged && <Notes notes={merged.notes} />}
      <div className="graph-wrap">
        {!root && (
          <div style={{ position: 'absolute', inset: 0, display: 'flex', alignItems: 'center', justifyContent: 'center' }}>
            <Empty title="Choose a root entity">Type a ref above, or open Graph from an entity.</Empty>
          </div>
        )}
        <div className="graph-canvas" ref={container} data-testid="graph-canvas" data-drawn={drawn} />
        <div className="graph-legend">
          <span>
            <span className="legend-swatch" style={{ borderColor: 'var(--accent)' }} />
            root
          </span>
          <span>
            <span className="legend-swatch" style={{ borderColor: 'var(--warn)', borderStyle: 'double' }} />
            processing fails
          </span>
          <span>
            <span className="legend-swatch" style={{ borderColor: 'var(--bad)', borderStyle: 'dashed' }} />
            missing
          </span>
          <span className="muted">click: expand · double-click: open</span>
          {hover && (
            <span className="mono" data-testid="graph-hover">
              {hover}
            </span>
          )}
        </div>
        {(node || showNodes) && (
          <aside className="pane" style={{ width: 320 }} data-testid="graph-side">
            {node && (
              <>
                <div className="pane-head">
                  <h2 data-testid="graph-selected">{node.entity_ref}</h2>
                </div>
                <div className="pane-body" style={{ flex: 'none' }}>
                  <div>
                    <span className={`status status-${node.status}`}>{node.status}</span>{' '}
                    {node.title && <span>{node.title}</span>}
                  </div>
                  <div className="small muted">depth {node.depth}</div>
                  <div className="toolbar">
                    <button type="button" className="button" onClick={() => void expand(node.entity_ref)}>
                      Expand
                    </button>
                    <button type="button" className="button" onClick={() => setRoot(node.entity_ref)}>
                      Make root
                    </button>
                    <button
                      type="button"
                      className="button button-primary"
                      data-testid="graph-open-entity"
                      onClick={() => nav.navigate({ view: 'entities', entity: node.entity_ref })}
                      disabled={node.status === 'missing'}
                    >
                      Open entity
                    </button>
                  </div>
                </div>
              </>
            )}
            {showNodes && merged && (
              <div className="pane-body" data-testid="graph-node-list">
                <table className="grid-table">
                  <tbody>
                    {sortedNodes.map((n) => (
                      <tr key={n.entity_ref} className={n.entity_ref === selected ? 'selected' : ''} data-testid="graph-node" data-ref={n.entity_ref}>
                        <td className="mono small">
                          <button type="button" className={`button-link ${n.status === 'missing' ? 'bad' : ''}`} onClick={() => setSelected(n.entity_ref)}>
                            {n.entity_ref}
                          </button>
                        </td>
                        <td>
                          {!merged.expanded.has(n.entity_ref) && (
                            <button
                              type="button"
                              className="icon-button"
                              title="Expand"
                              data-testid="graph-expand"
                              onClick={() => void expand(n.entity_ref)}
                            >
                              +
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </aside>
        )}
      </div>
    </div>
  );
}
