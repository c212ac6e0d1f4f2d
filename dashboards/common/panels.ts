// Shared panel defaults: every panel reads the provisioned InfluxDB, has a Chinese title (dispatchers work in
// Chinese) and an English description, shows its legend, and uses the units below.
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as text from '@grafana/grafana-foundation-sdk/text';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { influxDatasource } from './datasource.js';

/** Grafana unit ids; `suffix:` units where Grafana has none (m³/h, mg/L, kg/h). */
export const Unit = {
  m: 'lengthm',
  mm: 'lengthmm',
  m3: 'm3',
  m3h: 'suffix: m³/h',
  kwh: 'kwatth',
  kwhPerM3: 'suffix: kWh/m³',
  cny: 'currencyCNY',
  percent: 'percent',
  mgL: 'suffix: mg/L',
  kgH: 'suffix: kg/h',
  ph: 'none',
  count: 'none',
  perHour: 'suffix: /h',
} as const;

export const Color = {
  ok: 'green',
  info: 'blue',
  warn: 'yellow',
  orange: 'orange',
  alarm: 'red',
  neutral: 'text',
} as const;

/** Chinese title, English description. */
export interface PanelText {
  title: string;
  description: string;
}

export type Step = [color: string, from: number | null];

/** Absolute thresholds; the first step starts at -∞. */
export function thresholds(...steps: Step[]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([color, value], i) => ({ color, value: i === 0 ? null : value })));
}

const legend = () =>
  new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).calcs([]);
const tooltip = () => new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None);
const lastValue = (fields = '') => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields(fields);

export function timeseriesPanel(t: PanelText): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(t.title)
    .description(t.description)
    .datasource(influxDatasource())
    .legend(legend())
    .tooltip(tooltip())
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .height(8)
    .span(12);
}

/** Daily or hourly totals drawn as bars. */
export function barsPanel(t: PanelText): timeseries.PanelBuilder {
  return timeseriesPanel(t).drawStyle(common.GraphDrawStyle.Bars).fillOpacity(80).lineWidth(1).barAlignment(common.BarAlignment.After);
}

export function statPanel(t: PanelText): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(t.title)
    .description(t.description)
    .datasource(influxDatasource())
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.Auto)
    .height(4)
    .span(4);
}

export function gaugePanel(t: PanelText): gauge.PanelBuilder {
  return new gauge.PanelBuilder()
    .title(t.title)
    .description(t.description)
    .datasource(influxDatasource())
    .reduceOptions(lastValue())
    .showThresholdMarkers(true)
    .height(6)
    .span(6);
}

export function barGaugePanel(t: PanelText): bargauge.PanelBuilder {
  return new bargauge.PanelBuilder()
    .title(t.title)
    .description(t.description)
    .datasource(influxDatasource())
    .reduceOptions(lastValue())
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .orientation(common.VizOrientation.Horizontal)
    .showUnfilled(true)
    .height(8)
    .span(12);
}

export function tablePanel(t: PanelText): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(t.title)
    .description(t.description)
    .datasource(influxDatasource())
    .cellHeight(common.TableCellHeight.Sm)
    .height(8)
    .span(12);
}

export function stateTimelinePanel(t: PanelText): statetimeline.PanelBuilder {
  return new statetimeline.PanelBuilder()
    .title(t.title)
    .description(t.description)
    .datasource(influxDatasource())
    .legend(legend())
    .showValue(common.VisibilityMode.Auto)
    .mergeValues(true)
    .fillOpacity(70)
    .height(6)
    .span(12);
}

/** A markdown panel generated from the network file (configuration a viewer needs beside the data). */
export function markdownPanel(t: PanelText, content: string): text.PanelBuilder {
  return new text.PanelBuilder().title(t.title).description(t.description).mode(text.TextMode.Markdown).content(content).height(8).span(12);
}

/** Field overrides: display name (and optionally unit, colour, axis) of a field or series by its name. */
export interface SeriesStyle {
  displayName?: string;
  unit?: string;
  color?: string;
  dashed?: boolean;
  lineWidth?: number;
  fillOpacity?: number;
  fillBelowTo?: string;
  axisPlacement?: common.AxisPlacement;
  drawStyle?: common.GraphDrawStyle;
  stacking?: common.StackingMode;
  lineInterpolation?: common.LineInterpolation;
  hideFromLegend?: boolean;
}

export function styleProperties(style: SeriesStyle): dashboard.DynamicConfigValue[] {
  const p: dashboard.DynamicConfigValue[] = [];
  if (style.displayName !== undefined) p.push({ id: 'displayName', value: style.displayName });
  if (style.unit !== undefined) p.push({ id: 'unit', value: style.unit });
  if (style.color !== undefined) p.push({ id: 'color', value: { mode: 'fixed', fixedColor: style.color } });
  if (style.dashed) p.push({ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } });
  if (style.lineWidth !== undefined) p.push({ id: 'custom.lineWidth', value: style.lineWidth });
  if (style.fillOpacity !== undefined) p.push({ id: 'custom.fillOpacity', value: style.fillOpacity });
  if (style.fillBelowTo !== undefined) p.push({ id: 'custom.fillBelowTo', value: style.fillBelowTo });
  if (style.axisPlacement !== undefined) p.push({ id: 'custom.axisPlacement', value: style.axisPlacement });
  if (style.drawStyle !== undefined) p.push({ id: 'custom.drawStyle', value: style.drawStyle });
  if (style.stacking !== undefined) p.push({ id: 'custom.stacking', value: { mode: style.stacking, group: 'A' } });
  if (style.lineInterpolation !== undefined) p.push({ id: 'custom.lineInterpolation', value: style.lineInterpolation });
  if (style.hideFromLegend) p.push({ id: 'custom.hideFrom', value: { legend: true, tooltip: false, viz: false } });
  return p;
}

/** Value → text/colour mappings (e.g. 0 本地 LOCAL / 1 远程 REMOTE). */
export function valueMappings(entries: readonly { value: string; text: string; color?: string }[]): dashboard.ValueMapping[] {
  const options: Record<string, dashboard.ValueMappingResult> = {};
  entries.forEach((e, index) => {
    options[e.value] = { text: e.text, index, ...(e.color ? { color: e.color } : {}) };
  });
  return [{ type: dashboard.MappingType.ValueToText, options }];
}

/** A data link to another dashboard, keeping the time range; `vars` are URL query parameters. */
export function dashboardLink(title: string, uid: string, vars: Record<string, string> = {}): dashboard.DashboardLinkBuilder {
  const query = Object.entries(vars)
    .map(([k, v]) => `var-${k}=${v}`)
    .concat(['${__url_time_range}'])
    .join('&');
  return new dashboard.DashboardLinkBuilder(title).type(dashboard.DashboardLinkType.Link).url(`/d/${uid}?${query}`).targetBlank(false).keepTime(false).includeVars(false);
}
