// Moved to distill/ with the other distillation losses; kept for the modules that import it here.
export * from "../distill/segmentation-losses";
