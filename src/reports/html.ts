/** HTML building blocks shared by the run report and the comparison page. */

/** Escapes text for use in HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A fragment of trusted HTML, built only by the helpers here, so plain strings are always escaped. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Content = Html | string | number | undefined | null | false | Content[];

function render(content: Content): string {
  if (content === undefined || content === null || content === false) return '';
  if (content instanceof Html) return content.text;
  if (Array.isArray(content)) return content.map(render).join('');
  return escapeHtml(String(content));
}

/** Tagged template that escapes every interpolated value unless it is Html. */
export function html(strings: TemplateStringsArray, ...values: Content[]): Html {
  let text = strings[0];
  values.forEach((value, index) => {
    text += render(value) + strings[index + 1];
  });
  return new Html(text);
}

export function join(parts: Content[]): Html {
  return new Html(render(parts));
}

export function formatPercent(fraction: number | undefined, digits = 1): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function formatNumber(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(digits);
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(durationMs: number | undefined): string {
  if (durationMs === undefined || !Number.isFinite(durationMs)) return '–';
  if (durationMs < 1000) return `${Math.round(durationMs)} ms`;
  const totalSeconds = Math.round(durationMs / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min ${seconds} s`;
  return `${seconds} s`;
}

export interface TableColumn<T> {
  header: string;
  cell: (row: T) => Content;
  /** Right-aligns the column, for numbers. */
  numeric?: boolean;
}

export function table<T>(columns: TableColumn<T>[], rows: T[], options: { caption?: string; className?: string } = {}): Html {
  const headers = columns.map((column) => html`<th${column.numeric ? new Html(' class="num"') : ''}>${column.header}</th>`);
  const body = rows.map(
    (row) => html`<tr>${columns.map((column) => html`<td${column.numeric ? new Html(' class="num"') : ''}>${column.cell(row)}</td>`)}</tr>`,
  );
  return html`<div class="table-wrap"><table${options.className ? new Html(` class="${escapeHtml(options.className)}"`) : ''}>${
    options.caption ? html`<caption>${options.caption}</caption>` : ''
  }<thead><tr>${headers}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** Embeds PNG bytes as an image with a data URI, at `widthPx` CSS pixels. */
export function pngImage(png: Uint8Array, options: { alt: string; widthPx?: number; id?: string }): Html {
  const source = `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
  const width = options.widthPx !== undefined ? html` width="${Math.round(options.widthPx)}"` : '';
  const id = options.id !== undefined ? html` id="${options.id}"` : '';
  return html`<img${id} src="${source}" alt="${options.alt}"${width}>`;
}

/** Checks whether bytes start with the 8-byte PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes.length > signature.length && signature.every((byte, index) => bytes[index] === byte);
}

/**
 * Content Security Policy of every generated page: images only from data
 * URIs, inline styles only, no scripts, fonts, frames or connections, so the
 * page cannot make a network request.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

export const PAGE_STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6474; --line: #dde1e8; --panel: #f6f7f9;
  --ok: #1e7d45; --ok-bg: #e5f4ea; --fail: #b42318; --fail-bg: #fdecea; --warn: #8a5a00; --warn-bg: #fff4dc; --info: #2458a6; --info-bg: #e8f0fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: white; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
header.page { border-bottom: 1px solid var(--line); padding-bottom: 12px; margin-bottom: 16px; }
header.page h1 { font-size: 22px; margin: 0 0 4px; }
header.page .meta { color: var(--muted); }
h2 { font-size: 18px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow: auto; max-height: 420px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
.badge.succeeded { color: var(--ok); background: var(--ok-bg); }
.badge.failed, .badge.cancelled { color: var(--fail); background: var(--fail-bg); }
.badge.skipped, .badge.partial { color: var(--warn); background: var(--warn-bg); }
.badge.running, .badge.cached { color: var(--info); background: var(--info-bg); }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; margin: 8px 0 12px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: var(--panel); }
.tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.tile .value { font-size: 22px; font-weight: 650; margin-top: 2px; }
.tile .detail { color: var(--muted); font-size: 12px; }
.notice { border-left: 4px solid; border-radius: 4px; padding: 8px 12px; margin: 8px 0; }
.notice.failed, .notice.cancelled { border-color: var(--fail); background: var(--fail-bg); }
.notice.skipped { border-color: var(--warn); background: var(--warn-bg); }
.notice.info { border-color: var(--info); background: var(--info-bg); }
nav.toc { margin: 8px 0 0; color: var(--muted); }
nav.toc a { color: var(--info); margin-right: 12px; text-decoration: none; white-space: nowrap; }
.table-wrap { overflow-x: auto; margin: 8px 0 12px; }
table { border-collapse: collapse; min-width: 40%; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code { white-space: nowrap; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: white; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; padding: 4px 2px 0; max-width: 520px; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; align-items: start; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;

/** Wraps a body in a complete HTML document with the shared style and the no-network Content Security Policy. */
export function page(title: string, body: Html): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
${body.text}
</main>
</body>
</html>
`;
}
