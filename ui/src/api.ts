// Backend API for the Backstage Inspector UI.
//
// This file mirrors the Rust command types in `src-tauri/src/commands` by
// hand. It will later be replaced by a generated bindings file; until then,
// keep the field names and shapes here in step with the Rust side.
//
// This is the ONLY module that talks to the backend: components import the
// functions and types below and never call `invoke` themselves.

import { invoke } from '@tauri-apps/api/core';

/** Stable, machine-readable error code from the backend (e.g. "not_found"). */
export type ErrorCode = string;

/** Error payload returned by backend commands. */
export interface ApiError {
  code: ErrorCode;
  message: string;
}

/** The connection profile the app was started with. */
export interface ProfileSummary {
  name: string;
  server: string;
  write_mode: boolean;
}

/** A plugin database found on the connected server. */
export interface DatabaseSummary {
  name: string;
  areas: string[];
  size_bytes: number | null;
}

/** Overall state of the app, as reported by the `app_status` command. */
export interface AppStatus {
  version: string;
  profile: ProfileSummary | null;
  connected: boolean;
  server_version: string | null;
  databases: DatabaseSummary[];
  error: ApiError | null;
}

/** Returns the app's version, the active profile and the server's databases. */
export async function appStatus(): Promise<AppStatus> {
  return invoke<AppStatus>('app_status');
}
