/** A message that fails mozdef_client's validation, or a send that failed. */
export class MozDefError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MozDefError";
  }
}
