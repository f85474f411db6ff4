/** `dataKeyReuse` of the configuration: a data key serves until any one limit would be passed. */
export interface DataKeyReuseLimits {
  readonly maxAgeSeconds: number;
  readonly maxMessages: number;
  /** Counted from `plaintextBytes` of each `generateDataKey`. */
  readonly maxBytes: number;
}
