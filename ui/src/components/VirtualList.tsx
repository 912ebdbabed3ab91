// A virtualised list with fixed-height rows, keyboard selection, and a callback when the end
// comes near (to load the next page). A row that is `undefined` (its page was dropped from
// memory) shows as a placeholder, and `onRange` says which rows are on screen. Which rows to
// render is arithmetic on the scroll position (`lib/rows.ts`): nothing is kept per row, so the
// list's memory does not grow with its length.
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { listKeys } from '../lib/keys';
import { scrollToSee, visibleRows, type Rows } from '../lib/rows';

const OVERSCAN = 12;

export function VirtualList<T>({
  items,
  rowHeight = 26,
  render,
  selected,
  onSelect,
  onOpen,
  onNearEnd,
  onRange,
  rowKey,
  testid,
  rowTestid,
  footer,
}: {
  items: Rows<T>;
  rowHeight?: number;
  render: (item: T, index: number) => ReactNode;
  selected: number;
  onSelect: (index: number) => void;
  onOpen?: (index: number) => void;
  onNearEnd?: () => void;
  onRange?: (start: number, end: number) => void;
  rowKey: (item: T, index: number) => string;
  testid?: string;
  rowTestid?: string;
  footer?: ReactNode;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const count = items.length + (footer ? 1 : 0);
  const [view, setView] = useState({ top: 0, height: 0 });
  const geometry = useRef({ rowHeight, count });
  geometry.current = { rowHeight, count };
  // On scroll and resize: a render only when the rows to show change, not at every pixel.
  const measure = useCallback(() => {
    const el = parent.current;
    if (!el) return;
    setView((v) => {
      const { rowHeight: h, count: n } = geometry.current;
      const [a, b] = visibleRows(v.top, v.height, h, n, OVERSCAN);
      const [c, d] = visibleRows(el.scrollTop, el.clientHeight, h, n, OVERSCAN);
      return a === c && b === d && v.height === el.clientHeight ? v : { top: el.scrollTop, height: el.clientHeight };
    });
  }, []);
  useLayoutEffect(() => {
    measure();
    const el = parent.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [measure]);

  const [first, last] = visibleRows(view.top, view.height, rowHeight, count, OVERSCAN);
  useEffect(() => {
    if (onNearEnd && last >= 0 && last >= items.length - 30) onNearEnd();
  }, [last, items.length, onNearEnd]);
  useEffect(() => {
    if (onRange && last >= first) onRange(first, last);
  }, [first, last, onRange]);
  useEffect(() => {
    const el = parent.current;
    if (!el || selected < 0 || selected >= items.length) return;
    const to = scrollToSee(selected, el.scrollTop, el.clientHeight, rowHeight);
    if (to !== null) el.scrollTop = to;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected]);

  const rows: ReactNode[] = [];
  for (let index = first; index <= last; index++) {
    const top = index * rowHeight;
    if (index >= items.length) {
      rows.push(
        <div key="footer" className="vrow list-foot-row" style={{ top, height: rowHeight }}>
          {footer}
        </div>,
      );
      continue;
    }
    const item = items.at(index);
    if (item === undefined) {
      rows.push(
        <div key={`missing-${index}`} className="vrow muted" style={{ top, height: rowHeight }} data-index={index} aria-busy="true">
          …
        </div>,
      );
      continue;
    }
    rows.push(
      <div
        key={rowKey(item, index)}
        className={index === selected ? 'vrow selected' : 'vrow'}
        style={{ top, height: rowHeight }}
        data-testid={rowTestid}
        data-index={index}
        onClick={() => onSelect(index)}
        onDoubleClick={() => onOpen?.(index)}
      >
        {render(item, index)}
      </div>,
    );
  }

  return (
    <div
      className="vlist"
      ref={parent}
      tabIndex={0}
      data-testid={testid}
      onScroll={measure}
      onKeyDown={listKeys(items.length, selected, onSelect, onOpen)}
    >
      <div className="vlist-inner" style={{ height: count * rowHeight }}>
        {rows}
      </div>
    </div>
  );
}
