import { useCallback, useEffect, useState } from 'preact/hooks';

/** Loads once per change of `key`; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, key: string) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [count, setCount] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(null);
      },
      (failure: unknown) =>
        live && setError(failure instanceof Error ? failure.message : String(failure)),
    );
    return () => {
      live = false;
    };
  }, [key, count]);
  const reload = useCallback(() => setCount((n) => n + 1), []);
  return { data, error, reload };
}
