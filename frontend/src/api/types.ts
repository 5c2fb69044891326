import type { components } from "./schema";

type S = components["schemas"];

export type Strategy = S["StrategyOutput"];
export type Symbol = S["Symbol"];
export type RunListItem = S["RunListOutput"];
export type RunDetail = S["RunDetailOutput"];
export type RunStatus = S["RunStatusEnum"];
export type Step = S["StepOutput"];
export type StepStatus = S["StepStatusEnum"];
export type Artifact = S["ArtifactOutput"];
export type LlmCall = S["LlmCallOutput"];
export type Signal = S["SignalOutput"];
export type SignalCheck = S["SignalCheck"];
export type RunOrder = S["RunOrderOutput"];
export type OrderListItem = S["OrderListOutput"];
export type OrderDetail = S["OrderDetailOutput"];
export type OrderStatus = S["OrderStatusEnum"];
export type Fill = S["FillOutput"];
export type Position = S["PositionOutput"];
