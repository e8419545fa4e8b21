import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { connectivity, live, type LiveEvent } from './api';
import { changeQueue, localData } from './sync';

export function useOnline(): boolean {
  return useSyncExternalStore(connectivity.subscribe, () => connectivity.online);
}

/** The live feed's state; "offline" while the server cannot be reached, whatever the socket last said. */
export function useLiveStatus(): string {
  const online = useOnline();
  const status = useSyncExternalStore(live.onStatus, () => live.status);
  return online ? status : 'offline';
}

/** Changes made offline that are not on the server yet (sync.ts). */
export function useChangeQueue() {
  return useSyncExternalStore(changeQueue.subscribe, () => changeQueue.value);
}

/** Grows whenever the device's copy of the records changed (sync on start or reconnect, a queued change sent). */
export function useLocalDataVersion(): number {
  return useSyncExternalStore(localData.subscribe, () => localData.value);
}

/** Calls the handler for each real-time event (the latest handler, without resubscribing). */
export function useLive(handler: (e: LiveEvent) => void) {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => live.on((e) => ref.current(e)), []);
}

/** Loads on mount, whenever deps change and when the device's data was synced; reload() refetches. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const synced = useLocalDataVersion();
  useEffect(() => {
    let cancelled = false;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => { if (!cancelled) setState({ data, loading: false }); },
      (error: unknown) => { if (!cancelled) setState({ error, loading: false }); },
    );
    return () => { cancelled = true; };
  }, [...deps, tick, synced]);
  return { ...state, reload: () => setTick((t) => t + 1), setData: (data: T) => setState({ data, loading: false }) };
}
