// src/io/plot.ts: training curves and image grids as PNG files, with no dependencies, one import
// for their users: the drawing buffer and bitmap font (canvas.ts), line plots (linePlot.ts) and
// image grids (imageGrid.ts), each encoded by encodePng.
export { Canvas, TEXT_HEIGHT, textWidth, type RGB } from './canvas.js';
export {
  formatTick,
  linePlotPng,
  niceTicks,
  PLOT_COLOURS,
  type PlotOptions,
  type Values,
} from './linePlot.js';
export { imageGridPng, type ImageGridOptions } from './imageGrid.js';
