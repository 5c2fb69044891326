/** A route's `:id` as a number (NaN → the API answers 404, shown as an error state). */
export function useNumericParam(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : -1;
}
