import { watch, type FSWatcher } from "node:fs";
import * as path from "node:path";

/**
 * Calls `onChange` once `debounceMs` after the last change of `file`. The directory is watched,
 * not the file: editors and config tools replace a file by renaming a new one over it, and a
 * watch on the old file would go quiet after the first save.
 */
export function watchFile(file: string, debounceMs: number, onChange: () => void, onError: (e: unknown) => void): { close(): void } {
  const dir = path.dirname(path.resolve(file));
  const name = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let w: FSWatcher | undefined;
  try {
    w = watch(dir, { persistent: false }, (_event, changed) => {
      if (changed !== null && changed.toString() !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
      timer.unref();
    });
    w.on("error", onError);
  } catch (e) {
    onError(e);
  }
  return {
    close() {
      clearTimeout(timer);
      w?.close();
    },
  };
}
