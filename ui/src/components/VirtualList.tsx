// A virtualised list with fixed-height rows, keyboard selection, and a callback when the end
// comes near (to load the next page). A row that is `undefined` (its page was dropped from
// memory) shows as a placeholder, and `onRange` says which rows are on screen.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, type ReactNode } from 'react';
import { listKeys } from '../lib/keys';

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
  items: ReadonlyArray<T | undefined>;
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
  const v = useVirtualizer({
    count: items.length + (footer ? 1 : 0),
    getScrollElement: () => parent.current,
    estimateSize: () => rowHeight,
    overscan: 12,
  });
  const virtualItems = v.getVirtualItems();
  const last = virtualItems[virtualItems.length - 1];
  useEffect(() => {
    if (onNearEnd && last && last.index >= items.length - 30) onNearEnd();
  }, [last?.index, items.length, onNearEnd, last]);
  const first = virtualItems[0];
  useEffect(() => {
    if (onRange && first && last) onRange(first.index, last.index);
  }, [first?.index, last?.index, onRange, first, last]);
  useEffect(() => {
    if (selected >= 0 && selected < items.length) v.scrollToIndex(selected, { align: 'auto' });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected]);

  return (
    <div
      className="vlist"
      ref={parent}
      tabIndex={0}
      data-testid={testid}
      onKeyDown={listKeys(items.length, selected, onSelect, onOpen)}
    >
      <div className="vlist-inner" style={{ height: v.getTotalSize() }}>
        {virtualItems.map((vi) => {
          if (vi.index >= items.length) {
            return (
              <div key="footer" className="vrow list-foot-row" style={{ top: vi.start, height: rowHeight }}>
                {footer}
              </div>
            );
          }
          const item = items[vi.index];
          if (item === undefined) {
            return (
              <div
                key={`missing-${vi.index}`}
                className="vrow muted"
                style={{ top: vi.start, height: rowHeight }}
                data-index={vi.index}
                aria-busy="true"
              >
                …
              </div>
            );
          }
          return (
            <div
              key={rowKey(item, vi.index)}
              className={vi.index === selected ? 'vrow selected' : 'vrow'}
              style={{ top: vi.start, height: rowHeight }}
              data-testid={rowTestid}
              data-index={vi.index}
              onClick={() => onSelect(vi.index)}
              onDoubleClick={() => onOpen?.(vi.index)}
            >
              {render(item, vi.index)}
            </div>
          );
        })}
      </div>
    </div>
  );
}
