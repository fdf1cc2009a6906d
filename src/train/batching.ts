// Batching lives in data/batches (and holdOut in data/splits); kept for the benches that import it here.
export { checkDataset, epochBatches, gatherBatch } from "../data/batches";
export { holdOut } from "../data/splits";
