/** Pixel dimensions read from a file header. */
export interface ImageSize {
  widthPx: number;
  heightPx: number;
}
