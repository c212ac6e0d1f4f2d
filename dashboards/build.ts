// All dashboards of a network, as objects and as the JSON files the Grafana provider reads.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../network/schema.js';
import type { DashboardKey } from './common/dashboard.js';
import { stableJson } from './common/json.js';
import { energyDashboard } from './energy/index.js';
import { floodDashboard } from './flood/index.js';
import { forecastDashboard } from './forecast/index.js';
import { overviewDashboard } from './overview/index.js';
import { planDashboard } from './plan/index.js';
import { plantsDashboard } from './plants/index.js';
import { stationDashboard } from './station/index.js';

export interface GeneratedDashboard {
  key: DashboardKey;
  /** File name under dashboards/generated. */
  file: string;
  dashboard: dashboard.Dashboard;
}

const builders: readonly { key: DashboardKey; file: string; build: (network: NetworkConfig) => dashboard.Dashboard }[] = [
  { key: 'overview', file: 'overview.json', build: overviewDashboard },
  { key: 'station', file: 'station.json', build: stationDashboard },
  { key: 'plan', file: 'plan-vs-actual.json', build: planDashboard },
  { key: 'forecast', file: 'forecast.json', build: forecastDashboard },
  { key: 'plants', file: 'plants.json', build: plantsDashboard },
  { key: 'flood', file: 'flood-season.json', build: floodDashboard },
  { key: 'energy', file: 'energy-cost.json', build: energyDashboard },
];

export function buildDashboards(network: NetworkConfig): GeneratedDashboard[] {
  return builders.map((b) => ({ key: b.key, file: b.file, dashboard: b.build(network) }));
}

/** File name → file content (stable key order, 2-space indentation, trailing newline). */
export function renderDashboards(network: NetworkConfig): Map<string, string> {
  return new Map(buildDashboards(network).map((d) => [d.file, stableJson(d.dashboard)]));
}
