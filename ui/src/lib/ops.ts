// Ids of long operations, so that a Cancel button can cancel the query on the server.
import * as cmd from '../commands';

export const newOpId = cmd.newOpId;

/** Asks the backend to cancel the operation `id` (a no-op when it already finished). */
export async function cancelOp(id: string): Promise<void> {
  try {
    await cmd.cancel(id);
  } catch {
    // The operation ended meanwhile: nothing to cancel.
  }
}
