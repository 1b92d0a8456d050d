/**
 * agents/learning: the machinery behind the tfjs learners (PPO/MAPPO, DDPG/MADDPG). Backend choice,
 * the thread-independent Trainer, the per-firm piscina pool and its typed messages, the update
 * coordinator, network inputs and checkpoints. The policies themselves live in agents/policies.
 */
export { type BackendPreference, initBackend } from "./backend.js";
export { type Checkpoint, firmDir, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
export { Features, priceScale, rewardScale } from "./features.js";
export { type GridSpec, QuantityGrid } from "./grid.js";
export { InlineHost, TrainerEndpoint, type TrainerHost } from "./host.js";
export {
  concatBatches,
  type DdpgSpec,
  type ExperienceBatch,
  moveMessage,
  type PpoSpec,
  type ResponseFor,
  rowStride,
  type TrainerSpec,
  type TrainerState,
  type TrainStats,
  type WorkerRequest,
  type WorkerResponse,
} from "./messages.js";
export { criticPeers, TrainingJoin, writePeerInputs } from "./ctde.js";
export { Mlp, type MlpShape } from "./mlp.js";
export { NeuralPolicy } from "./neural-policy.js";
export { anneal, type LearnerOptions, learnerOptions, trainingRoundsOf } from "./options.js";
export { TrainingPool, type TrainingPoolOptions, workerFile } from "./pool.js";
export { Trainer } from "./trainer.js";
export { Updater, type UpdaterMetrics, type UpdaterOptions } from "./updater.js";
