import { useEffect, useState } from 'react';

import type { About } from '../bindings/About';
import { about } from '../commands';
import { SHORTCUTS } from '../lib/keys';
import { VIEWS } from '../lib/nav';
import { Dialog } from './Dialog';

export function HelpOverlay({ onClose }: { onClose: () => void }) {
  const [build, setBuild] = useState<About | null>(null);
  useEffect(() => {
    let live = true;
    about()
      .then((a) => live && setBuild(a))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose} testid="shortcuts">
      <table className="kv-table shortcuts">
        <tbody>
          {SHORTCUTS.map(([k, what]) => (
            <tr key={k}>
              <th>
                <kbd>{k}</kbd>
              </th>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3 className="sub">Views</h3>
      <table className="kv-table shortcuts">
        <tbody>
          {VIEWS.map((v, i) => (
            <tr key={v.id}>
              <th>
                {i < 9 && <kbd>Ctrl+{i + 1}</kbd>} <kbd>g {v.key}</kbd>
              </th>
              <td>{v.label}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3 className="sub">About</h3>
      <p data-testid="about">
        {build
          ? `Backstage Inspector ${build.version} (commit ${build.commit}, built ${build.built})`
          : 'Backstage Inspector'}
      </p>
    </Dialog>
  );
}
