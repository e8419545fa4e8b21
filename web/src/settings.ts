// The app's name and accent colour, served by the backend as Parse Config values (appName, accentColor;
// set with PUT /parse/config and the master key), so one build serves any team's brand. Defaults apply
// when the config is absent or unreachable.
import { Parse } from './api';

export interface AppSettings {
  appName: string;
  accentColor: string;
}

export const DEFAULT_SETTINGS: AppSettings = { appName: 'CRM', accentColor: '#2456c7' };

/** A CSS colour the app accepts: #rgb / #rrggbb, or rgb()/hsl() forms; anything else keeps the default. */
export function isColor(value: unknown): value is string {
  return typeof value === 'string' && /^(#[0-9a-f]{3}|#[0-9a-f]{6}|(rgb|hsl)a?\([\d\s.,%]+\))$/i.test(value.trim());
}

export function settingsFrom(get: (key: string) => unknown): AppSettings {
  const name = get('appName');
  const color = get('accentColor');
  return {
    appName: typeof name === 'string' && name.trim() ? name.trim().slice(0, 60) : DEFAULT_SETTINGS.appName,
    accentColor: isColor(color) ? color.trim() : DEFAULT_SETTINGS.accentColor,
  };
}

/** The served settings (Parse.Config.get), or the last ones seen on this device, or the defaults. */
export async function loadSettings(): Promise<AppSettings> {
  try {
    const config = await Parse.Config.get();
    return settingsFrom((k) => config.get(k));
  } catch {
    const cached = await Promise.resolve(Parse.Config.current()).catch(() => undefined);
    return cached ? settingsFrom((k) => cached.get(k)) : DEFAULT_SETTINGS;
  }
}

export function applySettings(s: AppSettings) {
  document.documentElement.style.setProperty('--accent', s.accentColor);
  document.title = s.appName;
}
