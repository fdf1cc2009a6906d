export * from "./optical-student";
export * from "./students";
export * from "./teachers/alexnet";
export * from "./teachers/lenet";
