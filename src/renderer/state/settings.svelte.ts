// The studio's settings: loaded from and saved (debounced) through the API, with the preset they match.

import type { ErrorInfo, StudioApi } from '../../shared/api.js';
import { Debouncer } from '../lib/debouncer.js';
import {
  DEFAULT_STUDIO_SETTINGS,
  LAYER_NAMES,
  LAYER_PRESETS,
  applyPreset,
  type LayerSetting,
  type StudioSettings,
} from '../../shared/studio-settings.js';

const clone = <T>(value: T): T => structuredClone(value);

/** Fills in whatever an older saved file lacks, so every field and all 16 layers are present. */
export function completeSettings(saved: Partial<StudioSettings> | null | undefined): StudioSettings {
  const base = clone(DEFAULT_STUDIO_SETTINGS);
  if (!saved) return base;
  const layers: Record<string, LayerSetting> = {};
  for (const name of LAYER_NAMES) layers[name] = { ...base.layers[name]!, ...(saved.layers?.[name] ?? {}) };
  return { ...base, ...saved, layers };
}

/** The id of the preset whose layers these are, or null when the user has made their own mix. */
export function matchingPreset(settings: StudioSettings): string | null {
  for (const preset of LAYER_PRESETS) {
    const matches = LAYER_NAMES.every((name) => {
      const layer = settings.layers[name];
      return (
        layer !== undefined &&
        layer.style === preset.style.includes(name) &&
        layer.content === preset.content.includes(name) &&
        (!layer.style || layer.styleWeight === 1)
      );
    });
    if (matches) return preset.id;
  }
  return null;
}

/** The settings a run in progress can take: layer toggles and weights, the three term weights. */
export function liveKey(settings: StudioSettings): string {
  return JSON.stringify([settings.layers, settings.styleWeight, settings.contentWeight, settings.tvWeight]);
}

export class SettingsState {
  current = $state<StudioSettings>(clone(DEFAULT_STUDIO_SETTINGS));
  loaded = $state(false);
  presetId = $derived(matchingPreset(this.current));
  hasLayers = $derived(LAYER_NAMES.some((n) => this.current.layers[n]?.style || this.current.layers[n]?.content));

  private readonly saver: Debouncer;
  private lastSaved = '';

  constructor(
    private readonly api: StudioApi,
    saveDelayMs = 400,
  ) {
    this.saver = new Debouncer(saveDelayMs);
  }

  /** A plain copy (no proxies), as the API and structured clone need. */
  snapshot(): StudioSettings {
    return $state.snapshot(this.current) as StudioSettings;
  }

  /** Loads the saved settings, unless the user already changed something while they were on their way. */
  async load(): Promise<ErrorInfo | null> {
    const before = JSON.stringify(this.snapshot());
    const result = await this.api.getSettings();
    const untouched = JSON.stringify(this.snapshot()) === before;
    if (result.ok && untouched) this.current = completeSettings(result.value);
    this.lastSaved = result.ok && untouched ? JSON.stringify(this.snapshot()) : '';
    this.loaded = true;
    return result.ok ? null : result.error;
  }

  usePreset(presetId: string): void {
    this.current = applyPreset(this.snapshot(), presetId);
  }

  restore(settings: StudioSettings): void {
    this.current = completeSettings(clone(settings));
  }

  reset(): void {
    this.current = clone(DEFAULT_STUDIO_SETTINGS);
  }

  /** Call when anything changed: saves once the user pauses for saveDelayMs; the returned promise reports errors. */
  scheduleSave(onError: (error: ErrorInfo) => void): void {
    if (!this.loaded) return;
    this.saver.schedule(() => {
      const snapshot = this.snapshot();
      const text = JSON.stringify(snapshot);
      if (text === this.lastSaved) return;
      this.lastSaved = text;
      void this.api.saveSettings(snapshot).then((result) => {
        if (!result.ok) onError(result.error);
      });
    });
  }
}
