import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Spec } from 'vega';
import type { TopLevelSpec } from 'vega-lite/build/index';

/** A chart rendered to both formats: SVG text and a PNG at twice the SVG's size. */
export interface RenderedChart {
  svg: string;
  png: Uint8Array;
}

// The project's tsconfig resolves modules the Node 10 way, which ignores the
// package "exports" field that vega-lite publishes its types under, so the
// type comes from the build path while the import uses the package name.
type VegaLiteModule = typeof import('vega-lite/build/index');
type VegaModule = typeof import('vega');
type ResvgModule = typeof import('@resvg/resvg-js');

const VEGA_LITE_PACKAGE: string = 'vega-lite';

/** Font that both the chart specs name and resvg draws with, shipped by the dejavu-fonts-ttf package. */
export const CHART_FONT_FAMILY = 'DejaVu Sans';

/** PNG pixels per SVG unit, so text stays sharp on high-density screens. */
const PNG_SCALE = 2;

interface Renderers {
  vega: VegaModule;
  vegaLite: VegaLiteModule;
  resvg: ResvgModule;
  fontFiles: string[];
}

let renderers: Promise<Renderers> | undefined;

// vega and vega-lite ship only as ES modules, and vega's vega-canvas uses
// top-level await, which require() cannot load. So both come in through
// import() on first use.
async function loadRenderers(): Promise<Renderers> {
  const vega = await import('vega');
  const vegaLite = (await import(VEGA_LITE_PACKAGE)) as VegaLiteModule;
  let resvg: ResvgModule;
  try {
    resvg = await import('@resvg/resvg-js');
  } catch (error) {
    throw new Error(
      `failed to load @resvg/resvg-js for ${process.platform}-${process.arch} (${(error as Error).message}); its native binding comes from an optional npm dependency, so reinstall with "npm ci" without --omit=optional`,
    );
  }
  const fontFolder = join(dirname(createRequire(__filename).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  const fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((file) => join(fontFolder, file));
  return { vega, vegaLite, resvg, fontFiles };
}

/** Loads the renderers once; a failed load is not cached, so the next call retries it. */
function getRenderers(): Promise<Renderers> {
  renderers ??= loadRenderers().catch((error: unknown) => {
    renderers = undefined;
    throw error;
  });
  return renderers;
}

/** Compiles a Vega-Lite spec to Vega. */
export async function compileChart(spec: TopLevelSpec): Promise<Spec> {
  const { vegaLite } = await getRenderers();
  return vegaLite.compile(spec).spec;
}

/**
 * Renders a Vega-Lite spec headless to SVG with vega, then rasterizes the SVG
 * to PNG with resvg using the bundled DejaVu fonts and no system fonts, so the
 * PNG looks the same on every machine.
 */
export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  const { vega, resvg, fontFiles } = await getRenderers();
  const compiled = await compileChart(spec);

  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }

  const rasterizer = new resvg.Resvg(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    font: { loadSystemFonts: false, fontFiles, defaultFontFamily: CHART_FONT_FAMILY, sansSerifFamily: CHART_FONT_FAMILY },
  });
  const png = new Uint8Array(rasterizer.render().asPng());
  return { svg, png };
}
