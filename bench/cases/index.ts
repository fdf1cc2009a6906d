/** The benchmark registry: add a case file and spread its cases here. */
import type { BenchCase } from "./types";
import { lenetCases } from "./lenet";

export const ALL_CASES: BenchCase[] = [...lenetCases];
