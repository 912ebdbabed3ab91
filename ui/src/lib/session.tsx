// What the whole window knows about its connection: the profile, its mode, the server.
import { createContext, useContext, useRef } from 'react';
import type { AppStatus } from '../bindings/AppStatus';
import type { UiError } from './errors';

export interface Session {
  status: AppStatus | null;
  error: UiError | null;
  loading: boolean;
  reload: () => void;
}

export const SessionContext = createContext<Session>({ status: null, error: null, loading: true, reload: () => {} });

export function useSession(): Session {
  return useContext(SessionContext);
}

export function useWriteMode(): boolean {
  return useSession().status?.profile?.write_mode ?? false;
}

/**
 * Which installation an answer is about: the profile's name and where this run looks. Answers
 * kept from an earlier key are never shown under a new one.
 */
export function installationKey(status: AppStatus | null): string {
  const p = status?.profile;
  return p ? `${p.name}\u0000${p.server}\u0000${p.layout}` : '';
}

export function useInstallationKey(): string {
  return installationKey(useSession().status);
}

/**
 * The installation key as views compare it: the same (`''`) before the status arrives and for
 * the first installation it names, so that what a view read while the status was coming is
 * kept; another installation after that has its own key.
 */
export function useInstallationScope(): string {
  const key = useInstallationKey();
  const first = useRef<string | null>(null);
  if (key !== '' && first.current === null) first.current = key;
  return key === '' || key === first.current ? '' : key;
}
