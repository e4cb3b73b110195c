import { InputError } from "@maelstrom/errors";

type ParameterValue = number | string | boolean;

/**
 * The parameter values a step runs with: the manifest's defaults overridden by the pipeline and
 * `--set`, already checked against the declared types and bounds by the engine.
 */
export class MetaVariables {
  readonly #values: ReadonlyMap<string, ParameterValue>;
  readonly #artifact: string;

  constructor(values: Readonly<Record<string, ParameterValue>>, artifact = "this step") {
    this.#values = new Map(Object.entries(values));
    this.#artifact = artifact;
  }

  /** The value of a declared parameter; with a fallback, undeclared names return the fallback. */
  get<T extends ParameterValue = ParameterValue>(name: string, fallback?: T): T {
    const value = this.#values.get(name);
    if (value !== undefined) return value as T;
    if (fallback !== undefined) return fallback;
    const declared = [...this.#values.keys()].join(", ") || "none";
    throw new InputError(
      `parameter '${name}' is not declared in the manifest of ${this.#artifact} (declared: ${declared}); declare it under 'parameters:' or pass a fallback: meta.get("${name}", value)`,
      { code: "PARAMETER_INVALID", details: { artifact: this.#artifact, parameter: name } },
    );
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  get names(): string[] {
    return [...this.#values.keys()];
  }

  toJSON(): Record<string, ParameterValue> {
    return Object.fromEntries(this.#values);
  }
}
