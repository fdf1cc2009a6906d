// Seeded randomness lives in runtime/seed; these names stay for the modules that import them here.
export { makeRng as dataRng, mixSeed, seededPermutation as permutation, shuffleInPlace } from "../runtime/seed";
