/** The benchmark registry: add a case file and spread its cases here. */
import type { BenchCase } from "./types";
import { lenetCases } from "./lenet";
import { frontendCases } from "./frontends";
import { ntkdCases } from "./ntkd";
import { ntkdFirstLayerCases } from "./ntkd-first-layer";
import { workerCases } from "./workers";
import { npmStartCases } from "./npm-start";
import { modelCases } from "./models";
import { convnetCases } from "./convnet";
import { estimationCases } from "./estimation";

export const ALL_CASES: BenchCase[] = [...lenetCases, ...frontendCases, ...ntkdCases, ...ntkdFirstLayerCases, ...workerCases, ...npmStartCases,
  ...modelCases, ...convnetCases, ...estimationCases];
