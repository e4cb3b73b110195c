import { InputError } from "@maelstrom/errors";

/** `name:tag`, or an immutable version by digest: `name@sha256:<at least 6 hex digits>`. */
export type ArtifactRef = { readonly name: string; readonly tag: string } | { readonly name: string; readonly digestPrefix: string };

/** A trained model: `name/3` (version) or `name@production` (alias). */
export type ModelRef = { readonly name: string; readonly version: number } | { readonly name: string; readonly alias: string };

const NAME_SEGMENT = "[a-z0-9][a-z0-9._-]*";
const NAME_PATTERN = new RegExp(`^${NAME_SEGMENT}(?:/${NAME_SEGMENT})?$`);
const MAX_NAME_LENGTH = 128;
// Docker's tag grammar; tags and aliases are labels a user types, so the same rule serves both.
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST_PATTERN = /^sha256:([0-9a-fA-F]{6,64})$/;
const VERSION_PATTERN = /^\d+$/;

export const NAME_EXPECTATION = "a name matching [a-z0-9][a-z0-9._-]*, optionally namespaced as group/name";
const ARTIFACT_REF_EXPECTATION = "an artifact reference like name, name:tag or name@sha256:<hex prefix of at least 6 digits>";
const MODEL_REF_EXPECTATION = "a model reference like name/3 (version), name@production (alias) or name (alias latest)";

/** Artifact and model names: `[a-z0-9][a-z0-9._-]*`, optionally `group/name`, at most 128 characters. */
export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

/** "name" (tag latest), "name:tag", "name@sha256:abcd12". The digest prefix is kept as "sha256:<lowercase hex>". */
export function parseArtifactRef(text: string): ArtifactRef {
  const at = text.indexOf("@");
  if (at >= 0) {
    const name = checkName(text, text.slice(0, at), ARTIFACT_REF_EXPECTATION);
    const digest = DIGEST_PATTERN.exec(text.slice(at + 1));
    if (digest === null) {
      throw referenceError(text, `'${text.slice(at + 1)}' is not a digest`, "a digest like sha256:<hex prefix of at least 6 digits>");
    }
    return { name, digestPrefix: `sha256:${(digest[1] ?? "").toLowerCase()}` };
  }
  const colon = text.indexOf(":");
  if (colon < 0) return { name: checkName(text, text, ARTIFACT_REF_EXPECTATION), tag: "latest" };
  const name = checkName(text, text.slice(0, colon), ARTIFACT_REF_EXPECTATION);
  const tag = text.slice(colon + 1);
  if (!TAG_PATTERN.test(tag)) {
    throw referenceError(text, `invalid tag '${tag}'`, "a tag matching [A-Za-z0-9_][A-Za-z0-9._-]* (at most 128 characters)");
  }
  return { name, tag };
}

/** "name/3", "group/name/3" (a last segment of digits is a version), "name@production"; "name" means alias latest. */
export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf("@");
  if (at >= 0) {
    const name = checkName(text, text.slice(0, at), MODEL_REF_EXPECTATION);
    const alias = text.slice(at + 1);
    if (!TAG_PATTERN.test(alias)) {
      throw referenceError(text, `invalid alias '${alias}'`, "an alias matching [A-Za-z0-9_][A-Za-z0-9._-]* (at most 128 characters)");
    }
    return { name, alias };
  }
  if (text.includes(":")) {
    throw referenceError(text, "models are not tagged with ':'", MODEL_REF_EXPECTATION);
  }
  const slash = text.lastIndexOf("/");
  const last = text.slice(slash + 1);
  if (slash >= 0 && VERSION_PATTERN.test(last)) {
    const name = checkName(text, text.slice(0, slash), MODEL_REF_EXPECTATION);
    const version = Number(last);
    if (!Number.isSafeInteger(version) || version < 1) {
      throw referenceError(text, `invalid version '${last}'`, "a version number >= 1");
    }
    return { name, version };
  }
  return { name: checkName(text, text, MODEL_REF_EXPECTATION), alias: "latest" };
}

export function formatArtifactRef(ref: ArtifactRef): string {
  return "tag" in ref ? `${ref.name}:${ref.tag}` : `${ref.name}@${ref.digestPrefix}`;
}

export function formatModelRef(ref: ModelRef): string {
  return "version" in ref ? `${ref.name}/${ref.version}` : `${ref.name}@${ref.alias}`;
}

/** The name part of a reference; a whole reference that is only a bad name gets the reference form as expectation. */
function checkName(reference: string, name: string, expected: string): string {
  if (isValidName(name)) return name;
  if (name === reference) throw referenceError(reference, "not a valid reference", expected);
  const problem = name === "" ? "the name is empty" : `invalid name '${name}'`;
  throw referenceError(reference, problem, NAME_EXPECTATION);
}

function referenceError(reference: string, problem: string, expected: string): InputError {
  return new InputError(`invalid reference '${reference}': ${problem}; expected ${expected}`, {
    code: "REFERENCE_INVALID",
    details: { reference, expected },
  });
}
