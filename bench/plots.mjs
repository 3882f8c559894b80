// Renders a Vega-Lite spec to SVG with vega's own headless renderer (no browser, no canvas, no
// network): the plots in bench/RESULTS.md are drawn from the bench's own JSON by bench/report.ts.
// Plain ESM so that vega and vega-lite resolve from bench/node_modules (bench/setup.sh).
import * as vega from 'vega';
import { compile } from 'vega-lite';

/** @param {object} spec a Vega-Lite spec with its data inline @returns {Promise<string>} SVG */
export async function renderSvg(spec) {
  const view = new vega.View(vega.parse(compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec }, { logger: vega.logger(vega.Error) }).spec), { renderer: 'none' });
  return view.toSVG();
}
