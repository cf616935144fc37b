import type { TopLevelSpec } from 'vega-lite/build/index';
import { CHART_FONT_FAMILY } from './render';

/**
 * Vega-Lite spec builders for the report's charts. Each takes plain rows and
 * returns a complete spec with inline data, so a spec renders the same way in
 * Node and in a browser.
 */

type Row = Record<string, string | number>;
type Config = NonNullable<TopLevelSpec['config']>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PANEL_WIDTH_PX = 360;
const PANEL_HEIGHT_PX = 220;

const chartConfig: Config = {
  font: CHART_FONT_FAMILY,
  background: 'white',
  padding: 12,
  title: { fontSize: 14, anchor: 'start', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#d0d0d0' },
};

const percentAxis = { format: '.0%' } as const;

function base(title: string): Pick<TopLevelSpec, '$schema' | 'title' | 'config'> {
  return { $schema: SCHEMA, title, config: chartConfig };
}

export interface LineChartOptions {
  title: string;
  rows: Row[];
  x: { field: string; title: string; percent?: boolean; logBase2?: boolean };
  y: { field: string; title: string; percent?: boolean; zeroBased?: boolean };
  /** Field that names each line; `order` fixes the legend order and so the colors, else they follow the sorted names. */
  series: { field: string; title: string; order?: string[] };
  /** Field whose values split the chart into side-by-side panels, in ascending order; `labelSuffix` follows each panel's value, such as " bits". */
  column?: { field: string; title: string; labelSuffix?: string };
  points?: boolean;
}

/** Lines (with optional point markers) of `y` against `x`, one colored line per series value. */
export function lineChart(options: LineChartOptions): TopLevelSpec {
  const encoding = {
    x: {
      field: options.x.field,
      type: 'quantitative' as const,
      title: options.x.title,
      axis: options.x.percent ? percentAxis : {},
      scale: options.x.logBase2 ? { type: 'log' as const, base: 2 } : {},
    },
    y: {
      field: options.y.field,
      type: 'quantitative' as const,
      title: options.y.title,
      axis: options.y.percent ? percentAxis : {},
      scale: { zero: options.y.zeroBased ?? false },
    },
    color: { field: options.series.field, type: 'nominal' as const, title: options.series.title, ...(options.series.order ? { sort: options.series.order } : {}) },
    tooltip: [
      { field: options.series.field, type: 'nominal' as const },
      { field: options.x.field, type: 'quantitative' as const },
      { field: options.y.field, type: 'quantitative' as const, format: '.4f' },
    ],
  };
  const mark = { type: 'line' as const, point: options.points ?? false, strokeWidth: 2 };
  if (options.column !== undefined) {
    return {
      ...base(options.title),
      data: { values: options.rows },
      facet: {
        column: {
          field: options.column.field,
          type: 'ordinal',
          title: options.column.title,
          sort: 'ascending',
          ...(options.column.labelSuffix ? { header: { labelExpr: `datum.value + '${options.column.labelSuffix}'` } } : {}),
        },
      },
      spec: { width: 260, height: PANEL_HEIGHT_PX, mark, encoding },
    };
  }
  return { ...base(options.title), width: PANEL_WIDTH_PX, height: PANEL_HEIGHT_PX, data: { values: options.rows }, mark, encoding };
}

export interface TrainingRow extends Row {
  epoch: number;
  metric: 'loss' | 'accuracy';
  split: 'train' | 'validation';
  value: number;
}

/** Loss and accuracy per epoch of one network, train and validation, as two panels. */
export function trainingChart(network: string, rows: TrainingRow[]): TopLevelSpec {
  const panel = (metric: 'loss' | 'accuracy') => ({
    width: 320,
    height: PANEL_HEIGHT_PX,
    title: metric,
    transform: [{ filter: { field: 'metric', equal: metric } }],
    mark: { type: 'line' as const, point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: {
        field: 'value',
        type: 'quantitative' as const,
        title: metric,
        scale: { zero: false },
        axis: metric === 'accuracy' ? percentAxis : {},
      },
      color: { field: 'split', type: 'nominal' as const, title: 'split', scale: { domain: ['train', 'validation'], range: ['#4c78a8', '#f58518'] } },
    },
  });
  const metrics = (['loss', 'accuracy'] as const).filter((metric) => rows.some((row) => row.metric === metric));
  return { ...base(`Training: ${network}`), data: { values: rows }, hconcat: metrics.map(panel) };
}

/** Grouped bars of a fraction per category, one bar per group within each category. */
export function groupedBarChart(options: {
  title: string;
  rows: Row[];
  category: { field: string; title: string };
  /** Groups in legend and bar order; the values' first appearance in `rows` when absent. */
  group: { field: string; title: string; order?: string[] };
  value: { field: string; title: string; percent?: boolean };
}): TopLevelSpec {
  const groupOrder = options.group.order ?? [...new Set(options.rows.map((row) => String(row[options.group.field])))];
  return {
    ...base(options.title),
    width: { step: 18 },
    height: PANEL_HEIGHT_PX,
    data: { values: options.rows },
    mark: { type: 'bar' },
    encoding: {
      x: { field: options.category.field, type: 'nominal', title: options.category.title, axis: { labelAngle: -30 } },
      xOffset: { field: options.group.field, type: 'nominal', sort: groupOrder },
      y: { field: options.value.field, type: 'quantitative', title: options.value.title, axis: options.value.percent ? percentAxis : {} },
      color: { field: options.group.field, type: 'nominal', title: options.group.title, sort: groupOrder },
      tooltip: [
        { field: options.category.field, type: 'nominal' },
        { field: options.group.field, type: 'nominal' },
        { field: options.value.field, type: 'quantitative', format: options.value.percent ? '.2%' : '.4f' },
      ],
    },
  };
}

export interface MatrixCell extends Row {
  row: string;
  column: string;
  value: number;
  label: string;
}

/**
 * Draws a heat map of matrix cells in the given row and column order, with
 * each cell's label on top when `labels` is set. A `diverging` map uses a
 * red-blue scale centred on zero over [-1, 1], and other maps a blue scale
 * over [0, max].
 */
export function heatMapChart(options: {
  title: string;
  cells: MatrixCell[];
  rowOrder: string[];
  columnOrder: string[];
  rowTitle: string;
  columnTitle: string;
  valueTitle: string;
  diverging?: boolean;
  labels?: boolean;
  cellSizePx?: number;
}): TopLevelSpec {
  const cellSizePx = options.cellSizePx ?? 36;
  const color = options.diverging
    ? { field: 'value', type: 'quantitative' as const, title: options.valueTitle, scale: { scheme: 'redblue', domain: [-1, 1], reverse: true } }
    : { field: 'value', type: 'quantitative' as const, title: options.valueTitle, scale: { scheme: 'blues', domainMin: 0 } };
  // Cells too small for a label each, such as bit indexes, get one on every eighth numbered row and column.
  const sparseLabels = cellSizePx < 12 ? { labelExpr: "toNumber(datum.value) % 8 === 0 ? datum.label : ''" } : {};
  const encoding = {
    x: { field: 'column', type: 'ordinal' as const, title: options.columnTitle, sort: options.columnOrder, axis: { labelAngle: cellSizePx < 12 ? 0 : -30, ...sparseLabels } },
    y: { field: 'row', type: 'ordinal' as const, title: options.rowTitle, sort: options.rowOrder, axis: { ...sparseLabels } },
  };
  const rect = { mark: { type: 'rect' as const }, encoding: { ...encoding, color, tooltip: [{ field: 'row' }, { field: 'column' }, { field: 'label' }] } };
  const text = {
    mark: { type: 'text' as const, fontSize: 11 },
    encoding: {
      ...encoding,
      text: { field: 'label', type: 'nominal' as const },
      color: { condition: { test: 'datum.value > 0.6', value: 'white' }, value: '#222' },
    },
  };
  return {
    ...base(options.title),
    width: { step: cellSizePx },
    height: { step: cellSizePx },
    data: { values: options.cells },
    layer: options.labels ? [rect, text] : [rect],
  };
}

/**
 * Overlaid histograms of one measure per group, with `binCount` bins shared
 * by all groups. `markers` draws labelled vertical rules, such as percentiles.
 */
export function histogramChart(options: {
  title: string;
  rows: Row[];
  value: { field: string; title: string };
  /** Field that splits the rows into overlaid histograms; `order` fixes the legend order and so the colors. */
  group?: { field: string; title: string; order?: string[] };
  binCount?: number;
  markers?: Array<{ label: string; value: number }>;
}): TopLevelSpec {
  const bars = {
    mark: { type: 'bar' as const, opacity: options.group ? 0.6 : 0.9, binSpacing: 1 },
    encoding: {
      x: { field: options.value.field, type: 'quantitative' as const, title: options.value.title, bin: { maxbins: options.binCount ?? 30 } },
      y: { aggregate: 'count' as const, type: 'quantitative' as const, title: 'count', stack: null },
      ...(options.group
        ? { color: { field: options.group.field, type: 'nominal' as const, title: options.group.title, ...(options.group.order ? { sort: options.group.order } : {}) } }
        : {}),
    },
  };
  // Marker labels stack down from the top edge, 14 px apart, so close markers stay readable.
  const markers = (options.markers ?? []).map((marker, index) => ({ ...marker, labelYPx: 8 + 14 * index }));
  const rules = {
    data: { values: markers },
    mark: { type: 'rule' as const, color: '#c0392b', strokeDash: [4, 3] },
    encoding: { x: { field: 'value', type: 'quantitative' as const } },
  };
  const ruleLabels = {
    data: { values: markers },
    mark: { type: 'text' as const, align: 'left' as const, dx: 4, dy: -6, color: '#c0392b', fontSize: 11 },
    encoding: {
      x: { field: 'value', type: 'quantitative' as const },
      y: { field: 'labelYPx', type: 'quantitative' as const, scale: null },
      text: { field: 'label', type: 'nominal' as const },
    },
  };
  return {
    ...base(options.title),
    width: PANEL_WIDTH_PX,
    height: PANEL_HEIGHT_PX,
    data: { values: options.rows },
    layer: markers.length > 0 ? [bars, rules, ruleLabels] : [bars],
  };
}

/** Bars of one value per ordered category, with an optional horizontal reference rule. */
export function barChart(options: {
  title: string;
  rows: Row[];
  category: { field: string; title: string; quantitative?: boolean };
  value: { field: string; title: string; percent?: boolean; domain?: [number, number] };
  reference?: { value: number; label: string };
}): TopLevelSpec {
  const rowCount = options.rows.length;
  const bars = {
    mark: { type: 'bar' as const, color: '#4c78a8' },
    encoding: {
      x: {
        field: options.category.field,
        type: options.category.quantitative ? ('ordinal' as const) : ('nominal' as const),
        title: options.category.title,
        sort: null,
        // Many categories (bit indexes) get a label on every eighth bar only.
        axis: rowCount > 40 ? { labelExpr: "datum.value % 8 === 0 ? datum.label : ''", labelAngle: 0 } : {},
      },
      y: {
        field: options.value.field,
        type: 'quantitative' as const,
        title: options.value.title,
        axis: options.value.percent ? percentAxis : {},
        scale: options.value.domain ? { domain: options.value.domain } : {},
      },
      tooltip: [{ field: options.category.field }, { field: options.value.field, type: 'quantitative' as const, format: '.3f' }],
    },
  };
  const rule = options.reference
    ? [
        {
          data: { values: [options.reference] },
          mark: { type: 'rule' as const, color: '#c0392b', strokeDash: [4, 3] },
          encoding: { y: { field: 'value', type: 'quantitative' as const } },
        },
      ]
    : [];
  return {
    ...base(options.title),
    width: rowCount > 40 ? { step: 8 } : { step: 22 },
    height: PANEL_HEIGHT_PX,
    data: { values: options.rows },
    layer: [bars, ...rule],
  };
}
