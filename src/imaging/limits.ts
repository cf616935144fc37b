/** 40 megapixels: larger than a 1000 ppi ten-print card scan, far larger than any live-scan sensor. */
export const DEFAULT_MAX_PIXELS = 40_000_000;
