export { Client, Session } from "./client.js";
export type { Artifact, ClientOpenOptions, Inference, TrainedModel, TrainOptions, TrainStats } from "./client.js";
