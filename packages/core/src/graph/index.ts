export { orderSteps } from "./graph.js";
export type { GraphStep } from "./graph.js";
