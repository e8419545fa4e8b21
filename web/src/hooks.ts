import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { connectivity, live, type LiveEvent } from './api';

export function useOnline(): boolean {
  return useSyncExternalStore(connectivity.subscribe, () => connectivity.online);
}

export function useLiveStatus(): string {
  return useSyncExternalStore(live.onStatus, () => live.status);
}

/** Calls the handler for each real-time event (the latest handler, without resubscribing). */
export function useLive(handler: (e: LiveEvent) => void) {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => live.on((e) => ref.current(e)), []);
}

/** Loads on mount and whenever deps change; reload() refetches. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let cancelled = false;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => { if (!cancelled) setState({ data, loading: false }); },
      (error: unknown) => { if (!cancelled) setState({ error, loading: false }); },
    );
    return () => { cancelled = true; };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1), setData: (data: T) => setState({ data, loading: false }) };
}
